//! One left-to-right pass over markdown that rewrites its marks into a dialect.

/// How a chat service writes what CommonMark writes one way.
pub(super) struct Dialect {
    bold: &'static str,
    italic: &'static str,
    /// Headings become bold lines (a dialect without headings) or plain lines.
    heading_bold: bool,
    links: Links,
    bullet: &'static str,
    keep_quote: bool,
    /// Backticks and fences stay (plain text drops them).
    keep_code: bool,
    literal: Literal,
}

/// How text that is not markup is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Literal {
    /// `&`, `<` and `>` as entities: Slack reads `<...>` as a link or mention.
    Entities,
    /// A zero-width space after each `<`: Google Chat reads `<...>` as a link or
    /// mention and documents no escape, but takes `<\u{200B}...` for text.
    BrokenAngles,
    /// A zero-width space between a `]` and a `(` of the text: Teams and RingCentral
    /// document no markdown escapes, and `]\u{200B}(` cannot close a link's label.
    BrokenLinks,
}

#[derive(Clone, Copy)]
enum Links {
    /// "label (url)".
    Text,
    /// `[label](url)`.
    Markdown,
    /// `<url|label>`.
    Angle,
}

impl Dialect {
    pub const PLAIN: Dialect = Dialect {
        bold: "",
        italic: "",
        heading_bold: false,
        links: Links::Text,
        bullet: "• ",
        keep_quote: false,
        keep_code: false,
        // Plain text lands in titles and fallbacks some services still read as
        // markdown: a `](` from the text cannot form a link there.
        literal: Literal::BrokenLinks,
    };
    pub const RINGCENTRAL: Dialect = Dialect {
        bold: "**",
        italic: "*",
        heading_bold: true,
        links: Links::Markdown,
        bullet: "* ",
        keep_quote: true,
        keep_code: true,
        literal: Literal::BrokenLinks,
    };
    pub const TEAMS: Dialect = Dialect {
        bold: "**",
        italic: "_",
        heading_bold: true,
        links: Links::Markdown,
        bullet: "- ",
        keep_quote: false,
        keep_code: false,
        literal: Literal::BrokenLinks,
    };
    pub const SLACK: Dialect = Dialect {
        bold: "*",
        italic: "_",
        heading_bold: true,
        links: Links::Angle,
        bullet: "• ",
        keep_quote: true,
        keep_code: true,
        literal: Literal::Entities,
    };
    pub const GOOGLE_CHAT: Dialect = Dialect {
        literal: Literal::BrokenAngles,
        ..Dialect::SLACK
    };
}

pub(super) fn convert(text: &str, dialect: &Dialect) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_fence = false;
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let fence_line = line.trim_start().starts_with("```");
        if fence_line {
            in_fence = !in_fence;
            if dialect.keep_code {
                // No dialect reads a fence's language: Slack would show "java" as
                // the block's first line.
                let marks = line.trim_start();
                let run = marks.bytes().take_while(|b| *b == b'`').count();
                out.push_str(&line[..line.len() - marks.len()]);
                out.push_str(&marks[..run]);
            }
        } else if in_fence {
            push_text(&mut out, line, dialect);
        } else {
            convert_line(&mut out, line, dialect);
        }
    }
    out
}

fn push_text(out: &mut String, text: &str, dialect: &Dialect) {
    for c in text.chars() {
        match (dialect.literal, c) {
            (Literal::Entities, '&') => out.push_str("&amp;"),
            (Literal::Entities, '<') => out.push_str("&lt;"),
            (Literal::Entities, '>') => out.push_str("&gt;"),
            (Literal::BrokenAngles, '<') => out.push_str("<\u{200B}"),
            (Literal::BrokenLinks, '(') if out.ends_with(']') => out.push_str("\u{200B}("),
            (_, c) => out.push(c),
        }
    }
}

fn convert_line(out: &mut String, line: &str, dialect: &Dialect) {
    let trimmed = line.trim_start();
    let indent = &line[..line.len() - trimmed.len()];
    let hashes = trimmed.chars().take_while(|c| *c == '#').count();
    if (1..=6).contains(&hashes) && trimmed[hashes..].starts_with(' ') {
        let title = trimmed[hashes..].trim();
        let mark = if dialect.heading_bold {
            dialect.bold
        } else {
            ""
        };
        out.push_str(mark);
        convert_inline(out, title, dialect);
        out.push_str(mark);
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
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let c = rest.chars().next().unwrap_or('\0');
        i += match c {
            '\\' => escaped(out, rest, dialect),
            '`' => code_span(out, rest, dialect),
            '[' | '!' => match parse_link(rest) {
                Some(link) => {
                    emit_link(out, &link, dialect);
                    link.len
                }
                None => {
                    out.push(c);
                    1
                }
            },
            '*' | '_' => emphasis(out, text, i, c as u8, dialect),
            _ => {
                push_text(out, &rest[..c.len_utf8()], dialect);
                c.len_utf8()
            }
        };
    }
}

/// `\*` and the like: the character itself, as text. Returns the bytes consumed.
fn escaped(out: &mut String, rest: &str, dialect: &Dialect) -> usize {
    match rest[1..].chars().next() {
        Some(n) if n.is_ascii_punctuation() => {
            push_text(out, &rest[1..1 + n.len_utf8()], dialect);
            1 + n.len_utf8()
        }
        _ => {
            out.push('\\');
            1
        }
    }
}

/// `` `code` ``, kept as code where the dialect has it. Returns the bytes consumed.
fn code_span(out: &mut String, rest: &str, dialect: &Dialect) -> usize {
    let Some(end) = rest[1..].find('`').map(|p| p + 1) else {
        out.push('`');
        return 1;
    };
    let tick = if dialect.keep_code { "`" } else { "" };
    out.push_str(tick);
    push_text(out, &rest[1..end], dialect);
    out.push_str(tick);
    end + 1
}

/// A run of `*` or `_` at byte `i` of `text` as the dialect's bold or italic.
/// Returns the bytes consumed.
fn emphasis(out: &mut String, text: &str, i: usize, mark: u8, dialect: &Dialect) -> usize {
    let bytes = text.as_bytes();
    let run = bytes[i..].iter().take_while(|b| **b == mark).count();
    // Underscores inside words (snake_case) are not emphasis in CommonMark.
    let inside_word = mark == b'_'
        && i > 0
        && bytes[i - 1].is_ascii_alphanumeric()
        && bytes
            .get(i + run)
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if inside_word {
        out.push_str(&text[i..i + run]);
    } else {
        out.push_str(if run >= 2 {
            dialect.bold
        } else {
            dialect.italic
        });
        if run > 2 {
            out.push_str(dialect.italic);
        }
    }
    run
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

/// See [`super::drop_unsafe_links`]; code spans and escapes are copied as they are.
pub(super) fn drop_unsafe_links(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(c) = text[i..].chars().next() {
        let rest = &text[i..];
        let taken = match c {
            '\\' => rest.chars().take(2).map(char::len_utf8).sum(),
            '`' => rest[1..].find('`').map_or(1, |end| end + 2),
            '[' | '!' => match parse_link(rest) {
                Some(link) if super::safe_url(&unescape(link.url)).is_none() => {
                    out.push_str(link.label);
                    i += link.len;
                    continue;
                }
                Some(link) => link.len,
                None => 1,
            },
            _ => c.len_utf8(),
        };
        out.push_str(&rest[..taken]);
        i += taken;
    }
    out
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
    let bare = label.is_empty() || label == url;
    match dialect.links {
        Links::Text if bare => out.push_str(&url),
        Links::Text => out.push_str(&format!("{label} ({url})")),
        Links::Markdown => {
            let label = if link.image && label.is_empty() {
                url.clone()
            } else {
                label
            };
            out.push_str(&format!("[{label}]({})", super::escape_url(&url)));
        }
        Links::Angle => {
            out.push('<');
            out.push_str(&angle_url(&url, dialect.literal));
            if !bare {
                out.push('|');
                out.push_str(&label);
            }
            out.push('>');
        }
    }
}

/// A URL inside `<...|...>`: the characters that would end it are percent-encoded and,
/// for Slack, `&` is the entity it reads back as `&`.
fn angle_url(url: &str, literal: Literal) -> String {
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            '&' if literal == Literal::Entities => out.push_str("&amp;"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '|' => out.push_str("%7C"),
            ' ' => out.push_str("%20"),
            c => out.push(c),
        }
    }
    out
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
    use super::super::{escape, escape_url, to_google_chat, to_plain, to_ringcentral, to_slack};

    #[test]
    fn brackets_escapes_and_code_spans_are_read_whole() {
        assert_eq!(
            to_plain("[abc](https://x.test/a)"),
            "abc (https://x.test/a)"
        );
        assert_eq!(to_plain("[a\\]b](https://x.test)"), "a]b (https://x.test)");
        assert_eq!(to_plain("[abc"), "[abc");
        // A link whose label is its URL, or empty, shows the URL once.
        assert_eq!(
            to_plain("[https://x.test](https://x.test)"),
            "https://x.test"
        );
        assert_eq!(to_plain("[](https://x.test)"), "https://x.test");
        assert_eq!(to_plain("[x](https://x.test)"), "x (https://x.test)");
        // An image keeps its alt text as the label; without one, its URL.
        assert_eq!(
            to_ringcentral("![alt](https://x.test/i.png) ![](https://x.test/j.png)"),
            "[alt](https://x.test/i.png) [https://x.test/j.png](https://x.test/j.png)"
        );
        assert_eq!(to_plain("(x"), "(x");
        assert_eq!(to_slack("a\\b"), "a\\b");
        assert_eq!(
            super::drop_unsafe_links("`abcd` [z](javascript:x) `[y](javascript:y)`"),
            "`abcd` z `[y](javascript:y)`"
        );
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
        assert_eq!(to_slack("  ```java\nint x;\n  ```"), "  ```\nint x;\n  ```");
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

    #[test]
    fn slack_marks_links_and_entities() {
        assert_eq!(
            to_slack("# Head\n**b** _i_ [ABC-1](https://j.test/a?x=1&y=2) - ok\n- item\n> quote"),
            "*Head*\n*b* _i_ <https://j.test/a?x=1&amp;y=2|ABC-1> - ok\n• item\n> quote"
        );
        assert_eq!(
            to_slack("`a<b`\n```\nif a < b && c > d\n```"),
            "`a&lt;b`\n```\nif a &lt; b &amp;&amp; c &gt; d\n```"
        );
    }

    #[test]
    fn slack_payload_text_cannot_mention_or_link() {
        let hostile = "<!channel> <https://evil.test|click> a & b @here";
        let shown = to_slack(&escape(hostile));
        assert_eq!(
            shown,
            "&lt;!channel&gt; &lt;https://evil.test|click&gt; a &amp; b @here"
        );
        let label = format!(
            "[{}]({})",
            escape("a|b>c"),
            escape_url("https://h.test/x|y>z")
        );
        assert_eq!(to_slack(&label), "<https://h.test/x%7Cy%3Ez|a|b&gt;c>");
    }

    #[test]
    fn google_chat_breaks_angles_instead_of_escaping() {
        assert_eq!(
            to_google_chat(&format!(
                "**b** [l](https://h.test/?a=1&b=2) {}",
                escape("<users/all> & >")
            )),
            "*b* <https://h.test/?a=1&b=2|l> <\u{200B}users/all> & >"
        );
    }

    #[test]
    fn teams_payload_text_cannot_make_a_link() {
        let text = format!(
            "[ok](https://h.test) {}",
            escape("[click](https://evil.test)")
        );
        assert_eq!(
            super::super::to_teams(&text),
            "[ok](https://h.test) [click]\u{200B}(https://evil.test)"
        );
    }
}
