//! The markdown a mapping writes, escaped on the way in and reshaped on the way out.
//!
//! Mappings write CommonMark-flavoured markdown. Chime and the preview show it as it is;
//! RingCentral's mini-markdown differs in a few marks; plain-text fields (titles, card
//! fallbacks) want none. The conversions work line by line and leave payload text
//! alone, so a value holding `"`, `}`, `{{x}}` or a backslash comes out as written.

/// Escapes the characters that would otherwise start markdown formatting, so a payload
/// value shows as the same text.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut line_start = true;
    let mut block_mark = None;
    let mut prev = ' ';
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map_or(' ', |(_, n)| *n);
        if line_start {
            block_mark = block_marker_end(&text[i..]).map(|end| i + end);
        }
        let intraword = c == '_' && prev.is_alphanumeric() && next.is_alphanumeric();
        let inline = matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~'
        );
        if block_mark == Some(i) || (inline && !intraword) {
            out.push('\\');
        }
        out.push(c);
        line_start = c == '\n' || (line_start && c == ' ');
        prev = c;
    }
    out
}

/// For a line that would start a block ("# x", "- x", "> x", "12. x", "3) x"), the
/// offset of the mark to escape. A mark needs a space after it, so "#tag" or "1.0"
/// stay as they are.
fn block_marker_end(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    let (mark, len) = match bytes.first()? {
        b'#' => (0, bytes.iter().take_while(|b| **b == b'#').count()),
        b'-' | b'+' | b'=' => (0, 1),
        _ if digits > 0 && matches!(bytes.get(digits), Some(b'.' | b')')) => (digits, digits + 1),
        _ => return None,
    };
    matches!(bytes.get(len), None | Some(b' ' | b'\t')).then_some(mark)
}

/// Keeps a URL inside `(...)` of a markdown link.
pub fn escape_url(url: &str) -> String {
    url.replace(' ', "%20")
        .replace('(', "\\(")
        .replace(')', "\\)")
}

/// Markdown to plain text: marks and escapes dropped, links as "label (url)".
pub fn to_plain(text: &str) -> String {
    convert(text, &Dialect::PLAIN)
}

/// Markdown to RingCentral's mini-markdown: `**bold**`, `*italic*`, `[a](b)`, `> `,
/// `* ` bullets. `_x_` would underline there, so italics become `*x*`; headings,
/// which it lacks, become bold lines.
pub fn to_ringcentral(text: &str) -> String {
    convert(text, &Dialect::RINGCENTRAL)
}

struct Dialect {
    bold: &'static str,
    italic: &'static str,
    heading_bold: bool,
    links_as_text: bool,
    bullet: &'static str,
    keep_quote: bool,
}

impl Dialect {
    const PLAIN: Dialect = Dialect {
        bold: "",
        italic: "",
        heading_bold: false,
        links_as_text: true,
        bullet: "• ",
        keep_quote: false,
    };
    const RINGCENTRAL: Dialect = Dialect {
        bold: "**",
        italic: "*",
        heading_bold: true,
        links_as_text: false,
        bullet: "* ",
        keep_quote: true,
    };
}

fn convert(text: &str, dialect: &Dialect) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_fence = false;
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue_fence(&mut out, line, dialect);
            continue;
        }
        if in_fence {
            out.push_str(line);
            continue;
        }
        convert_line(&mut out, line, dialect);
    }
    out
}

/// Fence lines carry no text; plain output drops them, dialects keep them.
fn continue_fence(out: &mut String, line: &str, dialect: &Dialect) {
    if dialect.bold.is_empty() {
        return;
    }
    out.push_str(line);
}

fn convert_line(out: &mut String, line: &str, dialect: &Dialect) {
    let trimmed = line.trim_start();
    let indent = &line[..line.len() - trimmed.len()];
    let hashes = trimmed.chars().take_while(|c| *c == '#').count();
    if (1..=6).contains(&hashes) && trimmed[hashes..].starts_with(' ') {
        let title = trimmed[hashes..].trim();
        if dialect.heading_bold {
            out.push_str("**");
            convert_inline(out, title, dialect);
            out.push_str("**");
        } else {
            convert_inline(out, title, dialect);
        }
        return;
    }
    out.push_str(indent);
    let mut rest = trimmed;
    if let Some(item) = rest
        .strip_prefix("- ")
        .or_else(|| rest.strip_prefix("* "))
        .or_else(|| rest.strip_prefix("+ "))
    {
        out.push_str(dialect.bullet);
        rest = item;
    } else if let Some(quote) = rest.strip_prefix("> ").or_else(|| rest.strip_prefix('>')) {
        if dialect.keep_quote {
            out.push_str("> ");
        }
        rest = quote;
    }
    convert_inline(out, rest, dialect);
}

/// Rewrites emphasis marks, links and escapes in one left-to-right pass; anything it
/// does not recognise is copied as it stands.
fn convert_inline(out: &mut String, text: &str, dialect: &Dialect) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let c = rest.chars().next().unwrap_or('\0');
        match c {
            '\\' => {
                let next = rest[1..].chars().next();
                match next {
                    Some(n) if n.is_ascii_punctuation() => {
                        out.push(n);
                        i += 1 + n.len_utf8();
                    }
                    _ => {
                        out.push('\\');
                        i += 1;
                    }
                }
            }
            '`' => {
                let close = rest[1..].find('`').map(|p| p + 1);
                match close {
                    Some(end) => {
                        let code = &rest[..=end];
                        if dialect.bold.is_empty() {
                            out.push_str(&code[1..code.len() - 1]);
                        } else {
                            out.push_str(code);
                        }
                        i += end + 1;
                    }
                    None => {
                        out.push('`');
                        i += 1;
                    }
                }
            }
            '[' | '!' => match parse_link(rest) {
                Some(link) => {
                    emit_link(out, &link, dialect);
                    i += link.len;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            },
            '*' | '_' => {
                let run = bytes[i..].iter().take_while(|b| **b == c as u8).count();
                let mark = if run >= 2 {
                    dialect.bold
                } else {
                    dialect.italic
                };
                // Underscores inside words (snake_case) are not emphasis in CommonMark.
                let inside_word = c == '_'
                    && i > 0
                    && bytes[i - 1].is_ascii_alphanumeric()
                    && bytes
                        .get(i + run)
                        .is_some_and(|b| b.is_ascii_alphanumeric());
                if inside_word {
                    out.push_str(&rest[..run]);
                } else {
                    out.push_str(mark);
                    if run > 2 {
                        out.push_str(dialect.italic);
                    }
                }
                i += run;
            }
            _ => {
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
}

struct Link<'a> {
    image: bool,
    label: &'a str,
    url: &'a str,
    len: usize,
}

/// `[label](url)` or `![alt](url)`, with brackets in the label balanced and escapes
/// honoured, so a link is never split apart.
fn parse_link(text: &str) -> Option<Link<'_>> {
    let image = text.starts_with('!');
    let open = usize::from(image);
    if !text[open..].starts_with('[') {
        return None;
    }
    let label_end = matching(text, open, b'[', b']')?;
    if text.as_bytes().get(label_end + 1) != Some(&b'(') {
        return None;
    }
    let url_end = matching(text, label_end + 1, b'(', b')')?;
    Some(Link {
        image,
        label: &text[open + 1..label_end],
        url: &text[label_end + 2..url_end],
        len: url_end + 1,
    })
}

/// Index of the bracket closing the one at `start`, skipping escaped characters.
pub(crate) fn matching(text: &str, start: usize, open: u8, close: u8) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b if b == open => depth += 1,
            b if b == close => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn emit_link(out: &mut String, link: &Link, dialect: &Dialect) {
    let url = unescape(link.url);
    let mut label = String::new();
    convert_inline(&mut label, link.label, dialect);
    if dialect.links_as_text {
        if label.is_empty() || label == url {
            out.push_str(&url);
        } else {
            out.push_str(&format!("{label} ({url})"));
        }
    } else {
        let label = if link.image && label.is_empty() {
            url.clone()
        } else {
            label
        };
        out.push_str(&format!("[{label}]({})", escape_url(&url)));
    }
}

/// Drops the backslash of each markdown escape.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match chars.peek() {
            Some(n) if c == '\\' && n.is_ascii_punctuation() => {}
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_makes_values_literal() {
        assert_eq!(escape("a*b_c [x](y) <b>"), "a\\*b_c \\[x\\](y) \\<b\\>");
        assert_eq!(escape("# not a heading"), "\\# not a heading");
        assert_eq!(escape("1. one\n- two"), "1\\. one\n\\- two");
        assert_eq!(escape("v1.2 - ok"), "v1.2 - ok");
        assert_eq!(escape("1.0 #tag -x snake_case"), "1.0 #tag -x snake_case");
        assert_eq!(escape("_lead and trail_"), "\\_lead and trail\\_");
        assert_eq!(escape("C:\\dir"), "C:\\\\dir");
    }

    #[test]
    fn escaped_text_comes_back_unchanged_in_plain() {
        for s in [
            "a*b_c [x](y) <b>",
            "{{x}} \"}",
            "C:\\dir",
            "1. one",
            "👍 emoji_ok",
        ] {
            assert_eq!(to_plain(&escape(s)), s);
        }
    }

    #[test]
    fn plain_drops_marks_and_spells_out_links() {
        assert_eq!(
            to_plain("**[ABC-1](https://j.test/ABC-1)** _Fix_ `code`"),
            "ABC-1 (https://j.test/ABC-1) Fix code"
        );
        assert_eq!(
            to_plain("## Title\n- item\n> quote"),
            "Title\n• item\nquote"
        );
        assert_eq!(to_plain("snake_case_name"), "snake_case_name");
    }

    #[test]
    fn ringcentral_swaps_italics_and_headings() {
        assert_eq!(to_ringcentral("_it_ **b** [l](u)"), "*it* **b** [l](u)");
        assert_eq!(to_ringcentral("# Head\n- a"), "**Head**\n* a");
        assert_eq!(to_ringcentral("```\n_x_\n```"), "```\n_x_\n```");
    }

    #[test]
    fn links_with_brackets_and_parens_stay_whole() {
        let md = format!(
            "[{}]({})",
            escape("[x] (y)"),
            escape_url("https://h.test/a_(b)")
        );
        assert_eq!(to_plain(&md), "[x] (y) (https://h.test/a_(b))");
    }
}
