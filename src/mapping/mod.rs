//! Mapping: pure and synchronous. An event (payload and headers) goes in; the first
//! rule whose `when` holds extracts its variables and renders a [`Message`].

use std::path::{Path, PathBuf};

use handlebars::Context;
use serde_json::{Map, Value};

use crate::diagnostic::{ConfigError, Diagnostics, Pos};
use crate::markdown;

mod card;
pub mod cases;
mod compile;
pub mod condition;
mod extract;
mod helpers;
pub mod scaffold;
mod template;

pub use card::to_markdown as card_to_markdown;
pub use compile::schema;
pub use extract::JsonPath;

/// A payload's JSON. A leading UTF-8 byte order mark is skipped, as RFC 8259 allows:
/// .NET senders (Azure DevOps Server among them) write one, and it is not part of the value.
pub fn parse_payload(bytes: &[u8]) -> serde_json::Result<Value> {
    serde_json::from_slice(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
}

/// What a source sent: the parsed body and the request headers.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    pub payload: &'a Value,
    pub headers: &'a [(String, String)],
}

impl<'a> Event<'a> {
    pub fn new(payload: &'a Value, headers: &'a [(String, String)]) -> Self {
        Self { payload, headers }
    }

    /// Values of the header `name`, compared without regard to case.
    pub fn headers_named<'n>(&self, name: &'n str) -> impl Iterator<Item = &'a str> + 'n
    where
        'a: 'n,
    {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A rendered message, before any chat service's shape or limits are applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub rule: String,
    pub activity: String,
    pub icon: Option<String>,
    pub title: String,
    /// Markdown; from the rule's `text`, else flattened from its card.
    pub text: String,
    /// An Adaptive Card body, when the rule has one.
    pub card: Option<Value>,
    /// Messages with the same key belong to one thread, where the service has threads.
    pub thread: Option<String>,
    /// What the rule asks of `http` targets beyond the message.
    pub http: Option<Box<HttpParts>>,
}

/// A rule's own request for `http` targets: each part left out takes the target's
/// default (POST, the target's headers, the message as JSON).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HttpParts {
    pub method: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

/// What a mapping makes of an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Message(Message),
    /// A rule with `drop: true` matched: the event is accepted and not sent anywhere.
    Dropped {
        rule: String,
    },
    NoMatch,
}

impl Outcome {
    pub fn message(&self) -> Option<&Message> {
        match self {
            Outcome::Message(m) => Some(m),
            _ => None,
        }
    }
}

#[derive(Debug)]
pub struct Mapping {
    pub file: PathBuf,
    pub source: String,
    pub activity: String,
    pub icon: Option<String>,
    rules: Vec<Rule>,
    templates: template::Templates,
    pub cases: Vec<cases::Case>,
}

#[derive(Debug)]
struct Rule {
    name: String,
    when: Vec<condition::Condition>,
    lets: Vec<Let>,
    title: Option<template::Text>,
    text: Option<template::Text>,
    card: Option<card::Node>,
    thread: Option<template::Text>,
    http: Option<Http>,
    drop: bool,
}

#[derive(Debug)]
struct Http {
    method: Option<String>,
    headers: Vec<(String, template::Text)>,
    body: Option<card::Node>,
}

#[derive(Debug)]
struct Let {
    name: String,
    from: Source,
    default: Option<Value>,
    list: bool,
}

/// Where a `let` variable comes from.
#[derive(Debug)]
enum Source {
    Path(JsonPath),
    /// A request header (the first of that name), such as GitHub's `X-GitHub-Event`.
    Header(String),
}

/// A template failed while rendering (a template's own logic, never the payload's
/// shape: missing fields render empty).
#[derive(Debug, thiserror::Error)]
#[error("rule `{rule}`: {source}")]
pub struct RenderError {
    pub rule: String,
    #[source]
    pub source: handlebars::RenderError,
}

impl Mapping {
    /// Reads and compiles a mapping file; warnings are returned, errors fail it.
    pub fn load(file: &Path) -> Result<(Mapping, Diagnostics), ConfigError> {
        let mut diags = Diagnostics::default();
        let mapping = match std::fs::read_to_string(file) {
            Ok(source) => compile::compile(file, &source, &mut diags),
            Err(err) => {
                diags.error(
                    file,
                    Pos::new(1, 1),
                    format!("cannot read mapping file: {err}"),
                );
                None
            }
        };
        match (mapping, diags.into_result()) {
            (Some(m), Ok(warnings)) => Ok((m, warnings)),
            (_, Err(errors)) => Err(errors),
            (None, Ok(_)) => unreachable_compile(file),
        }
    }

    pub fn from_source(file: &Path, source: &str) -> Result<Mapping, ConfigError> {
        let mut diags = Diagnostics::default();
        let mapping = compile::compile(file, source, &mut diags);
        diags.into_result()?;
        mapping.map_or_else(|| unreachable_compile(file), Ok)
    }

    pub fn rule_names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.name.as_str())
    }

    /// What the first rule whose `when` holds makes of `event`.
    pub fn apply(&self, event: &Event) -> Result<Outcome, RenderError> {
        let Some(rule) = self
            .rules
            .iter()
            .find(|r| r.when.iter().all(|c| c.holds(event)))
        else {
            return Ok(Outcome::NoMatch);
        };
        if rule.drop {
            return Ok(Outcome::Dropped {
                rule: rule.name.clone(),
            });
        }
        rule.render(self, event).map(Outcome::Message)
    }
}

/// Compilation returns nothing only after recording an error; keep that promise
/// visible instead of panicking if it is ever broken.
fn unreachable_compile<T>(file: &Path) -> Result<T, ConfigError> {
    let mut diags = Diagnostics::default();
    diags.error(
        file,
        Pos::new(1, 1),
        "mapping failed to compile without a reported cause",
    );
    Err(ConfigError(diags))
}

/// A `let` list keeps this many items: more than any message shows (`$each` shows
/// 100 unless `$max` says otherwise), while a group of 300,000 alerts would otherwise
/// be copied whole into each variable that selects from it, gigabytes for one event.
/// `len`, `pluralize` and `$each`'s "…and N more" still count every item.
pub const LIST_ITEMS_KEPT: usize = 1000;
/// Where the templates' data keeps the full count of each shortened list: a key no
/// template path can name.
const LIST_COUNTS: &str = "@counts";

/// How many items the `let` list `name` selected, when it was shortened.
fn full_count(data: &Value, name: &str) -> Option<usize> {
    let count = data.get(LIST_COUNTS)?.get(name)?.as_u64()?;
    usize::try_from(count).ok()
}

impl Rule {
    fn render(&self, mapping: &Mapping, event: &Event) -> Result<Message, RenderError> {
        let data = Context::from(Value::Object(self.extract(event)));
        let fail = |source| RenderError {
            rule: self.name.clone(),
            source,
        };
        let render = |t: &Option<template::Text>| -> Result<Option<String>, RenderError> {
            t.as_ref()
                .map(|t| mapping.templates.render(t, &data).map_err(fail))
                .transpose()
        };
        let card = match &self.card {
            Some(node) => node.render(&mapping.templates, &data).map_err(fail)?,
            None => None,
        };
        let text = match render(&self.text)? {
            Some(text) => text,
            None => card.as_ref().map(card::to_markdown).unwrap_or_default(),
        };
        let http = match &self.http {
            Some(http) => Some(Box::new(
                http.render(&mapping.templates, &data).map_err(fail)?,
            )),
            None => None,
        };
        let thread = render(&self.thread)?.filter(|t| !t.trim().is_empty());
        Ok(Message {
            rule: self.name.clone(),
            activity: mapping.activity.clone(),
            icon: mapping.icon.clone(),
            title: render(&self.title)?.unwrap_or_default(),
            text: markdown::drop_unsafe_links(text.trim_end()),
            card,
            thread,
            http,
        })
    }

    /// Variables for the templates. Missing values are left out rather than set to
    /// null, so templates see them as empty and `default` applies.
    fn extract(&self, event: &Event) -> Map<String, Value> {
        let mut vars = Map::with_capacity(self.lets.len());
        let mut counts = Map::new();
        for var in &self.lets {
            let value = match &var.from {
                Source::Header(name) => event.headers_named(name).next().map(Value::from),
                Source::Path(path) if var.list => {
                    let selected = path.select(event.payload);
                    if selected.len() > LIST_ITEMS_KEPT {
                        counts.insert(var.name.clone(), selected.len().into());
                    }
                    let items: Vec<Value> = selected
                        .into_iter()
                        .take(LIST_ITEMS_KEPT)
                        .cloned()
                        .collect();
                    (!items.is_empty()).then_some(Value::Array(items))
                }
                Source::Path(path) => path.first(event.payload).cloned(),
            };
            if let Some(value) = value.or_else(|| var.default.clone()) {
                vars.insert(var.name.clone(), value);
            }
        }
        if !counts.is_empty() {
            vars.insert(LIST_COUNTS.into(), Value::Object(counts));
        }
        vars
    }
}

impl Http {
    fn render(
        &self,
        templates: &template::Templates,
        data: &Context,
    ) -> Result<HttpParts, handlebars::RenderError> {
        let mut headers = Vec::with_capacity(self.headers.len());
        for (name, value) in &self.headers {
            // A payload value may hold a line break or another control character,
            // which no header value can.
            let value: String = templates
                .render(value, data)?
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            headers.push((name.clone(), value.trim().to_string()));
        }
        let body = match &self.body {
            Some(node) => node.render(templates, data)?,
            None => None,
        };
        Ok(HttpParts {
            method: self.method.clone(),
            headers,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::mapping::card::DEFAULT_EACH_MAX;

    #[test]
    fn a_byte_order_mark_before_the_json_is_skipped() {
        assert_eq!(
            parse_payload(b"\xEF\xBB\xBF{\"a\": 1}").unwrap(),
            json!({"a": 1})
        );
        assert!(
            parse_payload(b"\xEF\xBB{}").is_err(),
            "half a mark is not one"
        );
    }

    fn mapping(source: &str) -> Mapping {
        Mapping::from_source(Path::new("m.yaml"), source).unwrap_or_else(|e| panic!("{e}"))
    }

    fn errors(source: &str) -> String {
        Mapping::from_source(Path::new("m.yaml"), source)
            .map(|_| ())
            .expect_err("compiles with errors")
            .to_string()
    }

    fn apply(mapping: &Mapping, payload: Value, headers: &[(&str, &str)]) -> Outcome {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        mapping
            .apply(&Event::new(&payload, &headers))
            .expect("renders")
    }

    fn text(outcome: Outcome) -> String {
        outcome
            .message()
            .unwrap_or_else(|| panic!("no message: {outcome:?}"))
            .text
            .clone()
    }

    const RULES: &str = r#"
source: demo
rules:
  - name: noise
    when: [{path: $.kind, equals: noise}]
    drop: true
  - name: by-header
    when:
      - {header: X-Event, one_of: [push, tag]}
      - {path: $.ref, matches: "^refs/heads/"}
    let:
      event: {header: x-event}
      who: $.user.name
      ref: $.ref
    text: "{{who}} {{event}} to {{ref}}"
  - name: any
    when: [{not: {path: $.kind, exists: false}}]
    let:
      kind: $.kind
      names: $.items[*].name
      missing: $.nothing.here
      fallback: {path: $.nothing, default: n/a}
    title: "{{upper kind}}"
    text: "{{kind}}: {{join names \", \"}} [{{missing}}] {{fallback}}"
"#;

    #[test]
    fn the_first_rule_whose_conditions_all_hold_renders() {
        let m = mapping(RULES);
        let push = json!({"ref": "refs/heads/main", "user": {"name": "ana"}});
        assert_eq!(
            text(apply(&m, push.clone(), &[("x-event", "push")])),
            "ana push to refs/heads/main"
        );
        assert_eq!(apply(&m, push, &[("X-Event", "fork")]), Outcome::NoMatch);
        assert_eq!(
            apply(&m, json!({"kind": "noise"}), &[]),
            Outcome::Dropped {
                rule: "noise".into()
            }
        );
    }

    #[test]
    fn lists_defaults_and_missing_values_render_without_null() {
        let m = mapping(RULES);
        let outcome = apply(
            &m,
            json!({"kind": "build", "items": [{"name": "a"}, {"name": "b"}]}),
            &[],
        );
        assert_eq!(outcome.message().map(|m| m.title.as_str()), Some("BUILD"));
        assert_eq!(text(outcome), "build: a, b [] n/a");
    }

    #[test]
    fn payload_values_come_out_as_the_text_that_was_sent() {
        let m = mapping(RULES);
        let hostile = "\"} {{x}} C:\\temp\\ <b>hi</b> *bold* 👍\nnext";
        let outcome = apply(&m, json!({"kind": hostile}), &[]);
        let shown = crate::markdown::to_plain(&text(outcome));
        assert!(shown.starts_with(hostile), "{shown:?}");
    }

    #[test]
    fn broken_rules_are_reported_where_they_stand() {
        let report = errors(
            r#"
rules:
  - name: a
    when: [{path: "$.x[", equals: 1}]
    text: "{{defualt x}}"
  - name: b
    text: "{{#if x}}open"
  - name: c
"#,
        );
        assert!(report.contains("m.yaml:4:"), "{report}");
        assert!(
            report.contains("m.yaml:5:") && report.contains("default"),
            "{report}"
        );
        assert!(
            report.contains("m.yaml:7:") && report.contains("`{{#if}}` is never closed"),
            "{report}"
        );
        assert!(report.contains("m.yaml:8:"), "{report}");
    }

    #[test]
    fn a_let_takes_a_path_or_a_header() {
        let report = errors(
            "rules:\n  - name: a\n    let:\n      x: {path: $.a, header: X-A}\n      y: {header: X-B, list: true}\n    text: hi\n",
        );
        assert!(
            report.contains("m.yaml:4:10: `x` takes `path` or `header`, not both"),
            "{report}"
        );
        assert!(
            report.contains("m.yaml:5:10: `y`: a header is one value"),
            "{report}"
        );
    }

    #[test]
    fn an_untested_rule_is_a_warning() {
        let mut warnings = Diagnostics::default();
        let source = "rules:\n  - name: lonely\n    text: hi\n";
        assert!(compile::compile(Path::new("m.yaml"), source, &mut warnings).is_some());
        let shown: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["m.yaml:2:11: warning: rule `lonely` has no test case: add one under `tests:` with `expect: {rule: lonely}`"]);
    }

    #[test]
    fn not_and_any_stand_alone_in_a_condition() {
        let rule = |condition: &str| {
            format!("rules:\n  - name: r\n    when:\n      - {condition}\n    text: hi\n")
        };
        for (condition, key) in [
            ("{not: {path: $.a, exists: true}, path: $.b}", "not"),
            ("{any: [{path: $.a, exists: true}], header: X-A}", "any"),
        ] {
            let report = errors(&rule(condition));
            assert!(
                report.contains(&format!("`{key}`")),
                "{condition}: {report}"
            );
        }
        let fine = mapping(&rule(
            "{any: [{path: $.a, exists: true}, {not: {path: $.b, exists: true}}]}",
        ));
        let matched = |payload| !matches!(apply(&fine, payload, &[]), Outcome::NoMatch);
        assert!(matched(json!({"a": 1, "b": 1})));
        assert!(matched(json!({})));
        assert!(!matched(json!({"b": 1})));
    }

    #[test]
    fn booleans_compare_as_json_writes_them() {
        let m = mapping(
            "rules:\n  - name: merged\n    when:\n      - {path: $.merged, equals: true}\n    text: hi\n",
        );
        assert!(matches!(
            apply(&m, json!({"merged": true}), &[]),
            Outcome::Message(_)
        ));
        assert!(matches!(
            apply(&m, json!({"merged": false}), &[]),
            Outcome::NoMatch
        ));
        assert!(matches!(
            apply(&m, json!({"merged": "yes"}), &[]),
            Outcome::NoMatch
        ));
    }

    fn card_of(outcome: Outcome) -> Value {
        match outcome {
            Outcome::Message(m) => m.card.expect("a card"),
            other => panic!("no message: {other:?}"),
        }
    }

    #[test]
    fn a_long_list_keeps_its_first_items_and_still_counts_all() {
        let source = "rules:
  - name: alerts
    let:
      alerts: $.alerts[*]
      first: $.alerts[0]
    text: \"{{len alerts}} {{pluralize alerts \\\"alert\\\"}} {{#each alerts}}{{#if @last}}{{len @root.alerts}}/{{@index}}{{/if}}{{/each}} {{len first.name}} {{len first}}\"
    card:
      type: AdaptiveCard
      version: \"1.3\"
      body:
        - {$each: alerts, $as: a, $max: 5000, $item: {type: TextBlock, text: \"{{a.name}}\"}}
";
        let m = mapping(source);
        let alerts: Vec<Value> = (0..2500)
            .map(|i| json!({"name": format!("n{i}")}))
            .collect();
        let outcome = apply(&m, json!({"alerts": alerts}), &[]);
        let Outcome::Message(message) = &outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(
            message.text,
            format!("2500 2500 alerts 2500/{} 2 1", LIST_ITEMS_KEPT - 1),
            "len and pluralize count all; each walks the kept items; strings and objects as before"
        );
        let body = card_of(outcome)["body"].as_array().unwrap().clone();
        assert_eq!(body.len(), LIST_ITEMS_KEPT + 1);
        assert_eq!(body[LIST_ITEMS_KEPT]["text"], "…and 1500 more");
    }

    #[test]
    fn each_shows_its_max_then_counts_the_rest() {
        let source = "rules:
  - name: alerts
    let:
      alerts: $.alerts[*]
    card:
      type: AdaptiveCard
      version: \"1.3\"
      body:
        - {$each: alerts, $as: a, $item: {type: TextBlock, text: \"{{a.name}} of {{len alerts}}\"}}
        - type: FactSet
          facts:
            - {$each: alerts, $as: a, $max: 2, $item: {title: \"{{a.name}}\", value: x}}
";
        let m = mapping(source);
        let alerts: Vec<Value> = (0..250).map(|i| json!({"name": format!("n{i}")})).collect();
        let card = card_of(apply(&m, json!({"alerts": alerts}), &[]));
        let body = card["body"].as_array().unwrap();
        assert_eq!(body.len(), DEFAULT_EACH_MAX + 2);
        assert_eq!(
            body[0]["text"], "n0 of 250",
            "the whole list stays in scope"
        );
        assert_eq!(body[99]["text"], "n99 of 250");
        assert_eq!(body[100]["text"], "…and 150 more");
        let facts = body[101]["facts"].as_array().unwrap();
        assert_eq!(
            facts.last().unwrap(),
            &json!({"title": "…", "value": "and 248 more"})
        );
        assert_eq!(facts.len(), 3);
        let zero = source.replace("$max: 2", "$max: 0");
        assert!(errors(&zero).contains("`$max` is how many elements to show"));
    }

    #[test]
    fn check_warns_where_payload_text_could_act_as_markup() {
        let mut warnings = Diagnostics::default();
        let source = "rules:\n  - name: r\n    text: \"[x]({{u}}) {{{v}}} [y]({{href u}}) {{{md v}}}{{#if v}}{{{v}}}{{/if}}\"\n";
        compile::compile(Path::new("m.yaml"), source, &mut warnings);
        let shown: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        let about = |needle: &str| shown.iter().filter(|w| w.contains(needle)).count();
        assert_eq!(about("a link target from `{{u}}`"), 1, "{shown:#?}");
        assert_eq!(
            about("`{{{v}}}` inserts its value as markdown"),
            2,
            "{shown:#?}"
        );
        assert_eq!(about("md v"), 0, "{shown:#?}");
    }
}
