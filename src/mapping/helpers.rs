//! Template helpers for mapping authors. Each is a pure function of its arguments and
//! forgiving: a missing or odd value gives an empty result, never a render error, so a
//! payload that lacks a field still produces a message.

use std::borrow::Cow;

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, JsonRender, Output, RenderContext,
    RenderError, ScopedJson,
};
use serde_json::{json, Value};

use super::condition::scalar_text;
use crate::markdown;

pub use dates::is_time_zone;

mod adf;
mod dates;
mod jira;
mod jira_markup;
mod values;

/// Helpers handlebars brings itself; kept so `check` can tell a typo from a helper.
pub const BUILTIN: &[&str] = &[
    "if", "unless", "each", "with", "lookup", "raw", "eq", "ne", "gt", "gte", "lt", "lte", "and",
    "or", "not",
];

type HelperFn = fn(&Args) -> Value;

/// Whether a helper's output is already markdown (written as it is) or a plain value
/// (escaped like any other value in a markdown template).
#[derive(Clone, Copy, PartialEq, Eq)]
enum OutputKind {
    Value,
    Markdown,
}

use OutputKind::{Markdown, Value as Plain};

/// Ours, by the name templates call them.
const HELPERS: &[(&str, HelperFn, OutputKind)] = &[
    ("default", default, Plain),
    ("first", values::first, Plain),
    ("minus", values::minus, Plain),
    ("type_of", values::type_of, Plain),
    ("capture", values::capture, Plain),
    ("truncate", truncate, Plain),
    ("join", join, Plain),
    ("upper", |a| a.text(0).to_uppercase().into(), Plain),
    ("lower", |a| a.text(0).to_lowercase().into(), Plain),
    ("trim", |a| a.text(0).trim().into(), Plain),
    ("oneline", oneline, Plain),
    ("first_line", first_line, Plain),
    (
        "replace",
        |a| a.text(0).replace(&*a.text(1), &a.text(2)).into(),
        Plain,
    ),
    (
        "short_sha",
        |a| a.text(0).chars().take(7).collect::<String>().into(),
        Plain,
    ),
    ("origin", origin, Plain),
    ("json", |a| a.param(0).to_string().into(), Plain),
    ("pluralize", pluralize, Plain),
    ("len", len, Plain),
    ("date", dates::date, Plain),
    ("changed", jira::changed, Plain),
    ("change_from", jira::change_from, Plain),
    ("change_to", jira::change_to, Plain),
    ("changes", jira::changes, Plain),
    ("md", |a| markdown::escape(&a.text(0)).into(), Markdown),
    ("link", link, Markdown),
    ("href", href, Markdown),
    ("change_summary", jira::change_summary, Markdown),
    ("jira_markup", jira_markup, Markdown),
    (
        "adf",
        |a| chat_sized(adf::to_markdown(a.param(0)), a),
        Markdown,
    ),
    (
        "gfm",
        |a| chat_sized(markdown::from_gfm(&a.text(0)), a),
        Markdown,
    ),
];

pub fn register(registry: &mut Handlebars<'static>) {
    for (name, f, output) in HELPERS {
        registry.register_helper(
            name,
            Box::new(FnHelper {
                f: *f,
                markdown: *output == Markdown,
            }),
        );
    }
}

pub fn is_known(name: &str) -> bool {
    BUILTIN.contains(&name) || HELPERS.iter().any(|(n, ..)| *n == name)
}

pub fn names() -> impl Iterator<Item = &'static str> {
    BUILTIN
        .iter()
        .copied()
        .chain(HELPERS.iter().map(|(n, ..)| *n))
}

struct FnHelper {
    f: HelperFn,
    markdown: bool,
}

impl HelperDef for FnHelper {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        Ok(ScopedJson::Derived((self.f)(&Args { h, ctx })))
    }

    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let text = (self.f)(&Args { h, ctx }).render();
        let escaped = if self.markdown || rc.is_disable_escape() {
            text
        } else {
            r.get_escape_fn()(&text)
        };
        out.write(&escaped)?;
        Ok(())
    }
}

/// A helper's arguments: absent ones read as null or "".
pub struct Args<'a, 'rc> {
    h: &'a Helper<'rc>,
    ctx: &'a Context,
}

static NULL: Value = Value::Null;

impl Args<'_, '_> {
    pub fn param(&self, i: usize) -> &Value {
        self.h.param(i).map(|p| p.value()).unwrap_or(&NULL)
    }

    pub fn text(&self, i: usize) -> Cow<'_, str> {
        scalar_text(self.param(i)).unwrap_or_default()
    }

    pub fn has(&self, i: usize) -> bool {
        self.h.param(i).is_some()
    }

    pub fn hash(&self, key: &str) -> &Value {
        self.h.hash_get(key).map(|p| p.value()).unwrap_or(&NULL)
    }

    pub fn hash_text(&self, key: &str) -> Option<Cow<'_, str>> {
        self.h.hash_get(key).and_then(|p| scalar_text(p.value()))
    }

    /// A list's items (all of them, for a `let` list shortened to
    /// [`LIST_ITEMS_KEPT`](super::LIST_ITEMS_KEPT)), an object's keys, a string's bytes.
    pub fn count(&self, i: usize) -> Option<usize> {
        let param = self.h.param(i)?;
        match param.value() {
            Value::Array(items) => {
                let full = match param.context_path().map(Vec::as_slice) {
                    Some([name]) => super::full_count(self.ctx.data(), name),
                    _ => None,
                };
                Some(full.unwrap_or(items.len()))
            }
            Value::Object(map) => Some(map.len()),
            Value::String(text) => Some(text.len()),
            _ => None,
        }
    }

    pub fn number(&self, i: usize) -> Option<f64> {
        match self.param(i) {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

/// Empty means null, missing, "", [] or {}: the cases where a fallback reads better.
pub fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn default(a: &Args) -> Value {
    let value = a.param(0);
    if is_empty(value) {
        a.param(1).clone()
    } else {
        value.clone()
    }
}

/// `truncate text 80` keeps at most 80 characters, the last one an ellipsis when cut.
fn truncate(a: &Args) -> Value {
    let text = a.text(0);
    let Some(max) = a.number(1).map(|n| n.max(0.0) as usize) else {
        return text.into_owned().into();
    };
    if text.chars().count() <= max {
        return text.into_owned().into();
    }
    let ellipsis = a.hash_text("ellipsis").unwrap_or(Cow::Borrowed("…"));
    let keep = max.saturating_sub(ellipsis.chars().count());
    let mut out: String = text.chars().take(keep).collect();
    out.truncate(out.trim_end().len());
    out.push_str(&ellipsis);
    out.into()
}

fn join(a: &Args) -> Value {
    let separator = if a.has(1) {
        a.text(1)
    } else {
        Cow::Borrowed(", ")
    };
    match a.param(0) {
        Value::Array(items) => items
            .iter()
            .filter_map(scalar_text)
            .collect::<Vec<_>>()
            .join(&separator)
            .into(),
        other => scalar_text(other).unwrap_or_default().into_owned().into(),
    }
}

fn oneline(a: &Args) -> Value {
    a.text(0)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .into()
}

/// `origin "https://x.atlassian.net/rest/api/2/issue/1"` is "https://x.atlassian.net".
fn origin(a: &Args) -> Value {
    let url = a.text(0);
    let Some(scheme_end) = url.find("://") else {
        return Value::String(String::new());
    };
    let host_end = url[scheme_end + 3..]
        .find('/')
        .map_or(url.len(), |i| i + scheme_end + 3);
    url[..host_end].to_string().into()
}

fn first_line(a: &Args) -> Value {
    let text = a.text(0);
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string()
        .into()
}

/// `link url label`: a markdown link whose label is escaped; the label alone when the
/// URL is missing, so a message never shows `[x]()`.
fn link(a: &Args) -> Value {
    let url = a.text(0);
    let label = if a.has(1) && !a.text(1).is_empty() {
        a.text(1)
    } else {
        url.clone()
    };
    if url.trim().is_empty() {
        return markdown::escape(&label).into();
    }
    format!(
        "[{}]({})",
        markdown::escape(&label),
        markdown::escape_url(&url)
    )
    .into()
}

/// `jira_markup body people=users attachments=files`: Jira wiki markup as markdown,
/// naming `[~accountid:…]` mentions from the user objects in `people` and linking
/// `!file.png!` to the attachment of that name. A body that is an ADF document (Jira
/// Cloud's REST v3 and Automation send those) is read as one, so a mapping needs no
/// test of which format came.
fn jira_markup(a: &Args) -> Value {
    let text = match a.param(0) {
        document @ Value::Object(_) => adf::to_markdown(document),
        _ => jira_markup::to_markdown(&a.text(0), a.hash("people"), a.hash("attachments")),
    };
    chat_sized(text, a)
}

/// A converted body cut to `max=` characters at the best boundary before it, with a
/// link to the whole text (`more=URL`) when it was cut.
fn chat_sized(text: String, a: &Args) -> Value {
    let Some(max) = a.hash("max").as_f64().map(|n| n.max(1.0) as usize) else {
        return text.into();
    };
    let Some(mut cut) = markdown::excerpt(&text, max) else {
        return text.into();
    };
    if let Some(url) = a.hash_text("more").and_then(|url| markdown::safe_url(&url)) {
        cut.push_str(&format!("\n[Read more]({url})"));
    }
    cut.into()
}

/// `href repo_url "/tree/" branch`: the arguments joined into one URL that a markdown
/// link target can hold (see [`markdown::safe_url`]); empty for any scheme but http(s)
/// and mailto, so the link falls back to its label. (Not `url`: mappings name their
/// link variables `url`, and `{{url}}` would then call the helper.)
fn href(a: &Args) -> Value {
    let mut joined = String::new();
    for i in (0..).take_while(|i| a.has(*i)) {
        let part = a.text(i);
        // A base URL given with or without its trailing slash joins a "/path" alike.
        let part = match part.strip_prefix('/') {
            Some(rest) if joined.ends_with('/') => rest,
            _ => &part,
        };
        joined.push_str(part);
    }
    markdown::safe_url(&joined).unwrap_or_default().into()
}

/// `len list` as handlebars' own, but counting what a long list left out.
fn len(a: &Args) -> Value {
    a.count(0).unwrap_or(0).into()
}

/// `pluralize 3 "commit"` is "3 commits"; `pluralize 1 "entry" "entries"` is "1 entry".
fn pluralize(a: &Args) -> Value {
    let count = match a.param(0) {
        Value::Array(_) => a.count(0).unwrap_or(0) as f64,
        _ => a.number(0).unwrap_or(0.0),
    };
    let singular = a.text(1);
    let word = if count == 1.0 {
        singular.into_owned()
    } else if a.has(2) {
        a.text(2).into_owned()
    } else {
        format!("{singular}s")
    };
    json!(format!("{count} {word}"))
}

#[cfg(test)]
mod tests {
    use handlebars::Handlebars;
    use serde_json::{json, Value};

    pub fn render(template: &str, data: Value) -> String {
        let mut hb = Handlebars::new();
        hb.register_escape_fn(handlebars::no_escape);
        super::register(&mut hb);
        hb.render_template(template, &data).unwrap()
    }

    #[test]
    fn jira_markup_reads_wiki_markup_or_an_adf_document() {
        let wiki = json!({"b": "*done* (/)", "max": "x"});
        assert_eq!(render("{{jira_markup b}}", wiki), "**done** ✅");
        let adf = json!({"b": {"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "done", "marks": [{"type": "strong"}]}]}
        ]}});
        assert_eq!(render("{{jira_markup b}}", adf), "**done**");
        let long = json!({"b": "One sentence here. Another one follows it.", "u": "https://j.test/browse/A-1"});
        assert_eq!(
            render("{{jira_markup b max=30 more=u}}", long),
            "One sentence here.…\n[Read more](https://j.test/browse/A-1)"
        );
    }

    #[test]
    fn text_helpers() {
        let data = json!({"s": "Hello wonderful world", "n": null, "l": ["a", "b", 3], "sha": "0123456789abc"});
        assert_eq!(render("{{truncate s 10}}", data.clone()), "Hello won…");
        assert_eq!(
            render("{{truncate s 50}}", data.clone()),
            "Hello wonderful world"
        );
        assert_eq!(render("{{truncate n 5}}", data.clone()), "");
        assert_eq!(render("{{default n \"none\"}}", data.clone()), "none");
        assert_eq!(render("{{default missing \"none\"}}", data.clone()), "none");
        assert_eq!(render("{{join l \" | \"}}", data.clone()), "a | b | 3");
        assert_eq!(render("{{join l}}", data.clone()), "a, b, 3");
        assert_eq!(
            render("{{upper s}} {{lower \"AB\"}}", data.clone()),
            "HELLO WONDERFUL WORLD ab"
        );
        assert_eq!(render("{{short_sha sha}}", data.clone()), "0123456");
        assert_eq!(
            render("{{pluralize (len l) \"item\"}}", data.clone()),
            "3 items"
        );
        assert_eq!(
            render("{{pluralize 1 \"entry\" \"entries\"}}", data.clone()),
            "1 entry"
        );
        let lines = json!({"t": "\n title\n\n body"});
        assert_eq!(render("{{oneline t}}", lines.clone()), "title body");
        assert_eq!(render("{{first_line t}}", lines), "title");
        assert_eq!(render("{{json l}}", data.clone()), "[\"a\",\"b\",3]");
        assert_eq!(
            render(
                "{{origin \"https://j.test:8443/rest/api/2/issue/1\"}}/browse",
                json!({})
            ),
            "https://j.test:8443/browse"
        );
    }

    #[test]
    fn truncate_counts_characters_not_bytes() {
        assert_eq!(
            render("{{truncate s 4}}", json!({"s": "日本語テキスト"})),
            "日本語…"
        );
        assert_eq!(
            render("{{truncate s 3}}", json!({"s": "👍👍👍👍"})),
            "👍👍…"
        );
    }

    #[test]
    fn href_joins_and_keeps_only_web_and_mail_links() {
        let data = json!({"base": "https://g.test/o/r", "branch": "fix)@everyone <!here>"});
        assert_eq!(
            render("[b]({{href base \"/tree/\" branch}})", data),
            "[b](https://g.test/o/r/tree/fix%29%40everyone%20%3C!here%3E)"
        );
        let data = json!({"base": "javascript:alert(1)//"});
        assert_eq!(render("{{href base \"/x\"}}", data), "");
        for base in ["https://grafana.test/", "https://grafana.test"] {
            let data = json!({ "base": base });
            assert_eq!(
                render("{{href base \"/alerting/list\"}}", data),
                "https://grafana.test/alerting/list"
            );
        }
    }

    #[test]
    fn link_escapes_label_and_url() {
        let data = json!({"u": "https://x.test/a_(b)", "l": "[ABC-1] *fix*"});
        assert_eq!(
            render("{{link u l}}", data),
            "[\\[ABC-1\\] \\*fix\\*](https://x.test/a_\\(b\\))"
        );
        assert_eq!(render("{{link \"\" \"label\"}}", json!({})), "label");
    }
}
