//! The markdown a mapping writes, escaped on the way in and reshaped on the way out.
//!
//! Mappings write CommonMark-flavoured markdown. Chime, Discord, Mattermost and the
//! preview show it as it is; RingCentral, Slack and Google Chat each speak a dialect
//! with other marks; plain-text fields (titles, card fallbacks) want none. The
//! conversions work line by line and leave payload text alone, so a value holding `"`,
//! `}`, `{{x}}`, `<!channel>` or a backslash comes out as written.

mod convert;
mod excerpt;
mod gfm;

pub(crate) use convert::matching;
use convert::Dialect;
pub use excerpt::excerpt;
pub use gfm::to_markdown as from_gfm;

/// Escapes the characters that would otherwise start markdown formatting, so a payload
/// value shows as the same text. An `@` starting a word is escaped too: converters
/// turn it into an `@` that no chat service takes for a mention, so a payload saying
/// "@everyone" cannot page a whole channel.
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
        // An `@` ending the text is escaped too: converters build output from pieces,
        // and the next one may start with "everyone".
        let last = i + c.len_utf8() == text.len();
        let mention = c == '@'
            && (last
                || (next.is_alphanumeric()
                    && (!prev.is_alphanumeric() || names_everyone(&text[i + 1..]))));
        if block_mark == Some(i) || (inline && !intraword) || mention {
            out.push('\\');
        }
        out.push(c);
        // The converters trim any whitespace before a block mark (a tab, a no-break
        // space), so any whitespace keeps a line at its start.
        line_start = c == '\n' || (line_start && c.is_whitespace());
        prev = c;
    }
    out
}

/// Discord and Mattermost page a whole channel for these even inside a word.
fn names_everyone(rest: &str) -> bool {
    ["everyone", "here", "channel", "all"].iter().any(|word| {
        rest.get(..word.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(word))
    })
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

/// A card's link as a valid URI reference: payload text inside it (spaces, quotes,
/// brackets, non-ASCII) is percent-encoded, since a card service refuses the whole
/// card over one malformed `url`. Existing `%XX` escapes and the first `#` are kept.
pub fn uri_reference(url: &str) -> String {
    let bytes = url.as_bytes();
    let mut out = String::with_capacity(url.len());
    let mut in_fragment = false;
    for (i, &byte) in bytes.iter().enumerate() {
        let escape_start = byte == b'%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        let kept = match byte {
            b'#' if !in_fragment => {
                in_fragment = true;
                true
            }
            b'%' => escape_start,
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => true,
            _ => b"-._~!$&'()*+,;=:@/?".contains(&byte),
        };
        if kept {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A URL from a payload as a link may hold it: only `http`, `https` and `mailto`
/// (anything else, `javascript:` first, is `None`), trimmed, percent-encoded where
/// payload text could end a markdown or mrkdwn link early (`( ) < > | [ ]`, spaces)
/// and `@`, which could put another host in the link's userinfo or, in a `mailto`,
/// read as a mention.
pub fn safe_url(url: &str) -> Option<String> {
    let url = url.trim();
    let scheme = url.split_once(':')?.0.to_ascii_lowercase();
    if !matches!(scheme.as_str(), "http" | "https" | "mailto") {
        return None;
    }
    // `%40` in a mailto link too: a mail client decodes it, and Discord or Mattermost
    // would read `mailto:@everyone` as a mention.
    Some(
        uri_reference(url)
            .replace('(', "%28")
            .replace(')', "%29")
            .replace('@', "%40"),
    )
}

/// Rewrites every `[label](target)` whose target [`safe_url`] refuses (or that is
/// empty) as its label alone: a message never carries a link it did not mean to.
pub fn drop_unsafe_links(text: &str) -> String {
    convert::drop_unsafe_links(text)
}

/// Markdown to plain text: marks and escapes dropped, links as "label (url)".
pub fn to_plain(text: &str) -> String {
    convert::convert(text, &Dialect::PLAIN)
}

/// Markdown to RingCentral's mini-markdown: `**bold**`, `*italic*`, `[a](b)`, `> `,
/// `* ` bullets. `_x_` would underline there, so italics become `*x*`; headings,
/// which it lacks, become bold lines.
pub fn to_ringcentral(text: &str) -> String {
    convert::convert(text, &Dialect::RINGCENTRAL)
}

/// Markdown to Slack's mrkdwn: `*bold*`, `_italic_`, `<url|label>`, `• ` bullets, and
/// `&`, `<`, `>` as entities, so payload text can never form a link or a mention.
pub fn to_slack(text: &str) -> String {
    convert::convert(text, &Dialect::SLACK)
}

/// Markdown to the subset a Teams TextBlock reads: bold, italics, links and lists, no
/// headings (made bold), no code marks.
pub fn to_teams(text: &str) -> String {
    convert::convert(text, &Dialect::TEAMS)
}

/// Markdown to Google Chat's text format, which marks text and links the way Slack
/// does; a `<` from the text gets a zero-width space after it, so it cannot open a
/// link or a mention such as `<users/all>`.
pub fn to_google_chat(text: &str) -> String {
    convert::convert(text, &Dialect::GOOGLE_CHAT)
}

/// Markdown for services that read CommonMark themselves (Chime, Discord, Mattermost):
/// unchanged, except that an escaped `@` (from a payload) gets a zero-width space after
/// it, which those services do not take for a mention.
pub fn guard_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some('@')) => {
                chars.next();
                out.push_str("@\u{200B}");
            }
            ('\\', Some(&next)) => {
                chars.next();
                out.push(c);
                out.push(next);
            }
            _ => out.push(c),
        }
    }
    out
}

/// A zero-width space inside every `{{` and `}}`, so text converted from a payload body
/// never reads as a template expression, even where two converted pieces meet.
pub(crate) fn break_braces(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut prev = '\0';
    for c in text.chars() {
        if matches!(c, '{' | '}') && c == prev {
            out.push('\u{200B}');
        }
        out.push(c);
        prev = c;
    }
    out
}

/// Payload text as an inline code span, when it can be one: the converters end a span
/// at the next backtick and a line, so text holding either (or only blanks) is `None`
/// and is shown escaped instead.
pub(crate) fn code_span(raw: &str) -> Option<String> {
    if raw.trim().is_empty() || raw.contains(['`', '\n']) {
        return None;
    }
    Some(format!("`{}`", break_mentions(raw)))
}

/// Plain text (a title, a field name) where a service might still take `@name` for a
/// mention: every `@` before a word gets a zero-width space after it.
pub fn break_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '@' && chars.peek().is_some_and(|n| n.is_alphanumeric()) {
            out.push('\u{200B}');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_block_markers_are_escaped() {
        assert_eq!(escape("7. dwarves"), "7\\. dwarves");
        assert_eq!(escape("7) dwarves"), "7\\) dwarves");
        assert_eq!(escape("7 dwarves"), "7 dwarves");
        assert_eq!(escape("7.5 dwarves"), "7.5 dwarves");
        assert_eq!(escape(". dot"), ". dot");
        assert_eq!(to_slack("#hashtag and ##two"), "#hashtag and ##two");
        assert_eq!(escape("\t- item"), "\t\\- item");
        assert_eq!(escape("\u{a0}# title"), "\u{a0}\\# title");
    }

    #[test]
    fn an_at_ending_the_text_is_escaped_for_the_piece_after_it() {
        assert_eq!(escape("cc @"), "cc \\@");
        assert_eq!(escape("ops@"), "ops\\@");
        assert_eq!(escape("ops@x.test"), "ops@x.test");
    }

    #[test]
    fn an_escaped_backslash_does_not_guard_the_at_after_it() {
        // `\\@b`: a literal backslash, then a mention the template wrote.
        assert_eq!(guard_mentions("\\\\@b \\*"), "\\\\@b \\*");
        assert_eq!(guard_mentions("\\@b"), "@\u{200B}b");
    }

    #[test]
    fn plain_mentions_are_broken() {
        assert_eq!(
            break_mentions("@channel, ops@x.test @ 2"),
            "@\u{200B}channel, ops@\u{200B}x.test @ 2"
        );
    }

    #[test]
    fn a_safe_url_is_http_or_mail_and_cannot_end_a_link() {
        assert_eq!(
            safe_url(" https://x.test/tree/fix)@everyone [a]|b<c> "),
            Some("https://x.test/tree/fix%29%40everyone%20%5Ba%5D%7Cb%3Cc%3E".into())
        );
        assert_eq!(
            safe_url("HTTPS://google.com@evil.test/"),
            Some("HTTPS://google.com%40evil.test/".into())
        );
        assert_eq!(
            safe_url("mailto:ops@x.test"),
            Some("mailto:ops%40x.test".into())
        );
        for refused in [
            "javascript:alert(1)",
            "data:text/html,x",
            "/relative",
            "",
            "x",
        ] {
            assert_eq!(safe_url(refused), None, "{refused}");
        }
    }

    #[test]
    fn links_to_refused_targets_keep_only_their_label() {
        assert_eq!(
            drop_unsafe_links("see [x](javascript:alert(1)) and [y]() or [z](https://ok.test/a)"),
            "see x and y or [z](https://ok.test/a)"
        );
        assert_eq!(
            drop_unsafe_links("a [b] (c) \\[d](e)"),
            "a [b] (c) \\[d](e)"
        );
    }

    #[test]
    fn a_uri_reference_encodes_payload_text_and_keeps_escapes() {
        assert_eq!(
            uri_reference("https://j.test/browse/A 1?q=\"x\"#top#[b]"),
            "https://j.test/browse/A%201?q=%22x%22#top%23%5Bb%5D"
        );
        assert_eq!(uri_reference("/a%2Fb%zz/Ж"), "/a%2Fb%25zz/%D0%96");
        // An escape is kept only when both of the next two characters are hex digits.
        assert_eq!(uri_reference("/%41 xy/%4G1 %"), "/%41%20xy/%254G1%20%25");
        assert_eq!(uri_reference("ab/%4G5"), "ab/%254G5");
        assert_eq!(
            uri_reference("https://x.test/a_(b)"),
            "https://x.test/a_(b)"
        );
    }

    #[test]
    fn escape_makes_values_literal() {
        assert_eq!(escape("a*b_c [x](y) <b>"), "a\\*b_c \\[x\\](y) \\<b\\>");
        assert_eq!(escape("# not a heading"), "\\# not a heading");
        assert_eq!(escape("1. one\n- two"), "1\\. one\n\\- two");
        assert_eq!(escape("v1.2 - ok"), "v1.2 - ok");
        assert_eq!(escape("1.0 #tag -x snake_case"), "1.0 #tag -x snake_case");
        assert_eq!(escape("_lead and trail_"), "\\_lead and trail\\_");
        assert_eq!(escape("C:\\dir"), "C:\\\\dir");
        assert_eq!(
            escape("@here ana@x.test (@all) @ 1 foo@everyone"),
            "\\@here ana@x.test (\\@all) @ 1 foo\\@everyone"
        );
    }

    #[test]
    fn escaped_text_comes_back_unchanged_in_plain() {
        // Except that a `](` cannot form a link where plain text is read as markdown.
        assert_eq!(to_plain(&escape("a [x](y)")), "a [x]\u{200B}(y)");
        for s in [
            "a*b_c [x] (y) <b>",
            "{{x}} \"}",
            "C:\\dir",
            "1. one",
            "👍 emoji_ok",
            "@everyone ana@x.test",
        ] {
            assert_eq!(to_plain(&escape(s)), s);
        }
    }

    #[test]
    fn payload_mentions_are_broken_only_where_they_came_from_a_payload() {
        let text = format!("@All look: {}", escape("@everyone \\@x"));
        assert_eq!(
            guard_mentions(&text),
            "@All look: @\u{200B}everyone \\\\@\u{200B}x"
        );
    }
}
