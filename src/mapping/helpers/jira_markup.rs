//! Jira wiki markup (the comment and description bodies of Server/DC and Cloud v2
//! webhooks) as hookbridge markdown.
//!
//! Chat services read none of Jira's own marks (`*bold*`, `{code}`, `[label|url]`,
//! `[~user]`, `!image.png!`), so each is rewritten into the markdown subset the
//! converters understand. Everything taken from the body goes through
//! [`crate::markdown::escape`], [`crate::markdown::safe_url`] or a code span or fence it cannot close,
//! so a comment can neither mention a channel nor smuggle in a link or a template.
//! The pieces shared with [`super::adf`] (escaped text, links, code, tables, the line
//! buffer) live here.

use std::collections::HashMap;

use serde_json::Value;

mod inline;
mod lines;

use inline::inline;
pub(super) use lines::{code_span, link_md, short_handle, table_lines, text, Cell, Lines};
use lines::{strip_prefix_ignore_case, MAX_URL};

/// Longest display name a `[~user]` may expand into.
const MAX_NAME: usize = 100;
/// Deepest list level shown as indentation.
const MAX_LIST: usize = 8;

/// Wiki markup as markdown. `people` holds the Jira user objects found in the payload
/// (`accountId`, `name`, `key`, `displayName`), so `[~accountid:...]` shows a name;
/// `attachments` is the issue's `fields.attachment` (`filename`, `content`), so
/// `!shot.png!` links to the file.
pub fn to_markdown(text: &str, people: &Value, attachments: &Value) -> String {
    let ctx = Context {
        people: people_by_handle(people),
        files: files_by_name(attachments),
    };
    let text = clean(text);
    let mut blocks = Blocks {
        ctx: &ctx,
        out: Lines::default(),
        quote: false,
        panels: 0,
        counters: Vec::new(),
    };
    for piece in pieces(&text) {
        blocks.piece(piece);
    }
    blocks.out.finish()
}

/// What a body refers to by handle or name: people's display names and attachments'
/// download URLs.
struct Context {
    people: HashMap<String, String>,
    files: HashMap<String, String>,
}

fn people_by_handle(people: &Value) -> HashMap<String, String> {
    let list = match people {
        Value::Array(list) => list.as_slice(),
        Value::Object(_) => std::slice::from_ref(people),
        _ => &[],
    };
    let mut map = HashMap::new();
    for person in list.iter().take(10_000) {
        let Some(name) = person.get("displayName").and_then(Value::as_str) else {
            continue;
        };
        let name: String = name.trim().chars().take(MAX_NAME).collect();
        for key in ["accountId", "name", "key"] {
            if let Some(handle) = person.get(key).and_then(Value::as_str) {
                if !name.is_empty() {
                    map.entry(handle.to_lowercase())
                        .or_insert_with(|| name.clone());
                }
            }
        }
    }
    map
}

fn files_by_name(attachments: &Value) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for file in attachments.as_array().into_iter().flatten().take(10_000) {
        let name = file.get("filename").and_then(Value::as_str);
        let url = file.get("content").and_then(Value::as_str);
        if let (Some(name), Some(url)) = (name, url.filter(|u| u.len() <= MAX_URL)) {
            map.entry(name.to_string())
                .or_insert_with(|| url.to_string());
        }
    }
    map
}

impl Context {
    fn person(&self, handle: &str) -> String {
        let handle = handle.trim();
        let id = strip_prefix_ignore_case(handle, "accountid:").unwrap_or(handle);
        let name = self.people.get(&id.to_lowercase());
        text(&format!(
            "@{}",
            name.cloned().unwrap_or_else(|| short_handle(handle))
        ))
    }

    /// `!name!` or `[^name]`: a link to the attachment when the issue has it.
    fn attachment(&self, name: &str, label: &str) -> String {
        let name = name.trim();
        if name.contains("://") {
            let tail = name.split(['?', '#']).next().unwrap_or(name);
            let file = tail
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or(name);
            return format!(
                "📎 {}",
                link_md(if label.is_empty() { file } else { label }, name)
            );
        }
        let label = if label.is_empty() { name } else { label };
        match self.files.get(name) {
            Some(url) => format!("📎 {}", link_md(label, url)),
            None => format!("📎 {}", text(label)),
        }
    }

    /// The inside of `[...]`; `None` when it is no link but bracketed text ("[WIP]").
    fn link(&self, inner: &str) -> Option<String> {
        if let Some(user) = inner.strip_prefix('~') {
            return Some(self.person(user));
        }
        let mut parts = inner.splitn(3, '|');
        let first = parts.next().unwrap_or("").trim();
        let (label, target) = match parts.next() {
            Some(target) => (first, target.trim()),
            None => ("", first),
        };
        if let Some(name) = target.strip_prefix('^') {
            return Some(self.attachment(name, label));
        }
        let mail = strip_prefix_ignore_case(target, "mailto:");
        if target.contains("://") || mail.is_some() {
            let label = if label.is_empty() {
                mail.unwrap_or(target)
            } else {
                label
            };
            return Some(link_md(label, target));
        }
        let shown = if label.is_empty() {
            target.trim_start_matches('#')
        } else {
            label
        };
        (inner.contains('|') || target.starts_with('#')).then(|| text(shown))
    }
}

/// Control characters dropped, line ends made `\n`.
fn clean(text: &str) -> String {
    text.replace("\r\n", "\n")
        .chars()
        .map(|c| if c == '\r' { '\n' } else { c })
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect()
}

/// The body split at its block macros.
enum Piece<'a> {
    Text(String),
    Code { params: &'a str, body: &'a str },
    Quote,
    Panel(&'a str),
}

/// Splits at `{code}`, `{noformat}`, `{quote}` and `{panel}`; other macros (`{color}`,
/// `{anchor}`, unknown ones) lose their tags and keep what they enclose.
fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut plain = String::new();
    let mut i = 0;
    while let Some(open) = text[i..].find('{').map(|p| p + i) {
        plain.push_str(&text[i..open]);
        i = open + 1;
        if text[i..].starts_with('{') {
            // `{{monospace}}` is the inline pass's.
            plain.push_str("{{");
            i += 1;
            continue;
        }
        let Some((name, params, end)) = macro_at(text, open) else {
            plain.push('{');
            continue;
        };
        i = end;
        let name = name.to_ascii_lowercase();
        let piece = match name.as_str() {
            "code" | "noformat" => {
                let closer = format!("{{{name}}}");
                let close = text[end..].find(&closer).map_or(text.len(), |p| p + end);
                i = (close + closer.len()).min(text.len());
                let params = if name == "code" { params } else { "" };
                Piece::Code {
                    params,
                    body: &text[end..close],
                }
            }
            "quote" => Piece::Quote,
            "panel" => Piece::Panel(params),
            _ => continue,
        };
        out.push(Piece::Text(std::mem::take(&mut plain)));
        out.push(piece);
    }
    plain.push_str(&text[i..]);
    out.push(Piece::Text(plain));
    out
}

/// `{name}` or `{name:params}` at `open`: the name, the parameters and where it ends.
fn macro_at(text: &str, open: usize) -> Option<(&str, &str, usize)> {
    let rest = text.get(open + 1..)?;
    let name_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
    let name = rest.get(..name_len).filter(|n| !n.is_empty())?;
    let after = &rest[name_len..];
    if after.starts_with('}') {
        return Some((name, "", open + name_len + 2));
    }
    let params = after.strip_prefix(':')?;
    let close = params.find(['{', '}', '\n'])?;
    (params.as_bytes().get(close) == Some(&b'}'))
        .then(|| (name, &params[..close], open + name_len + close + 3))
}

/// A macro parameter (`title=Notes` in `{panel:title=Notes|bgColor=#fff}`).
fn param<'a>(params: &'a str, key: &str) -> Option<&'a str> {
    params.split('|').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case(key).then_some(v.trim())
    })
}

/// Block state while walking the pieces: inside a quote, how many panels are open,
/// and the numbering of each open list level.
struct Blocks<'c> {
    ctx: &'c Context,
    out: Lines,
    quote: bool,
    panels: usize,
    counters: Vec<usize>,
}

impl Blocks<'_> {
    fn piece(&mut self, piece: Piece) {
        match piece {
            Piece::Text(text) => self.text(&text),
            Piece::Code { params, body } => {
                if let Some(title) = param(params, "title").filter(|t| !t.is_empty()) {
                    self.out.blank();
                    self.out.push(&format!("**{}**", text(title)));
                }
                let lang = params.split('|').find(|p| !p.contains('=')).unwrap_or("");
                let lang = param(params, "language").unwrap_or(lang);
                self.out.code(lang.trim(), body);
            }
            Piece::Quote => {
                self.quote = !self.quote;
                self.out.blank();
            }
            Piece::Panel(params) if params.is_empty() && self.panels > 0 => {
                self.panels -= 1;
                self.out.blank();
            }
            Piece::Panel(params) => {
                self.panels += 1;
                self.out.blank();
                if let Some(title) = param(params, "title").filter(|t| !t.is_empty()) {
                    self.emit(&format!("**{}**", text(title)), "", "");
                }
            }
        }
    }

    fn text(&mut self, text: &str) {
        let lines: Vec<&str> = text.split('\n').collect();
        let mut k = 0;
        while let Some(line) = lines.get(k) {
            let rows = lines[k..]
                .iter()
                .take_while(|l| l.trim_start().starts_with('|'))
                .count();
            if rows > 0 {
                self.table(&lines[k..k + rows]);
                k += rows;
            } else {
                self.line(line.trim());
                k += 1;
            }
        }
    }

    fn line(&mut self, line: &str) {
        if let Some((marks, rest)) = list_item(line) {
            return self.list_item(marks, rest);
        }
        self.counters.clear();
        if line.is_empty() {
            self.out.blank();
        } else if line.len() >= 4 && line.bytes().all(|b| b == b'-') {
            self.out.blank();
            self.emit("———", "", "");
            self.out.blank();
        } else if let Some((level, rest)) = heading(line) {
            let title = inline(self.ctx, rest);
            if self.quote {
                self.emit(&format!("**{title}**"), "", "");
            } else if !title.trim().is_empty() {
                self.out.blank();
                self.out.push(&format!("{} {title}", "#".repeat(level)));
            }
        } else if let Some(rest) = line.strip_prefix("bq.") {
            let quoted = inline(self.ctx, rest.trim_start());
            self.emit(&quoted, "> ", "> ");
        } else {
            let shown = inline(self.ctx, line);
            self.emit(&shown, "", "");
        }
    }

    fn list_item(&mut self, marks: &str, rest: &str) {
        let depth = marks.len().min(MAX_LIST);
        self.counters.resize(depth, 0);
        let numbered = marks.ends_with('#');
        let marker = match self.counters.last_mut() {
            Some(n) if numbered => {
                *n += 1;
                format!("{n}. ")
            }
            _ => "- ".to_string(),
        };
        let indent = "  ".repeat(depth - 1);
        let shown = inline(self.ctx, rest);
        let first = format!("{indent}{marker}");
        let rest = format!("{indent}{}", " ".repeat(marker.len()));
        self.emit(&shown, &first, &rest);
    }

    /// Writes markdown lines with `first`/`rest` before them, inside the open quote.
    fn emit(&mut self, md: &str, first: &str, rest: &str) {
        let mut inner = Lines::default();
        inner.push(md);
        let quote = if self.quote && !first.starts_with('>') {
            "> "
        } else {
            ""
        };
        self.out
            .nest(inner, &format!("{quote}{first}"), &format!("{quote}{rest}"));
    }

    fn table(&mut self, rows: &[&str]) {
        self.counters.clear();
        let rows: Vec<Vec<Cell>> = rows
            .iter()
            .map(|row| {
                let cells = split_row(row.trim());
                let cell = |(header, raw): (bool, &str)| Cell {
                    header,
                    text: inline(self.ctx, raw.trim()).replace('\n', " "),
                };
                cells.into_iter().map(cell).collect()
            })
            .collect();
        self.out.blank();
        for line in table_lines(&rows) {
            self.emit(&line, "", "");
        }
        self.out.blank();
    }
}

/// `* item`, `## item`, `*# item`, `- item`: the marks and the item's text.
fn list_item(line: &str) -> Option<(&str, &str)> {
    let marks_len = line
        .bytes()
        .take_while(|b| matches!(b, b'*' | b'#' | b'-'))
        .count();
    let (marks, rest) = line.split_at(marks_len);
    let listy = marks == "-" || (!marks.is_empty() && !marks.contains('-'));
    (listy && rest.starts_with(' ')).then(|| (marks, rest.trim_start()))
}

/// `h1. Title` to `h6. Title`.
fn heading(line: &str) -> Option<(usize, &str)> {
    let rest = line.strip_prefix('h')?;
    let level = rest.bytes().next().filter(|b| (b'1'..=b'6').contains(b))?;
    let rest = rest[1..].strip_prefix('.')?;
    (rest.is_empty() || rest.starts_with(' ')).then(|| (usize::from(level - b'0'), rest.trim()))
}

/// The cells of `||h1||h2||` or `|a|b|`; a `|` inside `[...]` belongs to a link.
fn split_row(line: &str) -> Vec<(bool, &str)> {
    let bytes = line.as_bytes();
    let mut cells = Vec::new();
    let (mut depth, mut start, mut header, mut i) = (0usize, None, false, 0);
    while let Some(&b) = bytes.get(i) {
        match b {
            b'[' => depth += 1,
            b']' => depth = depth.saturating_sub(1),
            b'\\' => i += 1,
            b'|' if depth == 0 => {
                if let Some(s) = start {
                    cells.push((header, &line[s..i]));
                }
                header = bytes.get(i + 1) == Some(&b'|');
                i += usize::from(header);
                start = Some(i + 1);
            }
            _ => {}
        }
        i += 1;
    }
    if let Some(last) = start
        .and_then(|s| line.get(s..))
        .filter(|l| !l.trim().is_empty())
    {
        cells.push((header, last));
    }
    cells
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::markdown;
    use serde_json::json;

    fn md(s: &str) -> String {
        to_markdown(s, &json!([]), &json!([]))
    }

    /// What every output must hold, whatever came in: no template braces, no link a
    /// converter would drop, no live mention in any dialect.
    pub(crate) fn assert_safe(out: &str) {
        assert!(!out.contains("{{") && !out.contains("}}"), "{out}");
        assert_eq!(markdown::drop_unsafe_links(out), out);
        let guarded = markdown::guard_mentions(out);
        for word in ["@everyone", "@here", "@channel", "@all"] {
            assert!(!guarded.contains(word), "{word} in {guarded}");
        }
        let slack = markdown::to_slack(out);
        assert!(!slack.contains("<!") && !slack.contains("<@"), "{slack}");
    }

    #[test]
    fn text_effects() {
        assert_eq!(
            md("*strong* _em_ -del- +ins+ ^sup^ ~sub~ ??cite??"),
            "**strong** _em_ del ins sup sub _cite_"
        );
        assert_eq!(md("*bold _and em_*"), "**bold _and em_**");
        // Marks inside words, around spaces or unclosed are text.
        assert_eq!(
            md("snake_case_name 2*3*4 a * b * c"),
            "snake_case_name 2\\*3\\*4 a \\* b \\* c"
        );
        assert_eq!(
            md("*unclosed and well-known -- x"),
            "\\*unclosed and well-known -- x"
        );
        assert_eq!(md("{{mono *x*}} {{}}"), "`mono *x*` {\u{200B}{}\u{200B}}");
        assert_eq!(md("{{a`b}}"), "a\\`b");
    }

    #[test]
    fn headings_quotes_and_rules() {
        assert_eq!(
            md("h1. One\nh3. *Three*\nh7. no"),
            "# One\n\n### **Three**\nh7. no"
        );
        assert_eq!(md("bq. said *this*"), "> said **this**");
        assert_eq!(
            md("before\n{quote}\nline one\n\nh2. head\n{quote}\nafter"),
            "before\n\n> line one\n\n> **head**\n\nafter"
        );
        assert_eq!(md("a\n----\nb"), "a\n\n———\n\nb");
        assert_eq!(md("a\\\\b"), "a\nb");
    }

    #[test]
    fn lists_nest_and_number() {
        assert_eq!(
            md("* a\n** b\n*# c\n*# d\n# one\n## sub\n# two\n- dash"),
            "- a\n  - b\n  1. c\n  2. d\n1. one\n  1. sub\n2. two\n- dash"
        );
        assert_eq!(md("* a\\\\b"), "- a\n  b");
        assert_eq!(
            md("*bold* start\n-- not a list"),
            "**bold** start\n-- not a list"
        );
    }

    #[test]
    fn code_and_noformat_are_fenced_verbatim() {
        assert_eq!(
            md("{code:java}\nint *x* = [a|b];\n{code}"),
            "```java\nint *x* = [a|b];\n```"
        );
        assert_eq!(
            md("{code:title=Run.sh|borderStyle=solid}\necho {{x}} @here\n{code}"),
            "**Run.sh**\n\n```\necho {\u{200B}{x}\u{200B}} @\u{200B}here\n```"
        );
        // A line that would close the fence cannot, and the fence outruns the content.
        assert_eq!(
            md("{noformat}\n```\n*x*\n````\n{noformat}"),
            "`````\n\u{200B}```\n*x*\n\u{200B}````\n`````"
        );
        assert_eq!(md("{code:evil```js}x{code}"), "```eviljs\nx\n```");
        assert_eq!(md("{code}never closed *x*"), "```\nnever closed *x*\n```");
    }

    #[test]
    fn panels_colors_and_unknown_macros() {
        assert_eq!(
            md("{panel:title=Notes|borderStyle=dashed}\ninside\n{panel}\nafter"),
            "**Notes**\n\ninside\n\nafter"
        );
        assert_eq!(md("{panel}\nplain\n{panel}"), "plain");
        assert_eq!(
            md("{color:red}red{color} {anchor:top}x {status:colour=Green}ok{status} {\"a\":1}"),
            "red x ok {\"a\":1}"
        );
    }

    #[test]
    fn links() {
        assert_eq!(
            md("[Google|http://www.google.com] [http://x.test/a b] [t|https://x.test|tip]"),
            "[Google](http://www.google.com) [http://x.test/a b](http://x.test/a%20b) [t](https://x.test)"
        );
        assert_eq!(
            md("[mailto:ana@x.test]"),
            "[ana@x.test](mailto:ana%40x.test)"
        );
        assert_eq!(md("[click|javascript:alert(1)]"), "click");
        assert_eq!(
            md("[x|data:text/html,1] [#top] [label|KEY-1]"),
            "x top label"
        );
        // Brackets that are no link stay as written.
        assert_eq!(md("[WIP] fix [a [b]"), "\\[WIP\\] fix \\[a \\[b\\]");
        // A bare URL is text, marks inside it included.
        assert_eq!(
            md("see http://x.test/-a-/_b_ now"),
            "see http://x.test/-a-/\\_b\\_ now"
        );
    }

    #[test]
    fn mentions_show_names_and_page_no_one() {
        let people = json!([
            {"accountId": "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077", "displayName": "Ana Lima"},
            {"name": "bob", "key": "JIRAUSER1", "displayName": "Bob [Admin]"}
        ]);
        let out = to_markdown(
            "[~accountid:557058:f58131cb-b67d-43c7-b30d-6b58d40bd077] [~BOB] [~jirauser1] [~carol] [~accountid:557058:0000aaaa-bbbb] [~everyone]",
            &people,
            &json!(null),
        );
        assert_eq!(
            out,
            "\\@Ana Lima \\@Bob \\[Admin\\] \\@Bob \\[Admin\\] \\@carol \\@0000aaaa… \\@everyone"
        );
        assert_safe(&out);
    }

    #[test]
    fn attachments_link_when_known() {
        let files = json!([{"filename": "shot.png", "content": "https://j.test/secure/attachment/1/shot.png"}]);
        let out = to_markdown(
            "!shot.png|thumbnail! !other.pdf! [^shot.png] !http://h.test/a/y.png?x=1! wow! so! !not an image!",
            &json!([]),
            &files,
        );
        assert_eq!(
            out,
            "📎 [shot.png](https://j.test/secure/attachment/1/shot.png) 📎 other.pdf \
             📎 [shot.png](https://j.test/secure/attachment/1/shot.png) \
             📎 [y.png](http://h.test/a/y.png?x=1) wow! so! !not an image!"
        );
    }

    #[test]
    fn tables_become_labelled_rows() {
        assert_eq!(
            md("||Name||Link||\n|a|[x|http://x.test]|\n| |c|"),
            "Name: a · Link: [x](http://x.test)\nLink: c"
        );
        assert_eq!(md("|a|b|\n|c|d|"), "a · b\nc · d");
        assert_eq!(md("||only||headers||"), "**only · headers**");
        let long = format!("||{}||b||\n|1|2|", "h".repeat(300));
        assert_eq!(md(&long), format!("**{} · b**\n1 · 2", "h".repeat(300)));
    }

    #[test]
    fn emoticons_and_escapes() {
        assert_eq!(
            md("(/) (x) (!) (?) (i) (y) (n) (on) (off) (*) :) :( :P :D ;) f(x) x:Data"),
            "✅ ❌ ⚠️ ❓ ℹ️ 👍 👎 💡 🔅 ⭐ 🙂 🙁 😛 😀 😉 f(x) x:Data"
        );
        assert_eq!(
            md("\\*not bold\\* \\{x\\} \\[y\\] \\"),
            "\\*not bold\\* {x} \\[y\\] \\\\"
        );
    }

    #[test]
    fn hostile_input_is_shown_not_obeyed() {
        let inputs = [
            "@everyone @here <b>x</b> <!channel> {{x}} [a](javascript:alert(1))".to_string(),
            "{{@everyone}} *@here* [~@everyone] [@channel|http://x.test] !@here.png!".to_string(),
            "{{unclosed {{x}}} }} {code}```\n{{y}}\n```{code}".to_string(),
            "[[[[".repeat(25_000),
            "*_".repeat(20_000),
            "{{".repeat(30_000),
            "{a".repeat(30_000),
            "!a ".repeat(30_000),
            "* x *".repeat(20_000),
            "|[".repeat(30_000),
            format!("{}x{}", "*_-+^~".repeat(5_000), "~^+-_*".repeat(5_000)),
            "\u{1}\r\n\u{7f}x".to_string(),
            "{-{x- @*everyone* @_here_ x\\@{{everyone}} {{a@}}here".to_string(),
        ];
        for input in &inputs {
            let out = md(input);
            assert_safe(&out);
            assert!(out.len() < input.len() * 4 + 100);
        }
        assert!(md(&inputs[0]).contains("\\<b\\>x\\</b\\>"));
    }

    /// A real Jira Cloud comment: zulip/zulip
    /// zerver/webhooks/jira/fixtures/commented_markup_v2.json (comment.body).
    #[test]
    fn real_comment_with_code_links_and_quote() {
        let body = "This is a comment that likes to *exercise* a lot of _different_ {{conventions}} that {{jira uses}}.\r\n\r\n{noformat}\r\nthis code is not highlighted, but monospaced\r\n{noformat}\r\n\r\n{code:python}\r\ndef python():\r\n    print \"likes to be formatted\"\r\n{code}\r\n\r\n[http://www.google.com] is a bare link, and [Google|http://www.google.com] is given a title.\r\n\r\nThanks!\r\n\r\n{quote}\r\nSomeone said somewhere\r\n{quote}";
        assert_eq!(
            md(body),
            "This is a comment that likes to **exercise** a lot of _different_ `conventions` that `jira uses`.\n\n\
             ```\nthis code is not highlighted, but monospaced\n```\n\n\
             ```python\ndef python():\n    print \"likes to be formatted\"\n```\n\n\
             [http://www.google.com](http://www.google.com) is a bare link, and [Google](http://www.google.com) is given a title.\n\n\
             Thanks!\n\n> Someone said somewhere"
        );
    }

    /// A real Jira Cloud comment mentioning three accounts: zulip/zulip
    /// zerver/webhooks/jira/fixtures/comment_created_with_account_mention.json, with
    /// its author (the first account) as the only person the payload names.
    #[test]
    fn real_comment_with_account_mentions() {
        let body = "[~accountid:619a4432ebce470067f20384] [~accountid:63a22fb348b367d78a14c15b] [~accountid:63a22fb348b367d78a14c15b] ";
        let people = json!([{"accountId": "619a4432ebce470067f20384", "displayName": "Peter"}]);
        assert_eq!(
            to_markdown(body, &people, &json!([])),
            "\\@Peter \\@63a22fb3… \\@63a22fb3…"
        );
    }

    /// A real Jira Cloud description: zulip/zulip
    /// zerver/webhooks/jira/fixtures/commented_markup_v2.json (issue.fields.description).
    #[test]
    fn real_description_with_heading_and_quote() {
        let body = "h1. So this is a heading\r\n\r\nAnd some *bold* **and _bold_?\r\n\r\n{quote}\r\nsome stuff goes here\r\n{quote}";
        assert_eq!(
            md(body),
            "# So this is a heading\n\nAnd some **bold** \\*\\*and _bold_?\n\n> some stuff goes here"
        );
    }

    #[test]
    fn converted_output_reads_well_in_every_dialect() {
        let out = md("h2. Deploy\n* *done* [log|https://ci.test/1]\n{{cmd --x}}");
        assert_eq!(
            markdown::to_slack(&out),
            "*Deploy*\n• *done* <https://ci.test/1|log>\n`cmd --x`"
        );
        assert_eq!(
            markdown::to_plain(&out),
            "Deploy\n• done log (https://ci.test/1)\ncmd --x"
        );
    }
}
