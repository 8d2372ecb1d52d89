//! The start of a long hookbridge markdown text, cut where a reader expects a cut and
//! where the converters still read every mark before it as the writer meant it.

/// Where a cut falls, best first.
#[derive(Clone, Copy)]
enum Boundary {
    Paragraph,
    Line,
    Sentence,
    Word,
    Char,
}

/// A cut's end below this share of the budget is a poor excerpt: a worse boundary
/// further on is taken instead (two short lines before a long paragraph would
/// otherwise leave a message of two lines).
const MIN_FILL_PERCENT: usize = 50;

/// `None` when `markdown` fits in `max_chars` characters; otherwise its longest
/// prefix that ends at a paragraph break, else a line end, else a sentence end, else
/// a word boundary (else anywhere), with "…" after it, in at most `max_chars`
/// characters (one "…" when nothing fits). A cut never falls inside a link, a code
/// span or an escape; emphasis open at the cut is closed, and so is a code fence.
/// A boundary that keeps less than half the budget gives way to the next kind.
pub fn excerpt(markdown: &str, max_chars: usize) -> Option<String> {
    markdown.chars().nth(max_chars)?;
    let mut scan = Scan {
        text: markdown,
        max: max_chars,
        chars: 0,
        in_fence: false,
        best: [None; 5],
        word: (0, 0),
        after_space: true,
    };
    scan.run();
    let fill = |cut: &&Cut| cut.chars * 100 >= max_chars.saturating_mul(MIN_FILL_PERCENT);
    let chosen = scan
        .best
        .iter()
        .flatten()
        .find(fill)
        .or_else(|| scan.best.iter().flatten().max_by_key(|cut| cut.chars));
    Some(match chosen {
        Some(cut) => format!(
            "{}{}{}",
            markdown[..cut.end].trim_end(),
            cut.emphasis.closers(),
            ellipsis(cut.in_fence, cut.after_url)
        ),
        None => "…".to_string(),
    })
}

/// What ends an excerpt: inside a code block, its fence; after a bare URL, a space
/// first, since chat services would take a "…" into the link.
fn ellipsis(in_fence: bool, after_url: bool) -> &'static str {
    if in_fence {
        "\n```\n…"
    } else if after_url {
        " …"
    } else {
        "…"
    }
}

/// The emphasis marks open at a point of a line, in the order they were opened, as
/// (mark character, run length).
#[derive(Clone, Copy, Default)]
struct Emphasis {
    open: [(u8, usize); 2],
    len: usize,
}

impl Emphasis {
    /// Opens the mark of this length, or closes it if open: the converters pair
    /// runs by length, not by character.
    fn toggle(&mut self, mark: u8, run: usize) {
        let open = &mut self.open[..self.len];
        match open.iter().position(|(_, len)| *len == run) {
            Some(at) => {
                open.copy_within(at + 1.., at);
                self.len -= 1;
            }
            None if self.len < self.open.len() => {
                self.open[self.len] = (mark, run);
                self.len += 1;
            }
            None => {}
        }
    }

    fn closers(&self) -> String {
        self.open[..self.len]
            .iter()
            .rev()
            .map(|(mark, run)| char::from(*mark).to_string().repeat(*run))
            .collect()
    }

    fn closers_len(&self) -> usize {
        self.open[..self.len].iter().map(|(_, run)| run).sum()
    }
}

#[derive(Clone, Copy)]
struct Cut {
    /// Byte offset the prefix ends at.
    end: usize,
    /// Characters in the prefix.
    chars: usize,
    emphasis: Emphasis,
    in_fence: bool,
    after_url: bool,
}

/// One pass over the text up to the budget, keeping the longest cut of each kind.
struct Scan<'a> {
    text: &'a str,
    max: usize,
    /// Characters before the current position.
    chars: usize,
    in_fence: bool,
    best: [Option<Cut>; 5],
    /// The last word seen (bytes), kept as the scan goes so that no candidate cut
    /// looks back over the text: the ending after a bare URL differs.
    word: (usize, usize),
    after_space: bool,
}

impl Scan<'_> {
    /// Notes the text from `from` to `to`, which starts with `c`.
    fn saw(&mut self, from: usize, to: usize, c: char) {
        if c.is_whitespace() {
            self.after_space = true;
            return;
        }
        if self.after_space {
            self.word.0 = from;
        }
        self.word.1 = to;
        self.after_space = false;
    }

    fn word_is_url(&self) -> bool {
        let word = &self.text[self.word.0..self.word.1];
        word.starts_with("http://") || word.starts_with("https://")
    }

    fn run(&mut self) {
        let text = self.text;
        let mut offset = 0;
        for line in text.split('\n') {
            let end = offset + line.len();
            if line.trim_start().starts_with("```") {
                self.in_fence = !self.in_fence;
                self.chars += line.chars().count();
            } else if self.in_fence {
                self.scan_code(offset, line);
            } else {
                self.scan_line(offset, line);
            }
            let Some(rest) = text.get(end + 1..) else {
                return;
            };
            if self.chars > self.max {
                return;
            }
            let next_line = rest.split('\n').next().unwrap_or_default();
            let boundary = if next_line.trim().is_empty() {
                Boundary::Paragraph
            } else {
                Boundary::Line
            };
            self.offer(end, boundary, Emphasis::default());
            self.chars += 1;
            self.after_space = true;
            offset = end + 1;
        }
    }

    /// Inside a fence every character is literal, and the fence is closed after the cut.
    fn scan_code(&mut self, offset: usize, line: &str) {
        let mut prev = None;
        for (i, c) in line.char_indices() {
            if self.chars > self.max {
                return;
            }
            if i > 0 {
                self.offer(offset + i, boundary(prev, c), Emphasis::default());
            }
            self.chars += 1;
            self.saw(offset + i, offset + i + c.len_utf8(), c);
            prev = Some(c);
        }
    }

    /// A line read the way the converters read it: escapes, code spans and links
    /// are taken whole, and runs of `*`/`_` open or close emphasis.
    fn scan_line(&mut self, offset: usize, line: &str) {
        let start = content_start(line);
        self.chars += line[..start].chars().count();
        let closing = bracket_matches(line);
        let bytes = line.as_bytes();
        let mut emphasis = Emphasis::default();
        let mut prev = None;
        let mut i = start;
        while let Some(c) = line[i..].chars().next() {
            if self.chars > self.max {
                return;
            }
            if i > start {
                self.offer(offset + i, boundary(prev, c), emphasis);
            }
            let end = match c {
                '\\' => i + 1 + line[i + 1..].chars().next().map_or(0, char::len_utf8),
                '`' => line[i + 1..].find('`').map_or(i + 1, |close| i + close + 2),
                '[' | '!' => link_end(bytes, i, &closing).unwrap_or(i + 1),
                '*' | '_' => {
                    let run = bytes[i..].iter().take_while(|b| **b == c as u8).count();
                    let inside_word = c == '_'
                        && i > 0
                        && bytes[i - 1].is_ascii_alphanumeric()
                        && bytes.get(i + run).is_some_and(u8::is_ascii_alphanumeric);
                    if !inside_word {
                        if run >= 2 {
                            emphasis.toggle(c as u8, 2);
                        }
                        if run != 2 {
                            emphasis.toggle(c as u8, 1);
                        }
                    }
                    i + run
                }
                _ => i + c.len_utf8(),
            };
            self.chars += line[i..end].chars().count();
            self.saw(offset + i, offset + end, c);
            prev = line[..end].chars().next_back();
            i = end;
        }
    }

    /// Keeps the cut at `end` if it fits and is the longest of its kind so far.
    fn offer(&mut self, end: usize, boundary: Boundary, emphasis: Emphasis) {
        let after_url = self.word_is_url();
        let suffix = emphasis.closers_len() + ellipsis(self.in_fence, after_url).chars().count();
        if self.chars + suffix > self.max {
            return;
        }
        // A backslash before the "…" or a closing mark would escape it. Only the last
        // few bytes are read, so a run of spaces costs no more per candidate.
        let mut from = end.saturating_sub(64);
        while !self.text.is_char_boundary(from) {
            from -= 1;
        }
        if self.text[from..end].trim_end().ends_with('\\') {
            return;
        }
        self.best[boundary as usize] = Some(Cut {
            end,
            chars: self.chars,
            emphasis,
            in_fence: self.in_fence,
            after_url,
        });
    }
}

/// The kind of boundary between `prev` and `next`.
fn boundary(prev: Option<char>, next: char) -> Boundary {
    match prev {
        Some('。' | '！' | '？' | '…') => Boundary::Sentence,
        Some('.' | '!' | '?') if next.is_whitespace() => Boundary::Sentence,
        Some(prev) if prev.is_whitespace() => Boundary::Char,
        Some(prev) if next.is_whitespace() || is_cjk(prev) => Boundary::Word,
        _ => Boundary::Char,
    }
}

/// Scripts written without spaces, where any character ends a word.
fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30FF}' | '\u{3400}'..='\u{9FFF}' | '\u{AC00}'..='\u{D7AF}' | '\u{F900}'..='\u{FAFF}')
}

/// Where a line's text starts after its indentation and block mark (`# `, `- `,
/// `* `, `+ `, `> `), which the converters do not read as emphasis.
fn content_start(line: &str) -> usize {
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    let hashes = trimmed.bytes().take_while(|b| *b == b'#').count();
    let mark = if (1..=6).contains(&hashes) && trimmed[hashes..].starts_with(' ') {
        hashes + 1
    } else if ["- ", "* ", "+ ", "> "]
        .iter()
        .any(|m| trimmed.starts_with(m))
    {
        2
    } else {
        usize::from(trimmed.starts_with('>'))
    };
    indent + mark
}

/// For each `[` and `(` of a line, the offset of the bracket closing it (or
/// `usize::MAX`), escapes skipped: the pairs the converters' link parser finds, in
/// one pass instead of one scan per bracket.
fn bracket_matches(line: &str) -> Vec<usize> {
    let bytes = line.as_bytes();
    let mut closing = vec![usize::MAX; bytes.len()];
    let (mut squares, mut parens) = (Vec::new(), Vec::new());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let (stack, close) = match byte {
            b'\\' => {
                i += 2;
                continue;
            }
            b'[' | b']' => (&mut squares, byte == b']'),
            b'(' | b')' => (&mut parens, byte == b')'),
            _ => {
                i += 1;
                continue;
            }
        };
        if !close {
            stack.push(i);
        } else if let Some(open) = stack.pop() {
            closing[open] = i;
        }
        i += 1;
    }
    closing
}

/// The end of the `[label](url)` or `![alt](url)` starting at `i`, if it is one.
fn link_end(bytes: &[u8], i: usize, closing: &[usize]) -> Option<usize> {
    let open = i + usize::from(bytes[i] == b'!');
    if bytes.get(open) != Some(&b'[') {
        return None;
    }
    let label_end = *closing.get(open)?;
    if bytes.get(label_end.checked_add(1)?) != Some(&b'(') {
        return None;
    }
    let url_end = *closing.get(label_end + 1)?;
    url_end.checked_add(1).filter(|_| url_end != usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::excerpt;
    use crate::markdown::{drop_unsafe_links, gfm::to_markdown, matching};

    fn cut(markdown: &str, max: usize) -> String {
        excerpt(markdown, max).unwrap_or_else(|| panic!("{markdown:?} fits in {max}"))
    }

    /// What holds for every excerpt: within budget, ending in "…", every link and
    /// code span whole, fences balanced, and nothing but closing marks added.
    fn assert_sound(markdown: &str, max: usize) {
        let Some(short) = excerpt(markdown, max) else {
            assert!(markdown.chars().count() <= max);
            return;
        };
        assert!(short.chars().count() <= max.max(1), "{short:?} over {max}");
        assert!(short.ends_with('…'), "{short:?}");
        assert_eq!(drop_unsafe_links(&short), short);
        let fences = short
            .lines()
            .filter(|l| l.trim_start().starts_with("```"))
            .count();
        assert_eq!(fences % 2, 0, "unclosed fence in {short:?}");
        let body = short.trim_end_matches(['…', '*', '_', '`', '\n']);
        assert!(markdown.starts_with(body), "{short:?} is not a prefix");
        let mut in_fence = false;
        for line in body.lines() {
            if line.trim_start().starts_with("```") {
                in_fence = !in_fence;
            } else if !in_fence {
                let unescaped = line.replace("\\\\", "").replace("\\`", "");
                let ticks = unescaped.matches('`').count();
                assert_eq!(ticks % 2, 0, "split code in {line:?}");
            }
        }
        // A link the converters find in the original is whole or absent (checked on
        // lines short enough for their quadratic bracket matching).
        let line_start = body.rfind('\n').map_or(0, |at| at + 1);
        let line_end = markdown[line_start..]
            .find('\n')
            .map_or(markdown.len(), |at| line_start + at);
        if line_end - line_start < 4_096 {
            for (at, _) in body[line_start..].match_indices("](") {
                let open = line_start + at + 1;
                let end = matching(&markdown[..line_end], open, b'(', b')');
                assert!(
                    end.is_none_or(|end| end < body.len()),
                    "split link: {short:?}"
                );
            }
        }
    }

    #[test]
    fn text_that_fits_is_left_alone() {
        assert_eq!(excerpt("short", 10), None);
        assert_eq!(excerpt("exactly ten", 11), None);
        // Characters, not bytes.
        assert_eq!(excerpt("ééééé😀", 6), None);
    }

    #[test]
    fn the_best_boundary_that_fills_half_the_budget_wins() {
        let text = "First paragraph is here.\n\nSecond paragraph is rather longer than that.";
        assert_eq!(cut(text, 40), "First paragraph is here.…");
        assert_eq!(
            cut("line one is here\nline two is here\nline three", 36),
            "line one is here\nline two is here…"
        );
        // "First sentence." is under half of 40: a word boundary further on wins.
        assert_eq!(
            cut("First sentence. Second sentence goes on and on", 40),
            "First sentence. Second sentence goes on…"
        );
        assert_eq!(cut("Hi there. Go on and on", 18), "Hi there.…");
        assert_eq!(
            cut(
                "see https://x.test/wiki?pageId=902031127 and more words",
                44
            ),
            "see https://x.test/wiki?pageId=902031127 …"
        );
        assert_eq!(cut("word word word word word word", 17), "word word word…");
        assert_eq!(
            cut("这是第一句。这是第二句话很长很长很长", 10),
            "这是第一句。…"
        );
        assert_eq!(
            cut("averyveryverylongwordwithoutanyspaces", 10),
            "averyvery…"
        );
        assert_eq!(cut("ééééééééééééé 😀😀😀😀 ééé", 15), "ééééééééééééé…");
    }

    #[test]
    fn links_code_spans_and_escapes_stay_whole() {
        assert_eq!(
            cut(
                "see [a link label](https://x.test/very/long/path) after",
                30
            ),
            "see…"
        );
        assert_eq!(
            cut("[giant link label](https://x.test/aaaaaaaaaaaaa) tail", 20),
            "…"
        );
        assert_eq!(cut("a `code span here` b", 12), "a…");
        assert_eq!(cut("a \\*b \\*c \\*d", 6), "a \\*b…");
        assert_eq!(cut("ab\\*\\*\\*\\*\\*\\*", 7), "ab\\*\\*…");
    }

    #[test]
    fn open_marks_and_fences_are_closed() {
        assert_eq!(
            cut("**bold text that goes on** and on", 18),
            "**bold text**…"
        );
        assert_eq!(cut("_it text that goes on_ and on", 16), "_it text that_…");
        assert_eq!(cut("***both marks open here*** x", 18), "***both marks***…");
        assert_eq!(
            cut(
                "intro\n\n```rust\nfn main() {\n    body();\n}\n```\nafter",
                34
            ),
            "intro\n\n```rust\nfn main() {\n```\n…"
        );
        // A bullet's `*` is not emphasis.
        assert_eq!(
            cut("* item one\n* item two\n* item three", 20),
            "* item one…"
        );
    }

    #[test]
    fn tiny_budgets_give_an_ellipsis() {
        assert_eq!(cut("x", 0), "…");
        assert_eq!(cut("abc", 1), "…");
        assert_eq!(cut("abc", 2), "a…");
    }

    #[test]
    fn hostile_text_is_cut_quickly_and_soundly() {
        for text in [
            "[".repeat(100_000),
            "[a](".repeat(25_000),
            "`".repeat(100_000),
            "\\".repeat(100_001),
            "*_".repeat(50_000),
            "```\n".repeat(25_000),
            "é".repeat(100_000),
            format!("[x]({})", "(".repeat(100_000)),
        ] {
            for max in [0, 1, 5, 100, 2_000] {
                assert_sound(&text, max);
            }
        }
    }

    /// A real Codecov report comment (tables of figures in a diff fence, badges,
    /// quotes), from koishijs/koishi packages/plugin-github/tests/fixtures/
    /// issue_comment.created.3.json at 0d758a912240e50c739d3171af32ada26c23af3d.
    const CODECOV_COMMENT: &str = "# [Codecov](https://codecov.io/gh/koishijs/koishi/pull/101?src=pr&el=h1) Report\n\
         > Merging [#101](https://codecov.io/gh/koishijs/koishi/pull/101?src=pr&el=desc) into [master](https://codecov.io/gh/koishijs/koishi/commit/572d976eb27790d1e8e3eddecc6a901cd9476905?el=desc) will **not change** coverage.\n\
         > The diff coverage is `n/a`.\n\
         \n\
         [![Impacted file tree graph](https://codecov.io/gh/koishijs/koishi/pull/101/graphs/tree.svg?width=650&height=150&src=pr&token=ENpAXNOUwW)](https://codecov.io/gh/koishijs/koishi/pull/101?src=pr&el=tree)\n\
         \n\
         ```diff\n\
         @@           Coverage Diff           @@\n\
         ##           master     #101   +/-   ##\n\
         =======================================\n\
         \x20 Coverage   92.60%   92.60%           \n\
         =======================================\n\
         \x20 Files          52       52           \n\
         \x20 Lines        8015     8015           \n\
         \x20 Branches     1720     1720           \n\
         =======================================\n\
         \x20 Hits         7422     7422           \n\
         \x20 Misses        593      593           \n\
         ```\n\
         \n\
         \n\
         \n\
         ------\n\
         \n\
         [Continue to review full report at Codecov](https://codecov.io/gh/koishijs/koishi/pull/101?src=pr&el=continue).\n\
         > **Legend** - [Click here to learn more](https://docs.codecov.io/docs/codecov-delta)\n\
         > `Δ = absolute <relative> (impact)`, `ø = not affected`, `? = missing data`\n\
         > Powered by [Codecov](https://codecov.io/gh/koishijs/koishi/pull/101?src=pr&el=footer). Last update [572d976...38261a3](https://codecov.io/gh/koishijs/koishi/pull/101?src=pr&el=lastupdated). Read the [comment docs](https://docs.codecov.io/docs/pull-request-comments).\n\
         ";

    /// Real release notes from the same fixtures, release.published.json.
    const RELEASE_NOTES: &str = "## Features\n\
         \n\
         - **cli:** hint for exit command (a01be705703625a3c7124c4e26b278ef4c445117)\n\
         - **eval-addons:** empty module should not be exposed to global (3354b839e34bbf024c1f5dd8a14cb8c147b53240)\n\
         - **cli:** support ws-reverse (fbb372f7dd12f0647824663316c8f10258116fc1)\n\
         - **cli:** init database config (967da352f6b360fe1536a7b48cf5cae418a4c5ff)\n\
         - **cli:** support multiselect plugins, remove bundled plugins (661435e6c04c74ebc382ac867c52bdaa37115f65)\n\
         - **cli:** pretty code generation (d79f8efcc37041ca76bfc47de30f09a15af80c1a)\n\
         - **github:** optimize push ref display (64e5dcf3ff907a6b9612f4205d28f0494d51b6f0)\n\
         - **github:** support fork event (feb6698693fc66ec00a04342da7b2a72c6326717)\n\
         - **github:** support star.created event (d5bd9bd73a3d1c1011b4d1d140973dbe132f333d)\n\
         - **github:** auto attach user fields (734d7c47a96516e76855d8e915f476df6eeb12ae)\n\
         \n\
         ## Bug Fixes\n\
         \n\
         - **eval-addons:** fix namespace sandbox escape (008ae389ab9fc3f6aebe5af9dd6dbbd974b7725b)\n\
         - **mongo:** fix typo of timers (9dfd4cb7c2da2791291db761784f6804bc71ffa8)\n\
         - **github:** fix 404 not found & init tests (44de27f177486617a3c690a169dab820d00fdf62)\n\
         - **github:** fix 202 still processing (601987767283422a4764054d2bc976d139a09979)\n\
         \n\
         ";

    #[test]
    fn real_bodies_cut_soundly_at_every_budget() {
        for body in [CODECOV_COMMENT, RELEASE_NOTES] {
            let markdown = to_markdown(body);
            for max in (0..=markdown.chars().count() + 1).step_by(3) {
                assert_sound(&markdown, max);
            }
        }
        assert_eq!(
            cut(&to_markdown(CODECOV_COMMENT), 200),
            "# [Codecov](https://codecov.io/gh/koishijs/koishi/pull/101?src=pr&el=h1) Report\n\n\
             > Merging [#101](https://codecov.io/gh/koishijs/koishi/pull/101?src=pr&el=desc) into…"
        );
        assert_eq!(
            cut(&to_markdown(RELEASE_NOTES), 120),
            "## Features\n\n- **cli:** hint for exit command (a01be705703625a3c7124c4e26b278ef4c445117)…"
        );
    }
}
