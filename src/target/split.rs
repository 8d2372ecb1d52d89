//! Fitting markdown into a size budget: ordered, numbered parts or one trimmed part.
//! Cuts fall at line ends where they can, and never inside a link, right after an
//! escaping backslash, or inside a code fence left open (it is closed and reopened).

use super::{Options, Overflow};
use crate::markdown;

/// How a service counts a message's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Bytes the text takes inside a JSON string (escapes included).
    JsonBytes,
    Chars,
}

impl Measure {
    pub fn of(self, text: &str) -> usize {
        match self {
            Measure::Chars => text.chars().count(),
            Measure::JsonBytes => text.chars().map(json_len).sum(),
        }
    }

    fn of_char(self, c: char) -> usize {
        match self {
            Measure::Chars => 1,
            Measure::JsonBytes => json_len(c),
        }
    }
}

/// The bytes serde_json writes for `c` inside a string.
fn json_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if u32::from(c) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

const FENCE_CLOSE: &str = "\n```";

/// `text` as parts, each within `budget` by `measure`, following `options`.
pub fn fit(text: &str, budget: usize, measure: Measure, options: &Options) -> Vec<String> {
    if measure.of(text) <= budget {
        return vec![text.to_string()];
    }
    let max_parts = match options.overflow {
        Overflow::Trim => 1,
        Overflow::Split => options.max_parts.max(1),
    };
    if max_parts == 1 {
        return vec![fit_one(text, budget, measure)];
    }
    let numbering = measure.of(&format!("\n({max_parts}/{max_parts})"));
    let budget = budget.saturating_sub(numbering);
    let mut parts = pack(text, budget, measure);
    if parts.len() > max_parts {
        let last = &parts[max_parts - 1];
        let trimmed = trim(&text[last.start..], last.fence, budget, measure);
        parts.truncate(max_parts - 1);
        parts.push(Part {
            start: 0,
            fence: None,
            text: trimmed,
        });
    }
    let count = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(i, part)| format!("{}\n({}/{count})", part.text, i + 1))
        .collect()
}

/// `text` (markdown) split into parts, each `shape`d into its final form (a body, or
/// the part in a service's dialect) whose `size` is within `budget`. The cuts are made
/// in markdown, where links and escapes are known, so none lands inside an entity or a
/// link the dialect writes; when a final form is larger than its part, the text is
/// split again with a budget smaller in proportion.
pub fn fit_shaped<T>(
    text: &str,
    budget: usize,
    measure: Measure,
    options: &Options,
    shape: impl Fn(&str) -> T,
    size: impl Fn(&T) -> usize,
) -> Vec<T> {
    let mut inner = budget;
    loop {
        let shaped: Vec<T> = fit(text, inner, measure, options)
            .iter()
            .map(|part| shape(part))
            .collect();
        let largest = shaped.iter().map(&size).max().unwrap_or(0);
        if largest <= budget || inner <= 1 {
            return shaped;
        }
        inner = (inner * budget / largest).min(inner - 1);
    }
}

/// [`fit_shaped`] for text that goes out converted to a dialect: the converted parts.
pub fn fit_converted(
    text: &str,
    budget: usize,
    measure: Measure,
    options: &Options,
    convert: impl Fn(&str) -> String,
) -> Vec<String> {
    fit_shaped(text, budget, measure, options, convert, |part| {
        measure.of(part)
    })
}

/// One converted part within `budget`, trimmed with "…and N more lines" if need be.
pub fn fit_one_converted(
    text: &str,
    budget: usize,
    measure: Measure,
    convert: impl Fn(&str) -> String,
) -> String {
    let trim = Options {
        overflow: Overflow::Trim,
        ..Options::default()
    };
    fit_converted(text, budget, measure, &trim, convert)
        .pop()
        .unwrap_or_default()
}

/// One line of plain text within `budget`, cut at a character and ended with "…".
pub fn clip(text: &str, budget: usize, measure: Measure) -> String {
    if measure.of(text) <= budget {
        return text.to_string();
    }
    let room = budget.saturating_sub(measure.of("…"));
    let mut size = 0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        size += measure.of_char(c);
        if size > room {
            break;
        }
        end = i + c.len_utf8();
    }
    format!("{}…", &text[..end])
}

/// `text` as one part within `budget`: whole when it fits, else trimmed.
pub fn fit_one(text: &str, budget: usize, measure: Measure) -> String {
    if measure.of(text) <= budget {
        text.to_string()
    } else {
        trim(text, None, budget, measure)
    }
}

struct Part<'a> {
    /// Where this part's own content begins in the whole text.
    start: usize,
    /// The fence this part reopens, when the previous one ended inside it.
    fence: Option<&'a str>,
    text: String,
}

/// Greedy packing, line by line; a line longer than a whole part is cut.
fn pack(text: &str, budget: usize, measure: Measure) -> Vec<Part<'_>> {
    let mut parts = Vec::new();
    let mut current = Part {
        start: 0,
        fence: None,
        text: String::new(),
    };
    let mut size = 0;
    let mut fence: Option<&str> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let mut rest = line.trim_end_matches('\n');
        let mut rest_start = offset;
        offset += line.len();
        loop {
            let fence_after = fence_state(fence, rest);
            let separator = usize::from(!current.text.is_empty()) * measure.of("\n");
            let close = fence_after.map_or(0, |_| measure.of(FENCE_CLOSE));
            let need = separator + measure.of(rest);
            if size + need + close <= budget {
                if separator > 0 {
                    current.text.push('\n');
                }
                current.text.push_str(rest);
                size += need;
                fence = fence_after;
                break;
            }
            let holds_content = current.text.len() > current.fence.map_or(0, str::len);
            if !holds_content {
                let room = budget.saturating_sub(
                    size + separator + fence.map_or(0, |_| measure.of(FENCE_CLOSE)),
                );
                let end = safe_cut(rest, room, measure);
                if separator > 0 {
                    current.text.push('\n');
                }
                current.text.push_str(&rest[..end]);
                if end == rest.len() {
                    size = measure.of(&current.text);
                    fence = fence_after;
                    break;
                }
                rest = &rest[end..];
                rest_start += end;
            }
            parts.push(finish(current, fence));
            current = Part {
                start: rest_start,
                fence,
                text: fence.map(str::to_string).unwrap_or_default(),
            };
            size = measure.of(&current.text);
        }
    }
    parts.push(finish(current, fence));
    parts
}

fn finish<'a>(mut part: Part<'a>, fence: Option<&str>) -> Part<'a> {
    if fence.is_some() {
        part.text.push_str(FENCE_CLOSE);
    }
    part
}

/// The open fence line after `line`: "```lang" opens one, "```" closes it.
fn fence_state<'a>(open: Option<&'a str>, line: &'a str) -> Option<&'a str> {
    match (open, line.trim_start().starts_with("```")) {
        (None, true) => Some(line),
        (Some(_), true) => None,
        (open, false) => open,
    }
}

/// One part: the lines that fit, then "…and N more lines".
fn trim(text: &str, reopen: Option<&str>, budget: usize, measure: Measure) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = reopen.map(str::to_string).unwrap_or_default();
    let mut size = measure.of(&out);
    let mut fence = reopen;
    let mut kept = 0;
    for (i, line) in lines.iter().enumerate() {
        let fence_after = fence_state(fence, line);
        let marker = more_lines(lines.len() - i - 1);
        let close = fence_after.map_or(0, |_| measure.of(FENCE_CLOSE));
        let need = measure.of("\n") + measure.of(line) + close + measure.of(&marker);
        if size + need > budget {
            break;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
        size += measure.of("\n") + measure.of(line);
        fence = fence_after;
        kept += 1;
    }
    if kept == 0 {
        if let Some(first) = lines.first() {
            let marker = format!("…{}", more_lines(lines.len() - 1));
            let close = fence.map_or(0, |_| measure.of(FENCE_CLOSE));
            let room = budget.saturating_sub(size + measure.of("\n") + close + measure.of(&marker));
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&first[..safe_cut(first, room, measure)]);
            out.push('…');
            kept = 1;
        }
    }
    if fence.is_some() {
        out.push_str(FENCE_CLOSE);
    }
    out.push_str(&more_lines(lines.len() - kept));
    out
}

fn more_lines(count: usize) -> String {
    match count {
        0 => String::new(),
        1 => "\n…and 1 more line".to_string(),
        n => format!("\n…and {n} more lines"),
    }
}

/// The byte length of the longest head of `line` within `budget` that ends neither
/// inside a link nor after an escaping backslash, at a space when one is near. Always
/// at least one character, so packing moves on.
fn safe_cut(line: &str, budget: usize, measure: Measure) -> usize {
    let mut size = 0;
    let mut end = 0;
    for (i, c) in line.char_indices() {
        size += measure.of_char(c);
        if size > budget {
            break;
        }
        end = i + c.len_utf8();
    }
    if end == line.len() {
        return end;
    }
    let hard = end.max(line.chars().next().map_or(0, char::len_utf8));
    if let Some(space) = line[..end].rfind(' ').filter(|s| *s >= end / 2) {
        end = space + 1;
    }
    if let Some(link_start) = link_around(line, end) {
        end = link_start;
    }
    let backslashes = line[..end]
        .bytes()
        .rev()
        .take_while(|b| *b == b'\\')
        .count();
    if backslashes % 2 == 1 {
        end -= 1;
    }
    if end == 0 {
        hard
    } else {
        end
    }
}

/// The start of the `[label](url)` that a cut at `at` would break.
fn link_around(line: &str, at: usize) -> Option<usize> {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < at {
        match bytes[i] {
            b'\\' => i += 2,
            b'[' => {
                let end = markdown::matching(line, i, b'[', b']')
                    .filter(|j| bytes.get(j + 1) == Some(&b'('))
                    .and_then(|j| markdown::matching(line, j + 1, b'(', b')'));
                match end {
                    Some(end) if at <= end => return Some(i),
                    Some(end) => i = end + 1,
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(max_parts: usize) -> Options {
        Options {
            max_size: None,
            overflow: Overflow::Split,
            max_parts,
        }
    }

    fn trimmed() -> Options {
        Options {
            max_size: None,
            overflow: Overflow::Trim,
            max_parts: 5,
        }
    }

    #[test]
    fn json_bytes_count_escapes_and_utf8() {
        assert_eq!(Measure::JsonBytes.of("a\"\\\n"), 7);
        assert_eq!(Measure::JsonBytes.of("é👍"), 6);
        assert_eq!(Measure::JsonBytes.of("\u{1}"), 6);
        assert_eq!(Measure::Chars.of("é👍"), 2);
        for text in ["a\"\\\n", "é👍\u{1}\t"] {
            let json = serde_json::to_string(text).unwrap();
            assert_eq!(Measure::JsonBytes.of(text), json.len() - 2);
        }
    }

    #[test]
    fn text_within_budget_is_one_unnumbered_part() {
        assert_eq!(fit("short", 10, Measure::Chars, &split(5)), vec!["short"]);
    }

    #[test]
    fn parts_are_numbered_cut_at_lines_and_each_within_budget() {
        let text = (1..=20)
            .map(|i| format!("line number {i}"))
            .collect::<Vec<_>>()
            .join("\n");
        let parts = fit(&text, 60, Measure::Chars, &split(10));
        assert!(parts.len() > 1);
        let n = parts.len();
        for (i, part) in parts.iter().enumerate() {
            assert!(part.chars().count() <= 60, "{part:?}");
            assert!(part.ends_with(&format!("\n({}/{n})", i + 1)), "{part:?}");
        }
        let rejoined: Vec<&str> = parts
            .iter()
            .flat_map(|p| p.lines().filter(|l| !l.starts_with('(')))
            .collect();
        assert_eq!(rejoined.join("\n"), text);
    }

    #[test]
    fn too_many_parts_end_with_a_count_of_what_was_left_out() {
        let text = (1..=50)
            .map(|i| format!("line {i}"))
            .collect::<Vec<_>>()
            .join("\n");
        let parts = fit(&text, 40, Measure::Chars, &split(2));
        assert_eq!(parts.len(), 2);
        assert!(parts[1].contains("more lines\n(2/2)"), "{:?}", parts[1]);
        assert!(parts.iter().all(|p| p.chars().count() <= 40));
    }

    #[test]
    fn trim_keeps_whole_lines_and_says_how_many_are_left() {
        let text = "first line\nsecond line\nthird line\nfourth line\nfifth line";
        let out = fit(text, 45, Measure::Chars, &trimmed());
        assert_eq!(out, vec!["first line\nsecond line\n…and 3 more lines"]);
    }

    #[test]
    fn a_long_line_is_cut_at_a_space_and_never_inside_a_link() {
        let text = "word ".repeat(6) + "[a link label](https://example.com/x) tail";
        let parts = fit(&text, 50, Measure::Chars, &split(5));
        assert!(
            parts
                .iter()
                .any(|p| p.contains("[a link label](https://example.com/x)")),
            "{parts:?}"
        );
        assert!(parts.iter().all(|p| p.chars().count() <= 50), "{parts:?}");
    }

    #[test]
    fn a_cut_never_leaves_a_dangling_escape() {
        let line = "a".repeat(9) + "\\*" + &"b".repeat(30);
        let end = safe_cut(&line, 10, Measure::Chars);
        assert_eq!(&line[..end], "a".repeat(9));
    }

    #[test]
    fn an_open_code_fence_is_closed_and_reopened() {
        let code = (1..=12)
            .map(|i| format!("let x{i} = {i};"))
            .collect::<Vec<_>>()
            .join("\n");
        let text = format!("Build log:\n```rust\n{code}\n```\ndone");
        let parts = fit(&text, 80, Measure::Chars, &split(10));
        assert!(parts.len() > 2, "{parts:?}");
        for part in &parts {
            assert_eq!(
                part.matches("```").count() % 2,
                0,
                "unbalanced fence in {part:?}"
            );
            assert!(part.chars().count() <= 80);
        }
        assert!(parts[1].starts_with("```rust\n"), "{:?}", parts[1]);
    }

    #[test]
    fn a_dialect_that_grows_the_text_is_still_within_budget_and_never_cut_mid_entity() {
        let text = "a < b && c > d ".repeat(40);
        let convert = |t: &str| crate::markdown::to_slack(t);
        let parts = fit_converted(&text, 100, Measure::Chars, &split(20), convert);
        assert!(parts.len() > 2, "{parts:?}");
        for part in &parts {
            assert!(part.chars().count() <= 100, "{part:?}");
            let cut_entity = part.rfind('&').is_some_and(|at| !part[at..].contains(';'));
            assert!(!cut_entity, "{part:?}");
        }
    }

    #[test]
    fn clip_cuts_at_a_character_within_budget() {
        assert_eq!(clip("short", 10, Measure::Chars), "short");
        assert_eq!(clip("ééééé", 6, Measure::JsonBytes), "é…");
        assert_eq!(clip("abcdef", 4, Measure::Chars), "abc…");
    }

    #[test]
    fn a_huge_single_line_still_ends_within_budget() {
        let text = "x".repeat(10_000);
        for options in [split(3), trimmed()] {
            for part in fit(&text, 100, Measure::JsonBytes, &options) {
                assert!(Measure::JsonBytes.of(&part) <= 100, "{part:?}");
            }
        }
    }

    /// Exact parts for a text with escapes and a fence, at budgets where a byte more
    /// or less changes the cut: each part as full as its budget allows.
    #[test]
    fn parts_fill_their_budget_exactly() {
        let text = "first line \"quoted\"\nsecond line\nthird\n```\ncode\n```\nlast one here";
        let options = Options {
            max_parts: 3,
            ..Options::default()
        };
        let fit = |budget, measure| fit(text, budget, measure, &options);
        assert_eq!(
            fit(26, Measure::Chars),
            [
                "first line \"quoted\"\n(1/3)",
                "second line\nthird\n(2/3)",
                "`…\n…and 3 more lines\n(3/3)"
            ]
        );
        assert_eq!(
            fit(41, Measure::Chars),
            [
                "first line \"quoted\"\nsecond line\n(1/2)",
                "third\n```\ncode\n```\nlast one here\n(2/2)"
            ]
        );
        assert_eq!(
            fit(26, Measure::JsonBytes),
            [
                "first line \n(1/3)",
                "\"quoted\"\n(2/3)",
                "s…\n…and 5 more lines\n(3/3)"
            ]
        );
        assert_eq!(
            fit(41, Measure::JsonBytes),
            [
                "first line \"quoted\"\nsecond line\n(1/3)",
                "third\n```\ncode\n```\n(2/3)",
                "last one here\n(3/3)"
            ]
        );
        assert_eq!(
            fit_one(text, 26, Measure::Chars),
            "first …\n…and 6 more lines"
        );
        assert_eq!(
            fit_one(text, 41, Measure::Chars),
            "first line \"quoted\"\n…and 6 more lines"
        );
        assert_eq!(
            fit_one(text, 41, Measure::JsonBytes),
            "first line …\n…and 6 more lines"
        );
        assert_eq!(Measure::JsonBytes.of(" \u{1f}"), 7);
        let long = "one\ntwo\nthree\nfour\nfive\nsix";
        assert_eq!(
            fit_one_converted(long, 24, Measure::Chars, str::to_string),
            "one\n…and 5 more lines"
        );
        assert_eq!(safe_cut("abcdef", 3, Measure::Chars), 3);
        assert_eq!(safe_cut("a\"bcd", 3, Measure::Chars), 3);
        assert_eq!(safe_cut("a\"bcd", 3, Measure::JsonBytes), 2);
        assert_eq!(safe_cut("ab cd ef", 6, Measure::Chars), 6);
    }

    #[test]
    fn a_cut_inside_a_link_moves_to_its_start() {
        let line = "see [a](u) and [bb](vv) end \\[c](w)";
        let inside_second = line.find("(vv").unwrap() + 1;
        assert_eq!(link_around(line, inside_second), Some(15));
        assert_eq!(link_around(line, line.find("and").unwrap()), None);
        assert_eq!(link_around(line, 6), Some(4));
        assert_eq!(link_around(line, line.find("vv)").unwrap() + 2), Some(15));
        assert_eq!(link_around(line, line.find("vv)").unwrap() + 3), None);
        assert_eq!(
            link_around(line, line.len() - 2),
            None,
            "an escaped [ opens no link"
        );
    }

    #[test]
    fn a_last_part_that_is_exactly_full_is_kept_whole() {
        assert_eq!(
            fit("aaaaaa\nbbbbbb", 12, Measure::Chars, &split(2)),
            ["aaaaaa\n(1/2)", "bbbbbb\n(2/2)"]
        );
    }

    #[test]
    fn a_dialect_twice_as_long_is_split_again_in_proportion() {
        let doubled = |part: &str| part.chars().flat_map(|c| [c, c]).collect::<String>();
        let text = "one two three four five six seven eight nine ten";
        let parts = fit_converted(text, 40, Measure::Chars, &split(5), doubled);
        assert_eq!(
            parts,
            [
                "oonnee  ttwwoo  tthhrreeee  \n\n((11//44))",
                "ffoouurr  ffiivvee  ssiixx  \n\n((22//44))",
                "sseevveenn  eeiigghhtt  \n\n((33//44))",
                "nniinnee  tteenn\n\n((44//44))"
            ]
        );
        assert!(parts.iter().all(|p| p.chars().count() <= 40));
    }

    /// `trim` keeps a line when it fits with the count of the lines after it, to the
    /// character: at 22 the second line and "…and 1 more line" do not fit, at 23 they
    /// do (and then the third fits too).
    #[test]
    fn trim_keeps_a_line_exactly_when_it_fits_with_what_is_left() {
        let text = "ab\ncd\nef";
        assert_eq!(
            trim(text, None, 22, Measure::Chars),
            "ab\n…and 2 more lines"
        );
        assert_eq!(trim(text, None, 23, Measure::Chars), "ab\ncd\nef");
        assert_eq!(trim("ab\ncd", None, 20, Measure::Chars), "ab\ncd");
        assert_eq!(
            trim("ab\ncd", None, 19, Measure::Chars),
            "a…\n…and 1 more line"
        );
        // No whole line fits: the first is cut to leave room for "…" and the count.
        assert_eq!(
            trim("abcdef\ncd", None, 22, Measure::Chars),
            "abc…\n…and 1 more line"
        );
    }

    /// A line longer than a part is cut to fill each part: plain, or inside a fence
    /// that every part reopens and closes.
    #[test]
    fn a_long_line_fills_each_part_it_is_cut_into() {
        let plain = format!("head\n{}", "y ".repeat(20));
        assert_eq!(
            fit(&plain, 20, Measure::Chars, &split(5)),
            [
                "head\n(1/4)",
                "y y y y y y y \n(2/4)",
                "y y y y y y y \n(3/4)",
                "y y y y y y \n(4/4)"
            ]
        );
        let fenced = format!("```\n{}\n```\nafter", "x".repeat(30));
        let parts = fit(&fenced, 26, Measure::Chars, &split(6));
        assert_eq!(
            parts[1..],
            [
                "```\nxxxxxxxxxxxx\n```\n(2/4)",
                "```\nxxxxxxxxxxxx\n```\n(3/4)",
                "```\nxxxxxx\n```\nafter\n(4/4)"
            ]
        );
    }

    /// The last part of a text cut short starts where the previous part stopped, inside
    /// a long line too; a fence reopened there is closed within the budget.
    #[test]
    fn a_cut_short_text_resumes_where_the_last_part_began() {
        let long = format!("head\n{}", "y ".repeat(40));
        assert_eq!(
            fit(&long, 20, Measure::Chars, &split(3)),
            [
                "head\n(1/3)",
                "y y y y y y y \n(2/3)",
                "y y y y y y …\n(3/3)"
            ]
        );
        let fenced = format!("{}\n```\nend", "x".repeat(30));
        assert_eq!(
            trim(&fenced, Some("```"), 34, Measure::Chars),
            "```\nxxxxxxx…\n```\n…and 2 more lines"
        );
    }
}
