//! A mapping file as written (serde mirror) and its compilation into rules: every
//! JSONPath, regex and template parsed once, every problem reported at its position.

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::Deserialize;

use super::card::{self, Node};
use super::cases::{Case, RawCase};
use super::condition::{self, RawCondition};
use super::extract::JsonPath;
use super::template::{Escape, Templates, Text};
use super::{Http, Let, Mapping, Rule, Source};
use crate::diagnostic::{Diagnostics, Pos};
use crate::yaml::schema::Anything;
use crate::yaml::{pos, Spanned, Tree};

/// A hookbridge mapping file: rules that pick events and render their messages.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "hookbridge mapping")]
struct RawMapping {
    /// The source's name, e.g. `jira`.
    #[schemars(with = "Option<String>")]
    source: Option<Spanned<String>>,
    /// Shown as the sender where a service has one (RingCentral's activity).
    #[schemars(with = "Option<String>")]
    activity: Option<Spanned<String>>,
    /// An icon URL, where a service shows one.
    #[schemars(with = "Option<String>")]
    icon: Option<Spanned<String>>,
    /// Tried in order; the first whose `when` all hold makes the message.
    #[schemars(with = "Vec<RawRule>")]
    rules: Spanned<Vec<Spanned<RawRule>>>,
    /// Payloads run through the rules by `hookbridge test`.
    #[serde(default)]
    #[schemars(with = "Vec<RawCase>")]
    tests: Vec<Spanned<RawCase>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Rule")]
struct RawRule {
    /// Unique in the file; named in logs, tests and `deliveries list`.
    #[schemars(with = "String")]
    name: Spanned<String>,
    /// Conditions that must all hold (none: the rule matches every event).
    #[serde(default)]
    #[schemars(with = "Vec<RawCondition>")]
    when: Vec<Spanned<RawCondition>>,
    /// Variables for the templates: a JSONPath (`[*]` or a filter makes a list), or
    /// `{path|header, default, list}`.
    #[serde(default, rename = "let")]
    #[schemars(with = "BTreeMap<String, LetSchema>")]
    lets: BTreeMap<String, Spanned<Tree>>,
    /// A Handlebars template: the message's title.
    #[schemars(with = "Option<String>")]
    title: Option<Spanned<String>>,
    /// A Handlebars template: the message's markdown.
    #[schemars(with = "Option<String>")]
    text: Option<Spanned<String>>,
    /// An Adaptive Card whose strings are templates; `$if` and `$each` shape it.
    #[schemars(with = "Option<Anything>")]
    card: Option<Spanned<Tree>>,
    /// A Handlebars template: the thread key (Google Chat).
    #[schemars(with = "Option<String>")]
    thread: Option<Spanned<String>>,
    /// `http` targets: the method, headers and JSON body to send instead.
    #[schemars(with = "Option<RawHttp>")]
    http: Option<Spanned<RawHttp>>,
    /// `true`: matching events are dropped, nothing is sent.
    #[serde(default)]
    drop: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Http")]
struct RawHttp {
    /// The method (default: the target's, else POST).
    #[schemars(with = "Option<String>")]
    method: Option<Spanned<String>>,
    /// Header templates.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, Anything>")]
    headers: BTreeMap<String, Spanned<Tree>>,
    /// A JSON body whose strings are templates.
    #[schemars(with = "Option<Anything>")]
    body: Option<Spanned<Tree>>,
}

/// A `let:` value in the schema.
struct LetSchema;

impl JsonSchema for LetSchema {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Let".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "anyOf": [
                {"type": "string", "description": "a JSONPath, e.g. $.issue.key"},
                {"type": "object", "additionalProperties": false, "properties": {
                    "path": {"type": "string", "description": "a JSONPath"},
                    "header": {"type": "string", "description": "a request header"},
                    "default": {"description": "the value when none is found"},
                    "list": {"type": "boolean", "description": "force a list, or a single value"}
                }}
            ]
        })
    }
}

/// The JSON Schema of mapping files, for editors (`hookbridge schema mapping`); the
/// template strings' descriptions list the helpers.
pub fn schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(RawMapping).to_value();
    let helpers: Vec<&str> = super::helpers::names().collect();
    let note = format!(" Helpers: {}.", helpers.join(", "));
    if let Some(rule) = schema.pointer_mut("/$defs/Rule/properties") {
        for field in ["title", "text", "thread"] {
            if let Some(serde_json::Value::String(text)) =
                rule.pointer_mut(&format!("/{field}/description"))
            {
                text.push_str(&note);
            }
        }
    }
    schema
}

/// Where problems go: the file, its text (to place errors inside strings) and the list.
pub struct Report<'a> {
    pub file: &'a Path,
    pub source: &'a str,
    pub diags: &'a mut Diagnostics,
}

impl Report<'_> {
    pub fn error(&mut self, at: Pos, message: impl Into<String>) {
        self.diags.error(self.file, at, message);
    }

    pub fn warning(&mut self, at: Pos, message: impl Into<String>) {
        self.diags.warning(self.file, at, message);
    }
}

pub struct Ctx<'a> {
    pub report: Report<'a>,
    pub templates: Templates,
}

impl Ctx<'_> {
    pub fn error(&mut self, at: Pos, message: impl Into<String>) {
        self.report.error(at, message);
    }

    pub fn template(&mut self, scalar: &Spanned<String>, escape: Escape) -> Option<Text> {
        self.templates.compile(scalar, escape, &mut self.report)
    }

    pub fn json_path(&mut self, path: &Spanned<String>) -> Option<JsonPath> {
        match JsonPath::parse(&path.value) {
            Ok(p) => Some(p),
            Err(err) => {
                let at = self.report.pos_within(path, 1, err.column);
                self.error(at, format!("{} in `{}`", err.message, path.value));
                None
            }
        }
    }
}

/// Compiles one mapping file's text; `None` when it has errors (all in `diags`).
pub fn compile(file: &Path, source: &str, diags: &mut Diagnostics) -> Option<Mapping> {
    let raw: RawMapping = crate::yaml::parse(file, source, diags)?;
    let mut ctx = Ctx {
        report: Report {
            file,
            source,
            diags,
        },
        templates: Templates::default(),
    };
    let mut rules = Vec::new();
    let mut ok = true;
    if raw.rules.value.is_empty() {
        ctx.error(pos(&raw.rules), "`rules` is empty: add at least one rule");
        ok = false;
    }
    let mut names: Vec<&str> = Vec::new();
    for rule in &raw.rules.value {
        let name = rule.value.name.value.as_str();
        if names.contains(&name) {
            ctx.error(
                pos(&rule.value.name),
                format!("a rule named `{name}` comes earlier: rule names are unique"),
            );
            ok = false;
        }
        names.push(name);
        match compile_rule(rule, &mut ctx) {
            Some(r) => rules.push(r),
            None => ok = false,
        }
    }
    let base = file.parent().unwrap_or(Path::new("."));
    let cases: Vec<Option<Case>> = raw
        .tests
        .iter()
        .map(|case| super::cases::compile(case, base, &rules, &mut ctx))
        .collect();
    let cases = cases.into_iter().collect::<Option<Vec<_>>>();
    if ok {
        if let Some(cases) = &cases {
            warn_untested(&raw, cases, &mut ctx);
        }
    }
    let text = |s: &Option<Spanned<String>>| s.as_ref().map(|s| s.value.clone());
    let source_name = text(&raw.source).unwrap_or_default();
    Some(Mapping {
        file: file.to_path_buf(),
        activity: text(&raw.activity).unwrap_or_else(|| title_case(&source_name)),
        source: source_name,
        icon: text(&raw.icon),
        rules,
        templates: ctx.templates,
        cases: cases?,
    })
    .filter(|_| ok)
}

/// A rule no test case expects: its output is unchecked until one does.
fn warn_untested(raw: &RawMapping, cases: &[Case], ctx: &mut Ctx) {
    for rule in &raw.rules.value {
        let name = &rule.value.name.value;
        let tested = cases
            .iter()
            .any(|c| c.expect.rule.as_deref() == Some(name.as_str()));
        if !tested {
            let message = format!("rule `{name}` has no test case: add one under `tests:` with `expect: {{rule: {name}}}`");
            let file = ctx.report.file;
            ctx.report
                .diags
                .warning(file, pos(&rule.value.name), message);
        }
    }
}

pub(super) fn title_case(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn compile_rule(raw: &Spanned<RawRule>, ctx: &mut Ctx) -> Option<Rule> {
    let r = &raw.value;
    let mut ok = true;
    let http_body = r.http.as_ref().is_some_and(|h| h.value.body.is_some());
    if r.text.is_none() && r.card.is_none() && !http_body && !r.drop {
        ctx.error(pos(&r.name), format!("rule `{}` has neither `text`, `card` nor `http.body`: give it at least one (or `drop: true` to discard what it matches)", r.name.value));
        ok = false;
    }
    let when: Vec<_> = r.when.iter().map(|c| condition::compile(c, ctx)).collect();
    let lets: Vec<_> = r
        .lets
        .iter()
        .map(|(name, tree)| compile_let(name, tree, ctx))
        .collect();
    let names: Vec<String> = r.lets.keys().cloned().collect();
    let template = |s: &Option<Spanned<String>>, ctx: &mut Ctx| match s {
        Some(s) => ctx.template(s, Escape::Markdown).map(Some),
        None => Some(None),
    };
    let title = template(&r.title, ctx);
    let text = template(&r.text, ctx);
    let card: Option<Option<Node>> = match &r.card {
        Some(tree) => card::compile(tree, &names, Escape::Card, ctx).map(Some),
        None => Some(None),
    };
    let thread = match &r.thread {
        Some(s) => ctx.template(s, Escape::None).map(Some),
        None => Some(None),
    };
    let http = match &r.http {
        Some(raw) => compile_http(&raw.value, &names, ctx).map(Some),
        None => Some(None),
    };
    let when = when.into_iter().collect::<Option<Vec<_>>>();
    let lets = lets.into_iter().collect::<Option<Vec<_>>>();
    if !ok {
        return None;
    }
    Some(Rule {
        name: r.name.value.clone(),
        when: when?,
        lets: lets?,
        title: title?,
        text: text?,
        card: card?,
        thread: thread?,
        http: http?,
        drop: r.drop,
    })
}

/// `http: {method, headers, body}`: header values are templates, the body a structure
/// of templates like a card.
fn compile_http(raw: &RawHttp, lets: &[String], ctx: &mut Ctx) -> Option<Http> {
    let mut ok = true;
    let method = raw.method.as_ref().and_then(|m| {
        crate::http::parse_method(&m.value)
            .map_err(|e| {
                ctx.error(pos(m), e);
                ok = false;
            })
            .ok()
    });
    let mut headers = Vec::with_capacity(raw.headers.len());
    for (name, value) in &raw.headers {
        if let Err(e) = crate::http::parse_header_name(name) {
            ctx.error(pos(value), e);
            ok = false;
            continue;
        }
        let Tree::String(text) = &value.value else {
            ctx.error(
                pos(value),
                format!("header `{name}` takes a template string such as \"{{{{key}}}}\""),
            );
            ok = false;
            continue;
        };
        let scalar = Spanned::new(text.clone(), value.referenced, value.defined);
        match ctx.template(&scalar, Escape::None) {
            Some(t) => headers.push((name.clone(), t)),
            None => ok = false,
        }
    }
    let body = match &raw.body {
        Some(tree) => card::compile(tree, lets, Escape::None, ctx).map(Some),
        None => Some(None),
    };
    let body = body?;
    ok.then_some(Http {
        method,
        headers,
        body,
    })
}

/// `name: $.path`, `name: {path: $.path, default: value, list: true}` or
/// `name: {header: Name, default: value}`.
fn compile_let(name: &str, tree: &Spanned<Tree>, ctx: &mut Ctx) -> Option<Let> {
    let at = pos(tree);
    let as_text = |t: &Spanned<Tree>| match &t.value {
        Tree::String(s) => Some(Spanned::new(s.clone(), t.referenced, t.defined)),
        _ => None,
    };
    let (mut path, mut header, mut default, mut list) = (None, None, None, None);
    match &tree.value {
        Tree::String(_) => path = as_text(tree),
        Tree::Map(entries) => {
            for (key, value) in entries {
                match (key.as_str(), &value.value) {
                    ("path", _) => path = as_text(value),
                    ("header", _) => header = as_text(value),
                    ("default", v) => default = Some(v.to_json()),
                    ("list", Tree::Bool(b)) => list = Some(*b),
                    _ => {
                        ctx.error(pos(value), format!("`{key}` is not a `let` key here: use `path` or `header`, `default` (any value) or `list` (true/false)"));
                        return None;
                    }
                }
            }
        }
        _ => {}
    }
    let from = match (path, header) {
        (Some(path), None) => {
            let compiled = ctx.json_path(&path)?;
            list = list.or(Some(compiled.is_multi()));
            Source::Path(compiled)
        }
        (None, Some(header)) if list.is_none() => Source::Header(header.value),
        (None, Some(_)) => {
            ctx.error(
                at,
                format!("`{name}`: a header is one value, so `list` does not apply"),
            );
            return None;
        }
        (Some(_), Some(_)) => {
            ctx.error(at, format!("`{name}` takes `path` or `header`, not both"));
            return None;
        }
        (None, None) => {
            ctx.error(
                at,
                format!("`{name}` needs a JSONPath such as `$.issue.key`, `{{path: ..., default: ...}}` or `{{header: Name}}`"),
            );
            return None;
        }
    };
    Some(Let {
        name: name.to_string(),
        from,
        default,
        list: list.unwrap_or(false),
    })
}
