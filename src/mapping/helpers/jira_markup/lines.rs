//! The markdown side shared by wiki markup and ADF: payload text escaped, links kept
//! only to safe URLs, code that cannot close its span or fence, tables as lines, and a
//! line buffer that never indents or quotes a code block.

use crate::markdown;

/// Longest attachment URL a `!file.png!` may expand into.
pub(super) const MAX_URL: usize = 2048;
/// Header labels are repeated before every cell only while they are this short together.
const MAX_HEADERS: usize = 200;

/// Payload text as markdown that shows it literally.
pub(crate) fn text(raw: &str) -> String {
    markdown::escape(raw)
}

/// Inline code, or the text escaped where it cannot be a span.
pub(crate) fn code_span(raw: &str) -> String {
    markdown::code_span(raw).unwrap_or_else(|| text(raw))
}

/// `[label](url)` for a URL a message may carry, else the label alone.
pub(crate) fn link_md(label: &str, url: &str) -> String {
    let label = if label.trim().is_empty() { url } else { label };
    match markdown::safe_url(url) {
        Some(safe) if safe.len() <= MAX_URL => format!("[{}]({safe})", text(label)),
        _ => text(label),
    }
}

/// A short stand-in for someone whose name the payload does not give: an account id
/// (`557058:f58131cb-...`) is cut to its first characters, a user name kept.
pub(crate) fn short_handle(handle: &str) -> String {
    let id = strip_prefix_ignore_case(handle.trim(), "accountid:").unwrap_or(handle.trim());
    let opaque = id.contains(':') || (id.len() >= 20 && id.bytes().any(|b| b.is_ascii_digit()));
    let tail = if opaque {
        id.rsplit(':').next().unwrap_or(id)
    } else {
        id
    };
    let keep = if opaque { 8 } else { 64 };
    let mut short: String = tail.chars().take(keep).collect();
    if short.len() < tail.len() {
        short.push('…');
    }
    short
}

pub(super) fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// One table cell, already markdown.
pub(crate) struct Cell {
    pub(crate) header: bool,
    pub(crate) text: String,
}

/// Tables have no place in the subset: each data row becomes one line, its cells
/// labelled by the header row ("Name: a · Size: b") while the labels are short.
pub(crate) fn table_lines(rows: &[Vec<Cell>]) -> Vec<String> {
    let is_header = |row: &Vec<Cell>| !row.is_empty() && row.iter().all(|c| c.header);
    let labels = rows.first().filter(|row| is_header(row));
    let body = &rows[usize::from(labels.is_some())..];
    let short =
        labels.is_some_and(|l| l.iter().map(|c| c.text.len()).sum::<usize>() <= MAX_HEADERS);
    let joined = |row: &[Cell]| {
        let cells: Vec<&str> = row
            .iter()
            .map(|c| c.text.trim())
            .filter(|t| !t.is_empty())
            .collect();
        cells.join(" · ")
    };
    let mut out = Vec::new();
    if let Some(labels) = labels.filter(|_| !short || body.is_empty()) {
        out.push(format!("**{}**", joined(labels)));
    }
    for row in body {
        let line = match labels {
            Some(labels) if short && !is_header(row) => labelled(labels, row),
            _ => joined(row),
        };
        if !line.is_empty() {
            out.push(line);
        }
    }
    out
}

fn labelled(labels: &[Cell], row: &[Cell]) -> String {
    let pairs: Vec<String> = row
        .iter()
        .enumerate()
        .filter(|(_, cell)| !cell.text.trim().is_empty())
        .map(|(k, cell)| match labels.get(k).map(|l| l.text.trim()) {
            Some(label) if !label.is_empty() => format!("{label}: {}", cell.text.trim()),
            _ => cell.text.trim().to_string(),
        })
        .collect();
    pairs.join(" · ")
}

/// A line of output; code lines (fences and their content) are never prefixed or
/// re-indented, since a `> ` before a fence would let its content read as markdown.
struct Line {
    text: String,
    code: bool,
}

/// Markdown being built line by line, without runs of blank lines.
#[derive(Default)]
pub(crate) struct Lines(Vec<Line>);

impl Lines {
    /// Adds text that may hold several lines; an empty one stands for a blank line.
    pub(crate) fn push(&mut self, text: &str) {
        for line in text.split('\n') {
            let line = line.trim_end();
            if line.trim().is_empty() {
                self.blank();
            } else {
                self.0.push(Line {
                    text: line.to_string(),
                    code: false,
                });
            }
        }
    }

    pub(crate) fn blank(&mut self) {
        if self.0.last().is_some_and(|l| l.code || !l.text.is_empty()) {
            self.0.push(Line {
                text: String::new(),
                code: false,
            });
        }
    }

    /// A fenced block whose content cannot end it: a line that would read as a fence
    /// gets a zero-width space first, the fence outruns every backtick run inside,
    /// and mentions and `{{` are broken.
    pub(crate) fn code(&mut self, lang: &str, body: &str) {
        let body = body.trim_matches('\n').trim_end();
        if body.trim().is_empty() {
            return;
        }
        let safe = markdown::break_mentions(body);
        let longest = safe.split(|c| c != '`').map(str::len).max().unwrap_or(0);
        let fence = "`".repeat(longest.max(2) + 1);
        let info: String = lang
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "+#-_.".contains(*c))
            .take(20)
            .collect();
        self.blank();
        self.push_code(format!("{fence}{info}"));
        for line in safe.split('\n') {
            let fence_like = ["```", "~~~"]
                .iter()
                .any(|f| line.trim_start().starts_with(f));
            let guard = if fence_like { "\u{200B}" } else { "" };
            self.push_code(format!("{guard}{}", line.trim_end()));
        }
        self.push_code(fence);
        self.blank();
    }

    fn push_code(&mut self, text: String) {
        self.0.push(Line { text, code: true });
    }

    /// Appends `inner` with `first` before its first line and `rest` before the others
    /// (a list marker and its indent, or `> `); its blank lines are dropped.
    pub(crate) fn nest(&mut self, inner: Lines, first: &str, rest: &str) {
        let mut prefix = first;
        for line in inner.0 {
            if line.code {
                self.0.push(line);
            } else if !line.text.is_empty() {
                self.0.push(Line {
                    text: format!("{prefix}{}", line.text),
                    code: false,
                });
                prefix = rest;
            }
        }
    }

    /// Whether the first line is a plain one a prefix can go before without turning
    /// a heading, list item or quote into text.
    pub(crate) fn starts_plain(&self) -> bool {
        self.0
            .iter()
            .find(|l| l.code || !l.text.is_empty())
            .is_some_and(|l| {
                let t = l.text.as_str();
                let numbered = t
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .starts_with(". ");
                !l.code && !numbered && !["#", "- ", "> ", "**"].iter().any(|m| t.starts_with(m))
            })
    }

    /// The markdown, template braces broken wherever they formed.
    pub(crate) fn finish(mut self) -> String {
        while self.0.last().is_some_and(|l| !l.code && l.text.is_empty()) {
            self.0.pop();
        }
        let lines: Vec<String> = self.0.into_iter().map(|l| l.text).collect();
        markdown::break_braces(&lines.join("\n"))
    }
}
