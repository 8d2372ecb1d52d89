//! Handlebars templates, compiled and checked once at load.
//!
//! HTML escaping is off: no target here is HTML. Each output context escapes for
//! itself: card and body values are placed into JSON by serde, markdown is escaped on
//! request with `{{md x}}`, and target dialects (Slack mrkdwn...) escape when built.

use handlebars::template::{HelperTemplate, Parameter, Template, TemplateElement};
use handlebars::{Context, Handlebars, RenderError};

use super::compile::Report;
use super::helpers;
use crate::diagnostic::Pos;
use crate::yaml::{pos_within, Spanned};

/// A string from a mapping file: literal text, or a template registered by name.
#[derive(Debug, Clone)]
pub enum Text {
    Literal(String),
    Template(Escape, String),
}

/// The output context a template writes into, which decides how values are escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// `text` and `title`: `{{x}}` is markdown-escaped so it shows as the same text;
    /// `{{{x}}}` inserts it as markdown.
    Markdown,
    /// Card text: placed into JSON by serde, but a card's TextBlocks read markdown
    /// links, so `{{x}}` breaks a `](` in the value with a zero-width space.
    Card,
    /// Body values and thread keys: serde puts them into JSON strings, nothing to escape.
    None,
}

pub struct Templates {
    markdown: Handlebars<'static>,
    card: Handlebars<'static>,
    plain: Handlebars<'static>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templates")
    }
}

fn registry(escape: fn(&str) -> String) -> Handlebars<'static> {
    let mut registry = Handlebars::new();
    registry.register_escape_fn(escape);
    registry.set_prevent_indent(true);
    helpers::register(&mut registry);
    registry
}

impl Default for Templates {
    fn default() -> Self {
        Self {
            markdown: registry(crate::markdown::escape),
            card: registry(|value| value.replace("](", "]\u{200B}(")),
            plain: registry(handlebars::no_escape),
        }
    }
}

impl Templates {
    /// Compiles `scalar`, reporting syntax errors, unknown helpers and partials at
    /// their place in the file.
    pub fn compile(
        &mut self,
        scalar: &Spanned<String>,
        escape: Escape,
        report: &mut Report,
    ) -> Option<Text> {
        let source = &scalar.value;
        if let Some(at) = crate::yaml::comment_cut(report.source, scalar) {
            report.warning(at, "YAML reads ` #` and what follows as a comment, cutting this value short: quote the whole value to keep it");
        }
        if !source.contains("{{") {
            return Some(Text::Literal(source.clone()));
        }
        if let Some((offset, name)) = unclosed_block(source) {
            let (line, col) = line_col(source, offset);
            let at = report.pos_within(scalar, line, col);
            report.error(
                at,
                format!(
                    "`{{{{#{name}}}}}` is never closed: add `{{{{/{name}}}}}` where the block ends"
                ),
            );
            return None;
        }
        let template = match Template::compile(source) {
            Ok(t) => t,
            Err(err) => {
                let (line, col) = err.pos().unwrap_or((1, 1));
                let reason = err.reason().to_string();
                let at = report.pos_within(scalar, line, col);
                report.error(
                    at,
                    format!("template syntax error ({reason}): each `{{{{` needs its `}}}}`"),
                );
                return None;
            }
        };
        let mut problems = Vec::new();
        check_elements(&template, &mut problems);
        if !problems.is_empty() {
            for (line, col, message) in problems {
                let at = report.pos_within(scalar, line, col);
                report.error(at, message);
            }
            return None;
        }
        if escape == Escape::Markdown {
            let mut risks = Vec::new();
            payload_markup(&template, &mut risks);
            for (line, col, message) in risks {
                let at = report.pos_within(scalar, line, col);
                report.warning(at, message);
            }
        }
        let registry = self.registry_mut(escape);
        let name = format!("t{}", registry.get_templates().len());
        registry.register_template(&name, template);
        Some(Text::Template(escape, name))
    }

    pub fn render(&self, text: &Text, data: &Context) -> Result<String, RenderError> {
        match text {
            Text::Literal(s) => Ok(s.clone()),
            Text::Template(Escape::Markdown, name) => self.markdown.render_with_context(name, data),
            Text::Template(Escape::Card, name) => self.card.render_with_context(name, data),
            Text::Template(Escape::None, name) => self.plain.render_with_context(name, data),
        }
    }

    fn registry_mut(&mut self, escape: Escape) -> &mut Handlebars<'static> {
        match escape {
            Escape::Markdown => &mut self.markdown,
            Escape::Card => &mut self.card,
            Escape::None => &mut self.plain,
        }
    }
}

impl Report<'_> {
    pub fn pos_within(&self, scalar: &Spanned<String>, line: usize, col: usize) -> Pos {
        pos_within(self.source, scalar, line, col)
    }
}

type Problem = (usize, usize, String);

/// The first `{{#name}}` without its `{{/name}}`: handlebars' own error for it names
/// only the end of the template.
fn unclosed_block(source: &str) -> Option<(usize, String)> {
    let mut open: Vec<(usize, String)> = Vec::new();
    let mut rest = 0;
    while let Some(found) = source[rest..].find("{{") {
        let at = rest + found;
        let tag = source[at + 2..].trim_start_matches('~');
        let name = |t: &str| {
            t.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
        };
        if let Some(t) = tag.strip_prefix('#') {
            open.push((at, name(t.trim_start_matches(['>', '*']))));
        } else if let Some(t) = tag.strip_prefix('/') {
            let closing = name(t);
            if let Some(i) = open.iter().rposition(|(_, n)| *n == closing) {
                open.truncate(i);
            }
        }
        rest = at + 2;
    }
    open.into_iter().next()
}

/// 1-based line and column of a byte offset.
fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn check_elements(template: &Template, problems: &mut Vec<Problem>) {
    for (i, element) in template.elements.iter().enumerate() {
        let (line, col) = template
            .mapping
            .get(i)
            .map(|m| (m.0, m.1))
            .unwrap_or((1, 1));
        check_element(element, line, col, problems);
    }
}

fn check_element(element: &TemplateElement, line: usize, col: usize, problems: &mut Vec<Problem>) {
    match element {
        TemplateElement::Expression(h)
        | TemplateElement::HtmlExpression(h)
        | TemplateElement::HelperBlock(h) => check_helper(h, line, col, problems),
        TemplateElement::PartialExpression(_) | TemplateElement::PartialBlock(_) => {
            problems.push((
                line,
                col,
                "partials (`{{> name}}`) are not supported in mappings".into(),
            ))
        }
        TemplateElement::DecoratorExpression(_) | TemplateElement::DecoratorBlock(_) => problems
            .push((
                line,
                col,
                "decorators (`{{* name}}`) are not supported in mappings".into(),
            )),
        _ => {}
    }
}

fn check_helper(h: &HelperTemplate, line: usize, col: usize, problems: &mut Vec<Problem>) {
    let called = !h.params.is_empty() || !h.hash.is_empty();
    if let Parameter::Name(name) = &h.name {
        if called && !helpers::is_known(name) {
            problems.push((line, col, unknown_helper(name)));
        }
        if name == "date" {
            check_time_zone(h, line, col, problems);
        }
    }
    for param in h.params.iter().chain(h.hash.values()) {
        if let Parameter::Subexpression(sub) = param {
            check_element(&sub.element, line, col, problems);
        }
    }
    for inner in [&h.template, &h.inverse].into_iter().flatten() {
        check_elements(inner, problems);
    }
}

/// Helpers whose output is markdown the gateway built safely itself.
const SAFE_MARKDOWN: [&str; 4] = ["md", "link", "href", "change_summary"];

/// Where a markdown template lets a value act as markup: `{{{x}}}` inserts it raw, so a
/// payload could mention a room or link anywhere; `{{x}}` as a link target is escaped
/// text where `{{href x}}` is meant.
fn payload_markup(template: &Template, risks: &mut Vec<Problem>) {
    let mut after_link_open = false;
    for (i, element) in template.elements.iter().enumerate() {
        let (line, col) = template.mapping.get(i).map_or((1, 1), |m| (m.0, m.1));
        let name = |h: &HelperTemplate| h.name.as_name().unwrap_or("").to_string();
        match element {
            TemplateElement::HtmlExpression(h) if !SAFE_MARKDOWN.contains(&name(h).as_str()) => {
                let shown = if h.params.is_empty() {
                    name(h)
                } else {
                    format!("{} ...", name(h))
                };
                risks.push((line, col, format!("`{{{{{{{shown}}}}}}}` inserts its value as markdown: payload text there could mention a room or link anywhere; write `{{{{{shown}}}}}` (or `{{{{href ...}}}}` for a link target)")));
            }
            TemplateElement::Expression(h) if after_link_open && name(h) != "href" => {
                risks.push((line, col, format!("a link target from `{{{{{}}}}}`: write `{{{{href {} ...}}}}`, which keeps only http(s) links and encodes the rest", name(h), name(h))));
            }
            TemplateElement::HelperBlock(h) => {
                for inner in [&h.template, &h.inverse].into_iter().flatten() {
                    payload_markup(inner, risks);
                }
            }
            _ => {}
        }
        after_link_open =
            matches!(element, TemplateElement::RawString(text) if text.ends_with("]("));
    }
}

fn check_time_zone(h: &HelperTemplate, line: usize, col: usize, problems: &mut Vec<Problem>) {
    if let Some(Parameter::Literal(serde_json::Value::String(tz))) = h.hash.get("tz") {
        if !helpers::is_time_zone(tz) {
            problems.push((
                line,
                col,
                format!("unknown time zone \"{tz}\": use an IANA name such as \"Europe/Berlin\""),
            ));
        }
    }
}

fn unknown_helper(name: &str) -> String {
    let names: Vec<&str> = helpers::names().collect();
    let closest = names
        .iter()
        .filter(|n| strsim_close(name, n))
        .copied()
        .collect::<Vec<_>>();
    let hint = if closest.is_empty() {
        format!("helpers are: {}", names.join(", "))
    } else {
        format!("did you mean `{}`?", closest.join("` or `"))
    };
    format!("unknown helper `{name}`: {hint}")
}

/// Close enough to suggest: same letters but for one edit, or one contains the other.
fn strsim_close(a: &str, b: &str) -> bool {
    if a.len().abs_diff(b.len()) > 2 {
        return false;
    }
    if a.contains(b) || b.contains(a) {
        return true;
    }
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut row = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            row.push((prev[j] + cost).min(prev[j + 1] + 1).min(row[j] + 1));
        }
        prev = row;
    }
    prev[b.len()] <= 2
}
