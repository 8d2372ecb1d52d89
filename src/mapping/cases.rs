//! A mapping's `tests:`: fixtures run through the mapping, checked against what the
//! author expects. `hookbridge test` runs them; `check` verifies they can run.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::compile::Ctx;
use super::{Message, Outcome, Rule};
use crate::yaml::{pos, Spanned};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Case")]
pub struct RawCase {
    /// Shown by `hookbridge test`.
    name: Option<String>,
    /// A payload file, relative to this mapping; headers in a `.headers` file beside it
    /// are sent too.
    #[schemars(with = "String")]
    payload: Spanned<String>,
    /// More headers, as `[Name, value]` pairs.
    #[serde(default)]
    headers: Vec<(String, String)>,
    /// What must hold; every field given is checked.
    #[schemars(with = "Expect")]
    expect: Spanned<Expect>,
}

/// What a case expects. Every field given must hold.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The rule that must match.
    pub rule: Option<String>,
    /// `true`: no rule may match.
    #[serde(default)]
    pub no_match: bool,
    /// `true`: the matching rule drops the event (`drop: true`).
    #[serde(default)]
    pub dropped: bool,
    /// The exact message text (markdown, before a target's dialect).
    pub text: Option<String>,
    /// The exact title.
    pub title: Option<String>,
    /// The thread key (Google Chat threads updates to one subject under it).
    pub thread: Option<String>,
    /// Strings the text must hold.
    #[serde(default)]
    pub contains: Vec<String>,
    /// Strings the text must not hold.
    #[serde(default)]
    pub not_contains: Vec<String>,
    /// Strings that must appear somewhere in the rendered card's JSON values.
    #[serde(default)]
    pub card_contains: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub payload: PathBuf,
    pub headers: Vec<(String, String)>,
    pub expect: Expect,
}

pub(super) fn compile(
    raw: &Spanned<RawCase>,
    base: &Path,
    rules: &[Rule],
    ctx: &mut Ctx,
) -> Option<Case> {
    let case = &raw.value;
    let payload = base.join(&case.payload.value);
    let mut ok = true;
    if let Err(problem) = read_payload(&payload) {
        ctx.error(pos(&case.payload), problem);
        ok = false;
    }
    let expect = &case.expect.value;
    if let Some(rule) = &expect.rule {
        if !rules.iter().any(|r| &r.name == rule) {
            ctx.error(
                pos(&case.expect),
                format!("expects rule `{rule}`, which this mapping does not have"),
            );
            ok = false;
        }
    }
    if expect.rule.is_some() && expect.no_match {
        ctx.error(
            pos(&case.expect),
            "`rule` and `no_match: true` contradict each other",
        );
        ok = false;
    }
    let name = case.name.clone().unwrap_or_else(|| {
        payload
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    ok.then(|| Case {
        name,
        payload,
        headers: case.headers.clone(),
        expect: expect.clone(),
    })
}

/// Reads a JSON payload file, saying what is wrong with it in one line.
pub fn read_payload(path: &Path) -> Result<Value, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read payload {}: {e}", path.display()))?;
    super::parse_payload(&bytes)
        .map_err(|e| format!("payload {} is not valid JSON: {e}", path.display()))
}

/// The headers stored beside a fixture (`x.json` -> `x.headers`, one `Name: value`
/// per line), or none when there is no such file.
pub fn read_sidecar_headers(payload: &Path) -> Result<Vec<(String, String)>, String> {
    let path = payload.with_extension("headers");
    match std::fs::read_to_string(&path) {
        Ok(text) => text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| parse_header(l).map_err(|e| format!("{}: {e}", path.display())))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// `Name: value` as curl's `-H` takes it.
pub fn parse_header(line: &str) -> Result<(String, String), String> {
    match line.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() && !name.contains(' ') => {
            Ok((name.trim().to_string(), value.trim().to_string()))
        }
        _ => Err(format!(
            "`{line}` is not a header: write it as `Name: value`"
        )),
    }
}

/// Later headers replace earlier ones of the same name.
pub fn merge_headers(base: &mut Vec<(String, String)>, overrides: &[(String, String)]) {
    for (name, value) in overrides {
        base.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        base.push((name.clone(), value.clone()));
    }
}

impl Expect {
    pub fn check(&self, outcome: &Outcome) -> Vec<String> {
        let mut problems = Vec::new();
        let matched = match outcome {
            Outcome::NoMatch => None,
            Outcome::Dropped { rule } | Outcome::Message(Message { rule, .. }) => Some(rule),
        };
        match (matched, self.no_match) {
            (None, false) => problems.push("no rule matched".to_string()),
            (Some(rule), true) => {
                problems.push(format!("expected no rule to match, but rule `{rule}` did"))
            }
            _ => {}
        }
        if let Some(want) = &self.rule {
            if matched.is_some_and(|got| got != want) {
                problems.push(format!(
                    "expected rule `{want}`, got `{}`",
                    matched.map_or("", |r| r)
                ));
            }
        }
        let dropped = matches!(outcome, Outcome::Dropped { .. });
        if dropped != self.dropped && matched.is_some() {
            let what = if self.dropped {
                "expected the event to be dropped, but it made a message"
            } else {
                "the rule dropped the event, but the test expects a message"
            };
            problems.push(what.to_string());
        }
        if let Outcome::Message(m) = outcome {
            self.check_message(m, &mut problems);
        }
        problems
    }

    /// What the message itself must say.
    fn check_message(&self, m: &Message, problems: &mut Vec<String>) {
        let thread = m.thread.clone().unwrap_or_default();
        let exact = [
            ("text", &self.text, &m.text),
            ("title", &self.title, &m.title),
            ("thread", &self.thread, &thread),
        ];
        for (what, want, got) in exact {
            if let Some(want) = want.as_ref().filter(|w| w.trim_end() != got.as_str()) {
                problems.push(format!(
                    "{what} differs\n  expected: {want:?}\n  got:      {got:?}"
                ));
            }
        }
        for needle in &self.contains {
            if !m.text.contains(needle.as_str()) {
                problems.push(format!("text lacks {needle:?}; text is {:?}", m.text));
            }
        }
        for needle in &self.not_contains {
            if m.text.contains(needle.as_str()) {
                problems.push(format!(
                    "text should not contain {needle:?}; text is {:?}",
                    m.text
                ));
            }
        }
        // What a reader sees: the zero-width spaces that break payload `](` are invisible.
        let card_text: Vec<String> = m
            .card
            .as_ref()
            .map(card_strings)
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.replace('\u{200B}', ""))
            .collect();
        for needle in &self.card_contains {
            if !card_text.iter().any(|s| s.contains(needle.as_str())) {
                problems.push(format!("card has no value containing {needle:?}"));
            }
        }
    }
}

fn card_strings(card: &Value) -> Vec<String> {
    match card {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(card_strings).collect(),
        Value::Object(map) => map.values().flat_map(card_strings).collect(),
        other => vec![other.to_string()],
    }
}
