//! `when` conditions: tests on JSONPath values and request headers.

use std::borrow::Cow;

use regex::Regex;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::compile::Ctx;
use super::extract::JsonPath;
use super::Event;
use crate::yaml::{pos, Spanned};

/// One test: on a JSONPath value (`path`) or a request header (`header`), with one of
/// `equals`, `one_of`, `matches` or `exists`; or `not` / `any` around others.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Condition")]
pub struct RawCondition {
    /// A JSONPath (RFC 9535) into the payload; several values: any may pass.
    #[schemars(with = "Option<String>")]
    pub path: Option<Spanned<String>>,
    /// A request header, any case.
    #[schemars(with = "Option<String>")]
    pub header: Option<Spanned<String>>,
    /// Equal to this (numbers and booleans compare by their text).
    #[schemars(with = "Option<Value>")]
    pub equals: Option<Spanned<Value>>,
    /// Equal to one of these.
    #[schemars(with = "Option<Vec<Value>>")]
    pub one_of: Option<Spanned<Vec<Value>>>,
    /// Matches this regex (compiled at load).
    #[schemars(with = "Option<String>")]
    pub matches: Option<Spanned<String>>,
    /// `true`: present and not null; `false`: absent or null.
    #[schemars(with = "Option<bool>")]
    pub exists: Option<Spanned<bool>>,
    /// Holds when the condition inside does not.
    #[schemars(with = "Option<Box<RawCondition>>")]
    pub not: Option<Box<Spanned<RawCondition>>>,
    /// Holds when at least one of these does.
    #[schemars(with = "Option<Vec<RawCondition>>")]
    pub any: Option<Vec<Spanned<RawCondition>>>,
}

#[derive(Debug, Clone)]
pub enum Condition {
    Test(Subject, Test),
    /// Some value (any type but null) is there, or none is.
    Exists(Subject, bool),
    Not(Box<Condition>),
    Any(Vec<Condition>),
}

#[derive(Debug, Clone)]
pub enum Subject {
    Path(JsonPath),
    Header(String),
}

#[derive(Debug, Clone)]
pub enum Test {
    Equals(String),
    OneOf(Vec<String>),
    Matches(Regex),
}

impl Condition {
    pub fn holds(&self, event: &Event) -> bool {
        match self {
            Condition::Not(inner) => !inner.holds(event),
            Condition::Any(options) => options.iter().any(|c| c.holds(event)),
            Condition::Exists(subject, wanted) => exists(subject, event) == *wanted,
            Condition::Test(subject, test) => {
                let mut values = subject_values(subject, event);
                match test {
                    Test::Equals(s) => values.any(|v| v == *s),
                    Test::OneOf(list) => values.any(|v| list.iter().any(|s| v == *s)),
                    Test::Matches(re) => values.any(|v| re.is_match(&v)),
                }
            }
        }
    }
}

fn exists(subject: &Subject, event: &Event) -> bool {
    match subject {
        Subject::Path(path) => path.first(event.payload).is_some(),
        Subject::Header(name) => event.headers_named(name).next().is_some(),
    }
}

fn subject_values<'a>(
    subject: &'a Subject,
    event: &'a Event,
) -> Box<dyn Iterator<Item = Cow<'a, str>> + 'a> {
    match subject {
        Subject::Path(path) => Box::new(
            path.select(event.payload)
                .into_iter()
                .filter_map(scalar_text),
        ),
        Subject::Header(name) => Box::new(event.headers_named(name).map(Cow::Borrowed)),
    }
}

/// The text a condition compares: strings as they are, numbers and booleans as
/// written in JSON; null, lists and objects have none.
pub fn scalar_text(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

pub fn compile(raw: &Spanned<RawCondition>, ctx: &mut Ctx) -> Option<Condition> {
    let at = pos(raw);
    let c = &raw.value;
    if let Some(inner) = &c.not {
        return only_key(c, "not", ctx, at)
            .then(|| compile(inner, ctx).map(|i| Condition::Not(Box::new(i))))
            .flatten();
    }
    if let Some(options) = &c.any {
        if !only_key(c, "any", ctx, at) {
            return None;
        }
        let compiled: Vec<_> = options.iter().map(|o| compile(o, ctx)).collect();
        return compiled
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .map(Condition::Any);
    }
    let subject = match (&c.path, &c.header) {
        (Some(path), None) => Subject::Path(ctx.json_path(path)?),
        (None, Some(header)) => Subject::Header(header.value.to_ascii_lowercase()),
        _ => {
            ctx.error(
                at,
                "a condition needs exactly one of `path` or `header` (or `not` / `any`)",
            );
            return None;
        }
    };
    compile_test(c, subject, ctx, at)
}

/// What a `path` or `header` condition tests its subject for.
fn compile_test(
    c: &RawCondition,
    subject: Subject,
    ctx: &mut Ctx,
    at: crate::diagnostic::Pos,
) -> Option<Condition> {
    if let Some(wanted) = &c.exists {
        let alone = [c.equals.is_some(), c.one_of.is_some(), c.matches.is_some()]
            .iter()
            .all(|x| !x);
        if !alone {
            ctx.error(
                at,
                "`exists` is a test of its own: drop `equals`, `one_of` or `matches` here",
            );
            return None;
        }
        return Some(Condition::Exists(subject, wanted.value));
    }
    let tests = [
        c.equals
            .as_ref()
            .map(|v| Some(Test::Equals(json_text(&v.value)))),
        c.one_of
            .as_ref()
            .map(|v| Some(Test::OneOf(v.value.iter().map(json_text).collect()))),
        c.matches.as_ref().map(|re| compile_regex(re, ctx)),
    ];
    let mut given = tests.into_iter().flatten();
    let (Some(test), None) = (given.next(), given.next()) else {
        ctx.error(
            at,
            "a condition needs exactly one test: `equals`, `one_of`, `matches` or `exists`",
        );
        return None;
    };
    Some(Condition::Test(subject, test?))
}

fn only_key(c: &RawCondition, key: &str, ctx: &mut Ctx, at: crate::diagnostic::Pos) -> bool {
    let others = [
        c.path.is_some(),
        c.header.is_some(),
        c.equals.is_some(),
        c.one_of.is_some(),
        c.matches.is_some(),
        c.exists.is_some(),
        c.not.is_some(),
        c.any.is_some(),
    ];
    let alone = others.iter().filter(|x| **x).count() == 1;
    if !alone {
        ctx.error(
            at,
            format!("`{key}` stands alone in its condition: move the other keys inside it"),
        );
    }
    alone
}

fn compile_regex(re: &Spanned<String>, ctx: &mut Ctx) -> Option<Test> {
    match Regex::new(&re.value) {
        Ok(r) => Some(Test::Matches(r)),
        Err(err) => {
            let detail = err.to_string();
            let last = detail.lines().last().unwrap_or("").trim().to_string();
            ctx.error(pos(re), format!("invalid regex: {last}"));
            None
        }
    }
}

fn json_text(value: &Value) -> String {
    match scalar_text(value) {
        Some(text) => text.into_owned(),
        None => value.to_string(),
    }
}
