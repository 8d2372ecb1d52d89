//! Atlassian Document Format (the JSON tree Jira Cloud keeps rich text in) as
//! hookbridge markdown.
//!
//! Each node becomes the nearest thing the markdown subset has: lists stay lists,
//! panels and task items get an emoji, tables become labelled lines, mentions become
//! names that page no one. Text goes through the same escaping as wiki markup (see
//! [`super::jira_markup`]), so a document cannot carry markdown, links or mentions
//! of its own.

use serde_json::Value;

use super::jira_markup::{code_span, link_md, short_handle, table_lines, text, Cell, Lines};

/// Deepest nesting walked; anything below is left out.
const MAX_DEPTH: usize = 32;

/// An ADF document as markdown. A document serialised into a JSON string (as some
/// Automation rules send it) is read first; anything that is not a `doc` gives "".
pub fn to_markdown(doc: &Value) -> String {
    let parsed;
    let doc = match doc {
        Value::String(json) => {
            parsed = serde_json::from_str::<Value>(json).unwrap_or(Value::Null);
            &parsed
        }
        _ => doc,
    };
    if kind(doc) != "doc" {
        return String::new();
    }
    let mut out = Lines::default();
    blocks(&mut out, doc, 0);
    out.finish()
}

fn kind(node: &Value) -> &str {
    node.get("type").and_then(Value::as_str).unwrap_or("")
}

fn attr<'a>(node: &'a Value, key: &str) -> Option<&'a Value> {
    node.get("attrs")?.get(key)
}

fn attr_str<'a>(node: &'a Value, key: &str) -> &'a str {
    attr(node, key).and_then(Value::as_str).unwrap_or("")
}

fn children(node: &Value) -> &[Value] {
    node.get("content")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn is_inline(node: &Value) -> bool {
    matches!(
        kind(node),
        "text"
            | "hardBreak"
            | "mention"
            | "emoji"
            | "inlineCard"
            | "status"
            | "date"
            | "mediaInline"
            | "placeholder"
            | "inlineExtension"
    )
}

fn blocks(out: &mut Lines, node: &Value, depth: usize) {
    for child in children(node) {
        block(out, child, depth + 1);
    }
}

/// The children of `node` as lines of their own, to be prefixed by the caller.
fn nested(node: &Value, depth: usize) -> Lines {
    let mut inner = Lines::default();
    blocks(&mut inner, node, depth);
    inner
}

fn block(out: &mut Lines, node: &Value, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match kind(node) {
        "paragraph" => out.push(&inline(children(node), depth)),
        "heading" => {
            let level = attr(node, "level").and_then(Value::as_u64).unwrap_or(1);
            let title = inline(children(node), depth).replace('\n', " ");
            if !title.trim().is_empty() {
                let hashes = "#".repeat(level.clamp(1, 6) as usize);
                out.push(&format!("{hashes} {title}"));
            }
        }
        "bulletList" | "orderedList" => list(out, node, depth),
        "taskList" | "decisionList" => tasks(out, node, depth),
        "codeBlock" => out.code(attr_str(node, "language"), &plain_text(node, depth)),
        "blockquote" => out.nest(nested(node, depth), "> ", "> "),
        "panel" => panel(out, node, depth),
        "expand" | "nestedExpand" => {
            let title = attr_str(node, "title").trim();
            if !title.is_empty() {
                out.push(&format!("**{}**", text(title)));
            }
            blocks(out, node, depth);
        }
        "rule" => out.push("\n———\n"),
        "table" => table(out, node, depth),
        "mediaSingle" | "mediaGroup" => children(node)
            .iter()
            .filter(|c| kind(c) == "media")
            .for_each(|m| out.push(&media(m))),
        "media" => out.push(&media(node)),
        "blockCard" | "embedCard" => out.push(&card(node)),
        _ => unknown(out, node, depth),
    }
    out.blank();
}

/// Layouts, extensions and nodes newer than this code: their content, as blocks or
/// as a line of text.
fn unknown(out: &mut Lines, node: &Value, depth: usize) {
    match children(node).first() {
        Some(first) if is_inline(first) => out.push(&inline(children(node), depth)),
        Some(_) => blocks(out, node, depth),
        None => out.push(&text(attr_str(node, "text"))),
    }
}

fn list(out: &mut Lines, node: &Value, depth: usize) {
    let ordered = kind(node) == "orderedList";
    let start = attr(node, "order").and_then(Value::as_u64).unwrap_or(1);
    for (number, item) in (start.min(1_000_000_000)..).zip(children(node)) {
        let marker = if ordered {
            format!("{number}. ")
        } else {
            "- ".to_string()
        };
        out.nest(nested(item, depth + 1), &marker, &" ".repeat(marker.len()));
    }
}

/// Task and decision items, one line each with a box for their state.
fn tasks(out: &mut Lines, node: &Value, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    for item in children(node) {
        let mut inner = Lines::default();
        let mark = match (kind(item), attr_str(item, "state")) {
            ("taskList" | "decisionList", _) => {
                tasks(&mut inner, item, depth + 1);
                out.nest(inner, "  ", "  ");
                continue;
            }
            (_, "DONE") => "☑ ",
            ("decisionItem", _) => "◆ ",
            _ => "☐ ",
        };
        inner.push(&inline(children(item), depth + 1));
        out.nest(inner, mark, "  ");
    }
}

fn panel(out: &mut Lines, node: &Value, depth: usize) {
    let icon = match attr_str(node, "panelType") {
        "info" => "ℹ️",
        "note" => "📝",
        "success" => "✅",
        "warning" => "⚠️",
        "error" => "❌",
        _ => "",
    };
    let inner = nested(node, depth);
    if icon.is_empty() {
        out.nest(inner, "", "");
    } else if inner.starts_plain() {
        out.nest(inner, &format!("{icon} "), "");
    } else {
        out.push(icon);
        out.nest(inner, "", "");
    }
}

fn table(out: &mut Lines, node: &Value, depth: usize) {
    let rows: Vec<Vec<Cell>> = children(node)
        .iter()
        .map(|row| {
            children(row)
                .iter()
                .map(|cell| Cell {
                    header: kind(cell) == "tableHeader",
                    text: cell_text(cell, depth + 1),
                })
                .collect()
        })
        .collect();
    for line in table_lines(&rows) {
        out.push(&line);
    }
}

/// A cell on one line: its paragraphs as inline markdown, anything bigger as text.
fn cell_text(cell: &Value, depth: usize) -> String {
    let parts: Vec<String> = children(cell)
        .iter()
        .map(|child| match kind(child) {
            "paragraph" | "heading" => inline(children(child), depth + 1),
            "codeBlock" => code_span(&plain_text(child, depth + 1)),
            _ => text(&plain_text(child, depth + 1)),
        })
        .collect();
    parts.join(" ").replace('\n', " ").trim().to_string()
}

fn media(node: &Value) -> String {
    let name = [attr_str(node, "alt"), attr_str(node, "name")]
        .into_iter()
        .find(|n| !n.trim().is_empty())
        .unwrap_or("attachment");
    match attr_str(node, "url") {
        "" => format!("📎 {}", text(name)),
        url => format!("📎 {}", link_md(name, url)),
    }
}

fn card(node: &Value) -> String {
    let url = attr_str(node, "url");
    link_md(url, url)
}

/// A millisecond timestamp (`"1616371200000"` or a number) as `YYYY-MM-DD`.
fn date(node: &Value) -> String {
    let ms = match attr(node, "timestamp") {
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(n) => n.as_i64(),
        None => None,
    };
    let Some(days) = ms.map(|ms| ms.div_euclid(86_400_000)) else {
        return String::new();
    };
    if days.abs() > 2_900_000 {
        return String::new();
    }
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

fn mention_name(node: &Value) -> String {
    let shown = attr_str(node, "text").trim().trim_start_matches('@').trim();
    if shown.is_empty() {
        short_handle(attr_str(node, "id"))
    } else {
        shown.to_string()
    }
}

fn emoji(node: &Value) -> &str {
    match attr_str(node, "text") {
        "" => attr_str(node, "shortName"),
        shown => shown,
    }
}

/// The text of a node and everything under it, for code and for nodes without a
/// markdown form.
fn plain_text(node: &Value, depth: usize) -> String {
    if depth > MAX_DEPTH {
        return String::new();
    }
    match kind(node) {
        "text" => {
            return node
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or("")
                .into()
        }
        "hardBreak" => return "\n".into(),
        "mention" => return format!("@{}", mention_name(node)),
        "emoji" => return emoji(node).into(),
        "status" => return attr_str(node, "text").into(),
        "date" => return date(node),
        "inlineCard" | "blockCard" => return attr_str(node, "url").into(),
        _ => {}
    }
    let mut out = String::new();
    for child in children(node) {
        let part = plain_text(child, depth + 1);
        if !is_inline(child) && !out.is_empty() && !part.is_empty() {
            out.push(' ');
        }
        out.push_str(&part);
    }
    out
}

/// Inline nodes as markdown: runs sharing one `link` mark become one link.
fn inline(nodes: &[Value], depth: usize) -> String {
    if depth > MAX_DEPTH {
        return String::new();
    }
    let mut out = String::new();
    let mut rest = nodes;
    while let Some(first) = rest.first() {
        let href = link_of(first);
        let run = rest.iter().take_while(|n| link_of(n) == href).count();
        let (linked, after) = rest.split_at(run);
        let label = styled(linked, depth);
        match href.and_then(crate::markdown::safe_url) {
            Some(url) if !label.trim().is_empty() => {
                out.push_str(&format!("[{}]({url})", label.replace('\n', " ")));
            }
            Some(_) => out.push_str(&link_md("", href.unwrap_or(""))),
            None => out.push_str(&label),
        }
        rest = after;
    }
    out
}

fn marks(node: &Value) -> impl Iterator<Item = &Value> {
    node.get("marks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn has_mark(node: &Value, wanted: &str) -> bool {
    marks(node).any(|m| kind(m) == wanted)
}

fn link_of(node: &Value) -> Option<&str> {
    marks(node)
        .find(|m| kind(m) == "link")
        .map(|m| attr_str(m, "href"))
}

/// Strong and em marks as `**`/`_` pairs that nest properly across text nodes, with
/// whitespace kept outside them (`**a **b` is not bold in CommonMark).
#[derive(Default)]
struct Styler {
    out: String,
    open: Vec<&'static str>,
    /// Whitespace held back until the marks around it are settled.
    pending: String,
    /// Consecutive code text, shown as one span.
    code: String,
}

impl Styler {
    fn set(&mut self, want: &[&'static str]) {
        if !self.code.is_empty() {
            // The marks were closed when the code began.
            self.out
                .push_str(&code_span(&std::mem::take(&mut self.code)));
        }
        let keep = self
            .open
            .iter()
            .zip(want)
            .take_while(|(a, b)| a == b)
            .count();
        while self.open.len() > keep {
            self.out.push_str(self.open.pop().unwrap_or_default());
        }
        self.out.push_str(&std::mem::take(&mut self.pending));
        for mark in want.get(keep..).unwrap_or_default() {
            self.out.push_str(mark);
            self.open.push(mark);
        }
    }

    fn text(&mut self, raw: &str, want: &[&'static str]) {
        let core = raw.trim();
        if core.is_empty() {
            self.pending.push_str(raw);
            return;
        }
        self.pending
            .push_str(&raw[..raw.len() - raw.trim_start().len()]);
        self.set(want);
        self.out.push_str(&text(core));
        self.pending.push_str(&raw[raw.trim_end().len()..]);
    }

    fn atom(&mut self, md: &str) {
        self.set(&[]);
        self.out.push_str(md);
    }
}

fn styled(nodes: &[Value], depth: usize) -> String {
    let mut styler = Styler::default();
    for node in nodes {
        match kind(node) {
            "text" => {
                let raw = node.get("text").and_then(Value::as_str).unwrap_or("");
                if has_mark(node, "code") {
                    if styler.code.is_empty() {
                        styler.set(&[]);
                    }
                    styler.code.push_str(raw);
                    continue;
                }
                let want: Vec<&'static str> = [("strong", "**"), ("em", "_")]
                    .into_iter()
                    .filter(|(mark, _)| has_mark(node, mark))
                    .map(|(_, md)| md)
                    .collect();
                styler.text(raw, &want);
            }
            "hardBreak" => styler.atom("\n"),
            "mention" => styler.atom(&text(&format!("@{}", mention_name(node)))),
            "emoji" => styler.atom(&text(emoji(node))),
            "status" => match attr_str(node, "text").trim() {
                "" => {}
                status => styler.atom(&text(&format!("[{status}]"))),
            },
            "date" => styler.atom(&date(node)),
            "inlineCard" => styler.atom(&card(node)),
            "mediaInline" => styler.atom(&media(node)),
            "placeholder" => {}
            _ => styler.atom(&text(&plain_text(node, depth + 1))),
        }
    }
    styler.set(&[]);
    styler.out
}

#[cfg(test)]
mod tests {
    use super::super::jira_markup::tests::assert_safe;
    use super::*;
    use serde_json::json;

    fn t(s: &str) -> Value {
        json!({"type": "text", "text": s})
    }

    fn marked(s: &str, marks: Value) -> Value {
        json!({"type": "text", "text": s, "marks": marks})
    }

    fn p(content: Value) -> Value {
        json!({"type": "paragraph", "content": content})
    }

    fn doc(content: Value) -> String {
        to_markdown(&json!({"type": "doc", "version": 1, "content": content}))
    }

    #[test]
    fn marks_nest_and_keep_spaces_outside() {
        let out = doc(json!([p(json!([
            t("a "),
            marked("bold ", json!([{"type": "strong"}])),
            marked("both", json!([{"type": "strong"}, {"type": "em"}])),
            marked(" em", json!([{"type": "em"}])),
            t(" "),
            marked("x", json!([{"type": "code"}])),
            marked("y`", json!([{"type": "code"}])),
            t(" "),
            marked(
                "gone",
                json!([{"type": "strike"}, {"type": "underline"}, {"type": "textColor", "attrs": {"color": "#f00"}}, {"type": "subsup"}])
            ),
        ]))]));
        assert_eq!(out, "a **bold _both_** _em_ xy\\` gone");
    }

    #[test]
    fn links_and_cards() {
        let link = |href: &str| json!([{"type": "link", "attrs": {"href": href}}]);
        let out = doc(json!([p(json!([
            marked("see ", link("https://x.test/a b")),
            marked("here", json!([{"type": "strong"}, {"type": "link", "attrs": {"href": "https://x.test/a b"}}])),
            t(" "),
            marked("evil", link("javascript:alert(1)")),
            t(" "),
            {"type": "inlineCard", "attrs": {"url": "https://j.test/browse/A-1"}},
        ])), {"type": "blockCard", "attrs": {"url": "javascript:x"}}]));
        assert_eq!(
            out,
            "[see **here**](https://x.test/a%20b) evil [https://j.test/browse/A-1](https://j.test/browse/A-1)\n\njavascript:x"
        );
    }

    #[test]
    fn inline_nodes() {
        let out = doc(json!([p(json!([
            {"type": "mention", "attrs": {"id": "557058:f58131cb-b67d", "text": "@Ana Lima"}},
            t(" "),
            {"type": "mention", "attrs": {"id": "557058:f58131cb-b67d-43c7"}},
            {"type": "hardBreak"},
            {"type": "emoji", "attrs": {"shortName": ":smile:", "text": "😄"}},
            {"type": "emoji", "attrs": {"shortName": ":party_parrot:"}},
            t(" "),
            {"type": "status", "attrs": {"text": "IN PROGRESS", "color": "blue"}},
            t(" "),
            {"type": "date", "attrs": {"timestamp": 1_704_067_200_000_i64}},
            {"type": "date", "attrs": {"timestamp": "x"}},
            {"type": "placeholder", "attrs": {"text": "Type here"}},
            {"type": "inlineExtension", "content": [t("ext")]},
        ]))]));
        assert_eq!(
            out,
            "\\@Ana Lima \\@f58131cb…\n😄:party_parrot: \\[IN PROGRESS\\] 2024-01-01ext"
        );
    }

    #[test]
    fn headings_lists_and_code() {
        let item = |c: Value| json!({"type": "listItem", "content": c});
        let out = doc(json!([
            {"type": "heading", "attrs": {"level": 9}, "content": [t("Big")]},
            {"type": "bulletList", "content": [item(json!([
                p(json!([t("one")])),
                {"type": "orderedList", "attrs": {"order": 3}, "content": [
                    item(json!([p(json!([t("three")]))])),
                    item(json!([p(json!([t("four")]))])),
                ]},
            ]))]},
            {"type": "codeBlock", "attrs": {"language": "rust"}, "content": [t("let x = \"@here {{y}}\";\n```")]},
        ]));
        assert_eq!(
            out,
            "###### Big\n\n- one\n  3. three\n  4. four\n\n\
             ````rust\nlet x = \"@\u{200B}here {\u{200B}{y}\u{200B}}\";\n\u{200B}```\n````"
        );
    }

    #[test]
    fn quotes_panels_rules_and_expands() {
        let out = doc(json!([
            {"type": "blockquote", "content": [p(json!([t("said")])), p(json!([t("twice")]))]},
            {"type": "panel", "attrs": {"panelType": "info"}, "content": [p(json!([t("note")]))]},
            {"type": "panel", "attrs": {"panelType": "error"}, "content": [{"type": "heading", "attrs": {"level": 3}, "content": [t("Down")]}]},
            {"type": "rule"},
            {"type": "expand", "attrs": {"title": "Details"}, "content": [p(json!([t("inside")]))]},
        ]));
        assert_eq!(
            out,
            "> said\n> twice\n\nℹ️ note\n\n❌\n### Down\n\n———\n\n**Details**\ninside"
        );
    }

    #[test]
    fn tables_tasks_and_media() {
        let cell = |kind: &str, c: Value| json!({"type": kind, "content": c});
        let out = doc(json!([
            {"type": "table", "content": [
                {"type": "tableRow", "content": [cell("tableHeader", json!([p(json!([t("Key")]))])), cell("tableHeader", json!([p(json!([t("Value")]))]))]},
                {"type": "tableRow", "content": [cell("tableCell", json!([p(json!([t("a")]))])), cell("tableCell", json!([{"type": "codeBlock", "content": [t("x y")]}]))]},
            ]},
            {"type": "taskList", "content": [
                {"type": "taskItem", "attrs": {"state": "DONE"}, "content": [t("shipped")]},
                {"type": "taskList", "content": [{"type": "taskItem", "attrs": {"state": "TODO"}, "content": [t("docs")]}]},
            ]},
            {"type": "decisionList", "content": [{"type": "decisionItem", "attrs": {"state": "DECIDED"}, "content": [t("go")]}]},
            {"type": "mediaGroup", "content": [
                {"type": "media", "attrs": {"type": "file", "id": "1", "alt": "shot.png"}},
                {"type": "media", "attrs": {"type": "external", "url": "https://x.test/i.png"}},
            ]},
        ]));
        assert_eq!(
            out,
            "Key: a · Value: `x y`\n\n☑ shipped\n  ☐ docs\n\n◆ go\n\n📎 shot.png\n📎 [attachment](https://x.test/i.png)"
        );
    }

    #[test]
    fn serialised_unknown_and_foreign_values() {
        let serialised = json!(
            r#"{"type":"doc","version":1,"content":[{"type":"layoutSection","content":[{"type":"layoutColumn","content":[{"type":"paragraph","content":[{"type":"text","text":"col"}]}]}]},{"type":"newThing","attrs":{"text":"*t*"}}]}"#
        );
        assert_eq!(to_markdown(&serialised), "col\n\n\\*t\\*");
        for foreign in [
            json!(null),
            json!("plain text"),
            json!(42),
            json!({"type": "paragraph"}),
            json!([1]),
        ] {
            assert_eq!(to_markdown(&foreign), "");
        }
    }

    #[test]
    fn hostile_documents_are_shown_not_obeyed() {
        let evil = doc(json!([
            p(json!([t("@everyone <!here> <b>x</b> {{x}} [a](javascript:x) # not"), {"type": "mention", "attrs": {"text": "@here"}}])),
            {"type": "heading", "attrs": {"level": "x"}, "content": [marked("**", json!([{"type": "strong"}]))]},
            {"type": "codeBlock", "attrs": {"language": "```@all"}, "content": [t("```\n@channel\n}}")]},
            {"type": "panel", "attrs": {"panelType": 5}, "content": "nope"},
            {"type": "table", "content": [{"type": "tableRow", "content": [{"type": "tableHeader", "content": [p(json!([t(&"h".repeat(5000))]))]}]}]},
        ]));
        assert_safe(&evil);
        assert!(
            evil.starts_with("\\@everyone \\<!here\\> \\<b\\>x\\</b\\>"),
            "{evil}"
        );
        // Pieces that only read as a mention or a template once joined.
        let joined = doc(json!([p(json!([
            t("@"),
            t("everyone {"),
            t("{x}"),
            marked("y", json!([{"type": "code"}])),
            t("@"),
            marked("here", json!([{"type": "strong"}])),
        ]))]));
        assert_safe(&joined);
        assert_eq!(joined, "\\@everyone {\u{200B}{x}`y`\\@**here**");
        let mut deep = p(json!([t("@here")]));
        for _ in 0..300 {
            deep = json!({"type": "blockquote", "content": [deep]});
        }
        let out = doc(json!([deep]));
        assert_safe(&out);
        let wide: Vec<Value> = (0..5_000)
            .map(|_| marked("[[{{", json!([{"type": "em"}])))
            .collect();
        assert_safe(&doc(json!([p(json!(wide))])));
    }

    /// Atlassian's own example document: developer.atlassian.com, Jira Cloud platform,
    /// "Atlassian Document Format" (apis/document/structure).
    #[test]
    fn real_atlassian_example() {
        let example = r#"{ "version": 1, "type": "doc", "content": [ { "type": "paragraph", "content": [ { "type": "text", "text": "Hello " }, { "type": "text", "text": "world", "marks": [ { "type": "strong" } ] } ] } ] }"#;
        assert_eq!(to_markdown(&json!(example)), "Hello **world**");
    }

    /// Atlassian's editor fixtures: pioug/atlassian-frontend-mirror
    /// editor/editor-core/src/__tests__/visual-regression/cursor-inline-nodes/__fixtures__/inline-nodes.ts
    /// (the `mention`, `status` and `date` documents, attributes as written there).
    #[test]
    fn real_atlassian_editor_fixtures() {
        let listed = |node: Value| {
            doc(json!([{"type": "bulletList", "content": [
                {"type": "listItem", "content": [p(json!([node]))]},
                {"type": "listItem", "content": [p(json!([t("LOL")]))]},
            ]}]))
        };
        assert_eq!(
            listed(
                json!({"type": "mention", "attrs": {"id": "0", "text": "@Carolyn", "accessLevel": "", "userType": null}})
            ),
            "- \\@Carolyn\n- LOL"
        );
        assert_eq!(
            listed(
                json!({"type": "status", "attrs": {"text": "HELLO", "color": "neutral", "localId": "556019ae-70e7-42b2-a213-8566efca769f", "style": ""}})
            ),
            "- \\[HELLO\\]\n- LOL"
        );
        assert_eq!(
            listed(json!({"type": "date", "attrs": {"timestamp": "1616371200000"}})),
            "- 2021-03-22\n- LOL"
        );
        assert_eq!(
            listed(
                json!({"type": "emoji", "attrs": {"shortName": ":smiley:", "id": "1f603", "text": "😃"}})
            ),
            "- 😃\n- LOL"
        );
    }
}
