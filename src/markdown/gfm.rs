//! Pull request, issue and comment bodies as GitHub, GitLab and Gitea users write them
//! (GitHub-flavoured markdown with HTML in it), reshaped into hookbridge markdown.
//!
//! A body is untrusted and written for a web page: PR templates leave HTML comments,
//! bots fold release notes into `<details>`, tables and task lists abound. A chat
//! message wants the gist, so comments go, `<details>` shrinks to its summary, tables
//! become one line per row, and what is left is rebuilt from escaped text, checked
//! URLs and code that cannot close its own fence.

mod html;

use super::{break_braces, break_mentions, escape, safe_url};
use html::HtmlState;
use pulldown_cmark::{CodeBlockKind, Event, LinkType, Options, Parser, Tag, TagEnd};

/// Nesting past this depth is flattened, so that each output line stays bounded
/// however deeply a hostile body nests its lists, quotes or emphasis.
const MAX_DEPTH: usize = 16;

/// A forge body (GitHub-flavoured markdown) as hookbridge markdown: HTML comments and
/// other tags dropped (their text kept), `<details>` reduced to "▸ summary", task
/// items as ☐/☑, images as "🖼 alt" links, tables one line per row, every text
/// escaped, every URL checked with [`safe_url`], code fenced so it cannot break out.
pub fn to_markdown(body: &str) -> String {
    let body = body.replace("\r\n", "\n").replace('\r', "\n");
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_GFM;
    let mut writer = Writer::default();
    for event in Parser::new_ext(&body, options) {
        writer.event(event);
    }
    writer.finish()
}

/// A block that prefixes each of its lines.
enum Container {
    Quote,
    /// A list item: its marker on the first line, as many spaces on the others.
    Item {
        marker: String,
        started: bool,
    },
}

/// An emphasis mark, written only once text follows it, so that `****` never appears.
struct Mark {
    text: &'static str,
    shown: bool,
}

/// A link or image being written: its label runs from `start` to the end of the line.
struct LinkFrame {
    url: Option<String>,
    start: usize,
}

#[derive(Default)]
struct Writer {
    out: String,
    /// The current line's inline content; its container prefix is added when it ends.
    line: String,
    /// Payload text not yet escaped, so that adjacent pieces are escaped together.
    text: String,
    containers: Vec<Container>,
    /// The next number of each open list (`None` for bullets).
    lists: Vec<Option<u64>>,
    marks: Vec<Mark>,
    /// Marks past [`MAX_DEPTH`], not written, still to be closed.
    dropped_marks: usize,
    links: Vec<LinkFrame>,
    /// The language and text of the fenced block being read.
    code: Option<(String, String)>,
    /// The next line starts a new top-level block.
    blank: bool,
    cells: usize,
    html: HtmlState,
}

impl Writer {
    fn event(&mut self, event: Event) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Html(html) | Event::InlineHtml(html) => self.raw_html(&html),
            Event::Text(text) | Event::InlineMath(text) | Event::DisplayMath(text) => {
                match &mut self.code {
                    Some((_, code)) => code.push_str(&text),
                    None => self.push_text(&text),
                }
            }
            Event::Code(code) => self.code_span(&code),
            Event::SoftBreak | Event::HardBreak => self.line_break(),
            Event::Rule => {
                self.block_start();
                self.push_markup("———");
                self.flush_line();
            }
            Event::TaskListMarker(done) => self.push_markup(if done { "☑ " } else { "☐ " }),
            Event::FootnoteReference(label) => self.push_text(&format!("[^{label}]")),
        }
    }

    fn start(&mut self, tag: Tag) {
        match tag {
            Tag::Paragraph | Tag::HtmlBlock | Tag::Table(_) => self.block_start(),
            Tag::Heading { level, .. } => {
                self.block_start();
                self.push_markup(&format!("{} ", "#".repeat(level as usize)));
            }
            Tag::BlockQuote(kind) => {
                self.block_start();
                self.containers.push(Container::Quote);
                if let Some(kind) = kind {
                    self.push_markup(&format!("**{kind:?}**"));
                    self.flush_line();
                }
            }
            Tag::CodeBlock(CodeBlockKind::Fenced(info)) => self.start_code(&info),
            Tag::CodeBlock(CodeBlockKind::Indented) => self.start_code(""),
            Tag::List(first) => {
                self.block_start();
                self.lists.push(first);
            }
            Tag::Item => self.start_item(),
            Tag::FootnoteDefinition(label) => {
                self.block_start();
                self.containers.push(Container::Item {
                    marker: escape(&format!("[^{label}]: ")),
                    started: false,
                });
            }
            Tag::TableHead | Tag::TableRow => {
                self.flush_line();
                self.cells = 0;
            }
            Tag::TableCell => {
                if self.cells > 0 {
                    self.push_markup(" · ");
                }
                self.cells += 1;
            }
            Tag::Emphasis => self.open_mark("*"),
            Tag::Strong => self.open_mark("**"),
            Tag::Link {
                link_type,
                dest_url,
                ..
            } => {
                let url = match link_type {
                    LinkType::Email => format!("mailto:{dest_url}"),
                    _ => dest_url.to_string(),
                };
                self.open_link(safe_url(&url), false);
            }
            Tag::Image { dest_url, .. } => self.open_link(safe_url(&dest_url), true),
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::BlockQuote(_) | TagEnd::Item | TagEnd::FootnoteDefinition => {
                self.flush_line();
                self.containers.pop();
            }
            TagEnd::List(_) => {
                self.flush_line();
                self.lists.pop();
            }
            TagEnd::HtmlBlock => {
                self.flush_line();
                self.html.end_block();
            }
            TagEnd::CodeBlock => self.write_code_block(),
            TagEnd::Emphasis | TagEnd::Strong => self.close_mark(),
            TagEnd::Link | TagEnd::Image => self.close_link(),
            TagEnd::TableHead | TagEnd::TableRow => {
                // Cells missing at the end of a row leave no dangling separators.
                self.flush_text();
                let kept = self.line.trim_end_matches([' ', '·']).len();
                self.line.truncate(kept);
                self.flush_line();
            }
            TagEnd::Strikethrough | TagEnd::TableCell => {}
            _ => self.flush_line(),
        }
    }

    fn start_item(&mut self) {
        self.flush_line();
        let marker = match self.lists.last_mut() {
            Some(Some(number)) => {
                let marker = format!("{number}. ");
                *number = number.saturating_add(1);
                marker
            }
            _ => "- ".to_string(),
        };
        self.containers.push(Container::Item {
            marker,
            started: false,
        });
    }

    fn block_start(&mut self) {
        self.flush_line();
        if self.containers.is_empty() {
            self.blank = true;
        }
    }

    fn line_break(&mut self) {
        if self.links.is_empty() {
            self.flush_line();
        } else {
            // A link's label must stay on one line to stay a link.
            self.push_text(" ");
        }
    }

    fn push_text(&mut self, text: &str) {
        if !self.hidden() {
            self.text.push_str(text);
        }
    }

    /// Markup of our own, written as it is after any pending text.
    fn push_markup(&mut self, markup: &str) {
        self.flush_text();
        self.push_content(markup);
    }

    /// Escapes the pending text; a bare `http(s)://` URL in it (which GitHub links)
    /// becomes a link, so escaping cannot break it and [`safe_url`] checks it.
    fn flush_text(&mut self) {
        let text = std::mem::take(&mut self.text);
        let mut rest = text.as_str();
        while let Some((start, end)) = bare_url(rest).filter(|_| self.links.is_empty()) {
            self.push_content(&escape(&rest[..start]));
            let url = &rest[start..end];
            match safe_url(url) {
                Some(safe) => self.push_content(&format!("[{}]({safe})", escape(url))),
                None => self.push_content(&escape(url)),
            }
            rest = &rest[end..];
        }
        if !rest.is_empty() {
            self.push_content(&escape(rest));
        }
    }

    fn push_content(&mut self, content: &str) {
        if self.hidden() {
            return;
        }
        self.show_marks();
        self.line.push_str(content);
    }

    fn show_marks(&mut self) {
        for mark in self.marks.iter_mut().filter(|mark| !mark.shown) {
            self.line.push_str(mark.text);
            mark.shown = true;
        }
    }

    fn open_mark(&mut self, text: &'static str) {
        self.flush_text();
        if self.marks.len() < MAX_DEPTH {
            self.marks.push(Mark { text, shown: false });
        } else {
            self.dropped_marks += 1;
        }
    }

    fn close_mark(&mut self) {
        self.flush_text();
        if self.dropped_marks > 0 {
            self.dropped_marks -= 1;
        } else if let Some(mark) = self.marks.pop() {
            if mark.shown {
                self.line.push_str(mark.text);
            }
        }
    }

    /// An inline code span; as escaped text where a backtick inside it or a link
    /// around it would let the converters misread where it ends.
    fn code_span(&mut self, code: &str) {
        match super::code_span(code).filter(|_| self.links.is_empty()) {
            Some(span) => self.push_markup(&span),
            None if !code.trim().is_empty() => self.push_text(code),
            None => {}
        }
    }

    fn open_link(&mut self, url: Option<String>, image: bool) {
        self.flush_text();
        if self.hidden() {
            return;
        }
        self.show_marks();
        self.links.push(LinkFrame {
            url,
            start: self.line.len(),
        });
        if image {
            self.push_content("🖼 ");
        }
    }

    fn close_link(&mut self) {
        self.flush_text();
        if let Some(frame) = self.links.pop() {
            self.finish_link(frame);
        }
    }

    /// Turns the label written since the frame opened into a link; a link inside
    /// another (a badge image in a link) keeps only its label, so none nest.
    fn finish_link(&mut self, frame: LinkFrame) {
        let start = frame.start.min(self.line.len());
        let label = self.line.split_off(start);
        let label = label.trim();
        match frame.url {
            Some(url) if self.links.is_empty() => {
                let label = if label.is_empty() {
                    escape(&url)
                } else {
                    label.to_string()
                };
                self.line.push_str(&format!("[{label}]({url})"));
            }
            _ => self.line.push_str(label),
        }
    }

    /// Ends the current line: open links and marks are closed on it (and marks
    /// reopened on the next), so every line stands on its own.
    fn flush_line(&mut self) {
        self.flush_text();
        while let Some(frame) = self.links.pop() {
            self.finish_link(frame);
        }
        for mark in self.marks.iter_mut().rev().filter(|mark| mark.shown) {
            self.line.push_str(mark.text);
            mark.shown = false;
        }
        let line = std::mem::take(&mut self.line);
        if !line.trim().is_empty() {
            let prefix = self.prefix(false);
            self.push_line(&format!("{prefix}{}", line.trim_start()));
        }
    }

    /// The containers' marks for a line: `> ` per quote, a list marker on an item's
    /// first line and its width in spaces after. Code drops the quotes, which would
    /// hide its fence from the converters.
    fn prefix(&mut self, code: bool) -> String {
        let mut prefix = String::new();
        for container in self.containers.iter_mut().take(MAX_DEPTH) {
            match container {
                Container::Quote if !code => prefix.push_str("> "),
                Container::Quote => {}
                Container::Item { marker, started } if *started || code => {
                    *started = true;
                    prefix.push_str(&" ".repeat(marker.len()));
                }
                Container::Item { marker, started } => {
                    *started = true;
                    prefix.push_str(marker);
                }
            }
        }
        prefix
    }

    fn push_line(&mut self, line: &str) {
        if !self.out.is_empty() {
            self.out.push('\n');
            if self.blank {
                self.out.push('\n');
            }
        }
        self.blank = false;
        self.out.push_str(line.trim_end());
    }

    fn start_code(&mut self, info: &str) {
        self.block_start();
        self.code = Some((fence_language(info), String::new()));
    }

    /// A fenced block whose lines cannot close it: a line that starts with backticks
    /// gets a zero-width space before them, and no `@` in it can mention anyone.
    fn write_code_block(&mut self) {
        let Some((language, code)) = self.code.take() else {
            return;
        };
        if self.hidden() || code.trim().is_empty() {
            return;
        }
        let prefix = self.prefix(true);
        self.push_line(&format!("{prefix}```{language}"));
        for line in code.lines() {
            let line = break_mentions(line);
            let guard = if line.trim_start().starts_with('`') {
                "\u{200B}"
            } else {
                ""
            };
            self.push_line(&format!("{prefix}{guard}{line}"));
        }
        self.push_line(&format!("{prefix}```"));
    }

    fn finish(mut self) -> String {
        self.close_open_details();
        self.flush_line();
        break_braces(&self.out)
    }
}

/// A fence's language, kept only as a plain word: Slack copies the fence line as it
/// stands, where `<!channel>` would page a channel.
fn fence_language(info: &str) -> String {
    info.split_whitespace()
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "+-_.#".contains(*c))
        .take(24)
        .collect()
}

/// The first bare `http://` or `https://` URL in `text`, which GitHub links.
fn bare_url(text: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    loop {
        let start = from + text[from..].find("http")?;
        from = start + 4;
        let rest = &text[start..];
        let scheme = rest.starts_with("https://") || rest.starts_with("http://");
        if !scheme || text[..start].ends_with(|c: char| c.is_alphanumeric()) {
            continue;
        }
        let len = url_len(rest);
        if len > "https://".len() {
            return Some((start, start + len));
        }
    }
}

/// Where a bare URL ends as GitHub's autolinks end it: at whitespace or `<`, without
/// trailing punctuation or an unmatched `)`.
fn url_len(rest: &str) -> usize {
    let mut len = rest
        .find(|c: char| c.is_whitespace() || c == '<')
        .unwrap_or(rest.len());
    let opened = rest[..len].matches('(').count();
    let mut closed = rest[..len].matches(')').count();
    while let Some(last) = rest[..len].chars().next_back() {
        if ".,:;!?*_~'\"".contains(last) || (last == ')' && closed > opened) {
            closed -= usize::from(last == ')');
            len -= 1;
        } else {
            break;
        }
    }
    len
}

#[cfg(test)]
mod tests {
    use super::to_markdown;
    use crate::markdown::{drop_unsafe_links, guard_mentions, to_google_chat, to_slack};

    /// What must hold for any body: no template braces, no link to a refused target,
    /// no `@name` a chat service would take for a mention, no `<...>` from the body
    /// that Slack or Google Chat would read as a link or a mention.
    pub(crate) fn assert_safe(md: &str) {
        assert!(!md.contains("{{"), "{md}");
        assert_eq!(drop_unsafe_links(md), md, "a link to a refused target");
        let guarded = guard_mentions(md);
        for (at, _) in guarded.match_indices('@') {
            let rest: String = guarded[at + 1..].chars().take(8).collect();
            let rest = rest.to_lowercase();
            let everyone = ["everyone", "here", "channel", "all"];
            let in_word = guarded[..at].ends_with(char::is_alphanumeric);
            let names = rest.starts_with(char::is_alphanumeric);
            let mention = names && (!in_word || everyone.iter().any(|w| rest.starts_with(w)));
            assert!(!mention, "a mention in {md:?}");
        }
        let slack = to_slack(md);
        assert!(!slack.contains("<!") && !slack.contains("<@"), "{slack}");
        let google = to_google_chat(md);
        for (at, _) in google.match_indices('<') {
            let rest = &google[at + 1..];
            assert!(
                ["\u{200B}", "http", "mailto:"]
                    .iter()
                    .any(|s| rest.starts_with(s)),
                "a bare < in {google:?}"
            );
        }
    }

    fn check(body: &str, expected: &str) {
        let md = to_markdown(body);
        assert_eq!(md, expected, "from {body:?}");
        assert_safe(&md);
    }

    #[test]
    fn html_comments_go_even_across_lines() {
        check("a <!-- hint --> b", "a  b");
        check("<!--\nmulti\n\nline\n-->\n\nafter", "after");
        check("- [ ] x <!-- a\nb -->\n\n<!-- c -->", "- ☐ x");
        // Not a comment without its end: plain text, escaped.
        check("a <!-- one\n\ntwo", "a \\<!-- one\n\ntwo");
    }

    #[test]
    fn details_shrink_to_their_summary() {
        check(
            "<details>\n<summary>Logs</summary>\n\n```\nsecret\n```\n\n- item\n\n</details>\n\nnext",
            "▸ Logs\n\nnext",
        );
        check("<details>\nno summary\n</details>", "▸ Details");
        check(
            "<details><summary>Out</summary><details><summary>In</summary>x</details>y</details>z",
            "▸ Out\nz",
        );
        check(
            "before\n<details><summary>S</summary>\n\nnever closed",
            "before\n\n▸ S",
        );
        check(
            "text <details><summary>S</summary>hid</details> more",
            "text\n▸ S\nmore",
        );
        check(
            "<details><summary>@here <b>S</b></summary>x</details>",
            "▸ \\@here S",
        );
    }

    #[test]
    fn other_tags_go_and_their_text_stays() {
        check("a<br>b<br/>c <b>bold</b> <kbd>K</kbd>", "a\nb\nc bold K");
        check(
            "<p>x &amp; &lt;tag&gt; &#39;q&#39; &#x2014; &bogus;</p><ul><li>one</li><li>two</li></ul>",
            "x & \\<tag\\> 'q' — &bogus;\n- one\n- two",
        );
        check("<script>alert(1)</script>kept<style>p{}</style>", "kept");
        check(
            "<table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td>2</td></tr></table>",
            "A · B\n1 · 2",
        );
        check(
            "<!channel> <@U1> <users/all> &lt;!here&gt;",
            "\\<\\@U1\\> \\<!here\\>",
        );
        check("<div\nclass=\"x\">split tag</div>", "split tag");
    }

    #[test]
    fn html_links_and_images_become_markdown_ones() {
        check(
            "<a href=\"https://x.test/?a=1&amp;b=2\">site</a> <a href='javascript:alert(1)'>bad</a> <a name=x>anchor</a>",
            "[site](https://x.test/?a=1&b=2) bad anchor",
        );
        check(
            "<img src=https://i.test/a.png alt=\"Alt\"> <img src=\"x.png\" alt=A> <IMG SRC=\"https://i.test/b.png\">",
            "[🖼 Alt](https://i.test/a.png) 🖼 A [🖼](https://i.test/b.png)",
        );
    }

    #[test]
    fn task_items_show_their_box() {
        check(
            "- [ ] todo\n- [x] done\n  - [X] nested",
            "- ☐ todo\n- ☑ done\n  - ☑ nested",
        );
    }

    #[test]
    fn links_and_images_keep_only_safe_targets() {
        check(
            "![alt](https://i.test/a.png) ![bad](javascript:x) ![](https://i.test/e.png)",
            "[🖼 alt](https://i.test/a.png) 🖼 bad [🖼](https://i.test/e.png)",
        );
        check(
            "[ok](https://x.test/a(b)) [bad](javascript:alert(1)) [rel](/o/r) [top](#top) <https://a.test/x> <ops@x.test>",
            "[ok](https://x.test/a%28b%29) bad rel top [https://a.test/x](https://a.test/x) [ops@x.test](mailto:ops%40x.test)",
        );
        // A badge inside a link: one link, the image's alt text as its label.
        check(
            "[![badge](https://img.test/b.svg)](https://ci.test/run)",
            "[🖼 badge](https://ci.test/run)",
        );
        check("[a\nb](https://x.test)", "[a b](https://x.test)");
        check(
            "see https://x.test/@u/a_b*c). or (https://y.test/a_(b)) http://z",
            "see [https://x.test/\\@u/a_b\\*c](https://x.test/%40u/a_b*c)). or \
             ([https://y.test/a\\_(b)](https://y.test/a_%28b%29)) http://z",
        );
    }

    #[test]
    fn emphasis_stays_and_strikethrough_goes() {
        check(
            "*em* **strong** ***both*** ~~del~~ a*b*c snake_case",
            "*em* **strong** ***both*** del a*b*c snake_case",
        );
        // Marks close at each line end and reopen, so every line stands alone.
        check("**bold\nacross** lines", "**bold**\n**across** lines");
        check(
            "** not bold **  and ****",
            "\\*\\* not bold \\*\\*  and \\*\\*\\*\\*",
        );
        check("**[x](https://x.test)**", "**[x](https://x.test)**");
    }

    #[test]
    fn headings_lists_and_quotes() {
        check(
            "# H1\n## H2 `c`\n###### H6",
            "# H1\n\n## H2 `c`\n\n###### H6",
        );
        check(
            "- a\n  - b\n    - c\n- d\n\n3. three\n4. four\n   1. inner",
            "- a\n  - b\n    - c\n- d\n\n3. three\n4. four\n   1. inner",
        );
        check(
            "- loose\n\n- list\n\n  second para",
            "- loose\n- list\n  second para",
        );
        check(
            "> quote\n>\n> more\n> > nested\n\n> [!WARNING]\n> careful",
            "> quote\n> more\n> > nested\n\n> **Warning**\n> careful",
        );
        check("---\n\ntext\n***", "———\n\ntext\n\n———");
        check(
            "Note[^1].\n\n[^1]: The note.",
            "Note\\[^1\\].\n\n\\[^1\\]: The note.",
        );
    }

    #[test]
    fn code_cannot_close_its_span_or_fence_or_mention() {
        check(
            "`plain` `a``b` ``x`y`` `@here` `{{x}}` [`in link`](https://x.test)",
            "`plain` a\\`\\`b x\\`y `@\u{200B}here` `{\u{200B}{x}\u{200B}}` [in link](https://x.test)",
        );
        check(
            "```rust title=\"x\"\nfn main() {}\n```\n\n~~~<!channel>\n```\n````\n@everyone\n~~~",
            "```rust\nfn main() {}\n```\n\n```channel\n\u{200B}```\n\u{200B}````\n@\u{200B}everyone\n```",
        );
        check("    indented\n    code", "```\nindented\ncode\n```");
        // The quote goes (the converters would not see the fence); list indents stay.
        check(
            "> ```\n> quoted\n> ```\n\n- item\n\n  ```\n  in item\n  ```",
            "```\nquoted\n```\n\n- item\n  ```\n  in item\n  ```",
        );
    }

    #[test]
    fn tables_become_one_line_per_row() {
        check(
            "| a | b |\n|---|:-:|\n| 1 | **2** |\n| x |",
            "a · b\n1 · **2**\nx",
        );
    }

    #[test]
    fn mentions_and_references_are_text() {
        check(
            "@user said #123 fixed in o/r#45, cc @everyone foo@here ops@x.test",
            "\\@user said #123 fixed in o/r#45, cc \\@everyone foo\\@here ops@x.test",
        );
    }

    /// Pieces that meet after an unsafe link drops out, and mailto targets, cannot
    /// make a mention; whitespace other than spaces cannot start a block.
    #[test]
    fn mentions_cannot_form_where_pieces_meet() {
        for body in [
            "@[everyone](javascript:x)",
            "@[](javascript:x)everyone",
            "hi @<a href=\"javascript:x\"></a>here",
            "ops@[everyone](javascript:x)",
            "[x](mailto:@everyone)",
            "<a href=\"mailto:@channel\">x</a>",
        ] {
            let md = to_markdown(body);
            assert_safe(&md);
            assert!(!md.contains("mailto:@"), "{md}");
        }
        check("&#9;- x", "\\- x");
        check("&nbsp;# x", "\\# x");
    }

    #[test]
    fn blank_lines_collapse_and_line_ends_are_trimmed() {
        check("a  \n\n\n\n\nb   \n\n\n", "a\n\nb");
        check("one\r\ntwo\r\n\r\npara\rlast", "one\ntwo\n\npara\nlast");
        check("", "");
        check("<!-- only a template -->", "");
    }

    #[test]
    fn hostile_bodies_stay_bounded_and_safe() {
        let bodies = [
            "[".repeat(100_000),
            "[a](".repeat(10_000),
            ">".repeat(20_000) + " x",
            "- ".repeat(10_000) + "x\ny\ny",
            "*a ".repeat(30_000),
            "<a href=x>".repeat(10_000) + "@everyone",
            "<div\n".to_string() + &"a=b\n".repeat(25_000),
            "<details>".repeat(10_000) + "x",
            "<!--".repeat(25_000),
            "`".repeat(100_000),
            "**[`x`](javascript:a) @everyone {{x}} <b> [y](java\nscript:x) \u{0}".repeat(2_000),
            "|a".repeat(50_000) + "\n|-|\n" + &"|b".repeat(1_000),
            "&#0; &#xFFFFFFFF; &#55296; &".repeat(1_000),
        ];
        for body in bodies {
            let md = to_markdown(&body);
            assert!(
                md.len() <= body.len() * 8 + 64,
                "{} -> {}",
                body.len(),
                md.len()
            );
            assert_safe(&md);
        }
        // Nesting past the cap is flattened: lines stay short.
        let deep = "- ".repeat(1_000) + "x\n" + &"lazy\n".repeat(100);
        assert!(to_markdown(&deep).lines().all(|line| line.len() < 80));
    }

    /// A real PR body written from a template: tlylt/danger-demo#4, as logged in
    /// tlylt/danger-demo `ref.md` (commit b037a1f8dab8ffa492a683da448274c1329b089d).
    const TEMPLATE_PR: &str = "**What is the purpose of this pull request?**\r\n\
         \r\n\
         - [ ] Documentation update\r\n\
         - [ ] Bug fix\r\n\
         - [ ] Feature addition or enhancement\r\n\
         - [ ] Code maintenance\r\n\
         - [ ] DevOps\r\n\
         - [ ] Improve developer experience\r\n\
         - [ ] Others, please explain:\r\n\
         \r\n\
         <!--\r\n\
         \x20 If this pull request is addressing an issue, link to the issue: #xxx\r\n\
         \r\n\
         \x20 If this pull request completely addresses an issue, use one of the closing keywords: \"Fixes #xxx\" or \"Resolves #xxx\"\r\n\
         \x20 https://docs.github.com/en/issues/tracking-your-work-with-issues/linking-a-pull-request-to-an-issue#linking-a-pull-request-to-an-issue-using-a-keyword\r\n\
         \r\n\
         \x20 Otherwise, elaborate further on the rationale of this pull request as needed\r\n\
         -->\r\n\
         \r\n\
         **Overview of changes:**\r\n\
         \r\n\
         \r\n\
         **Anything you'd like to highlight/discuss:**\r\n\
         \r\n\
         \r\n\
         **Testing instructions:**\r\n\
         \r\n\
         <!--\r\n\
         \x20 Any special testing instructions **not including** our automated tests.\r\n\
         -->\r\n\
         \r\n\
         **Proposed commit message: (wrap lines at 72 characters)**\r\n\
         \r\n\
         <!--\r\n\
         \x20 See this link for more info on how to write a good commit message:\r\n\
         \x20 https://se-education.org/guides/conventions/git.html\r\n\
         \r\n\
         \x20 As best as possible, write a succinct commit title in 50 characters\r\n\
         \r\n\
         |---------This is the width of 50 chars----------|\r\n\
         |-----------This is the width of 72 chars for your reference-----------|\r\n\
         -->\r\n\
         \r\n\
         ---\r\n\
         \r\n\
         **Checklist:** :ballot_box_with_check:\r\n\
         \r\n\
         <!-- Leave non-applicable items unchecked -->\r\n\
         \r\n\
         - [ ] Updated the documentation for feature additions and enhancements\r\n\
         - [ ] Added tests for bug fixes or features\r\n\
         - [ ] Linked all related issues\r\n\
         - [ ] No unrelated changes <!-- It's tempting, but increases the reviewer's work, and really pollutes the commit history =( -->\r\n\
         \r\n\
         <!--\r\n\
         \x20 We'll try our best to get to your PR within a week.\r\n\
         \x20 If we haven't gotten to it then, or if your pull request resolves an urgent item, feel free to give us a ping!\r\n\
         -->";

    /// A real Dependabot PR body: euguilhermegirardi/Aircnc-Frontend#20 ("Bump async
    /// from 2.6.3 to 2.6.4"), from a public copy of that repository's issues listing.
    const DEPENDABOT_PR: &str = "Bumps [async](https://github.com/caolan/async) from 2.6.3 to 2.6.4.\n\
         <details>\n\
         <summary>Changelog</summary>\n\
         <p><em>Sourced from <a href=\"https://github.com/caolan/async/blob/v2.6.4/CHANGELOG.md\">async's changelog</a>.</em></p>\n\
         <blockquote>\n\
         <h1>v2.6.4</h1>\n\
         <ul>\n\
         <li>Fix potential prototype pollution exploit (<a href=\"https://github-redirect.dependabot.com/caolan/async/issues/1828\">#1828</a>)</li>\n\
         </ul>\n\
         </blockquote>\n\
         </details>\n\
         <details>\n\
         <summary>Commits</summary>\n\
         <ul>\n\
         <li><a href=\"https://github.com/caolan/async/commit/c6bdaca4f9175c14fc655d3783c6af6a883e6514\"><code>c6bdaca</code></a> Version 2.6.4</li>\n\
         <li><a href=\"https://github.com/caolan/async/commit/8870da9d5022bab310413041b4079e10db3980b7\"><code>8870da9</code></a> Update built files</li>\n\
         <li><a href=\"https://github.com/caolan/async/commit/4df6754ef4e96a742956df8782fee27242a2ea12\"><code>4df6754</code></a> update changelog</li>\n\
         <li><a href=\"https://github.com/caolan/async/commit/8f7f90342a6571ba1c197d747ebed30c368096d2\"><code>8f7f903</code></a> Fix prototype pollution vulnerability (<a href=\"https://github-redirect.dependabot.com/caolan/async/issues/1828\">#1828</a>)</li>\n\
         <li>See full diff in <a href=\"https://github.com/caolan/async/compare/v2.6.3...v2.6.4\">compare view</a></li>\n\
         </ul>\n\
         </details>\n\
         <details>\n\
         <summary>Maintainer changes</summary>\n\
         <p>This version was pushed to npm by <a href=\"https://www.npmjs.com/~hargasinski\">hargasinski</a>, a new releaser for async since your current version.</p>\n\
         </details>\n\
         <br />\n\
         \n\
         \n\
         [![Dependabot compatibility score](https://dependabot-badges.githubapp.com/badges/compatibility_score?dependency-name=async&package-manager=npm_and_yarn&previous-version=2.6.3&new-version=2.6.4)](https://docs.github.com/en/github/managing-security-vulnerabilities/about-dependabot-security-updates#about-compatibility-scores)\n\
         \n\
         Dependabot will resolve any conflicts with this PR as long as you don't alter it yourself. You can also trigger a rebase manually by commenting `@dependabot rebase`.\n\
         \n\
         [//]: # (dependabot-automerge-start)\n\
         [//]: # (dependabot-automerge-end)\n\
         \n\
         ---\n\
         \n\
         <details>\n\
         <summary>Dependabot commands and options</summary>\n\
         <br />\n\
         \n\
         You can trigger Dependabot actions by commenting on this PR:\n\
         - `@dependabot rebase` will rebase this PR\n\
         - `@dependabot recreate` will recreate this PR, overwriting any edits that have been made to it\n\
         - `@dependabot merge` will merge this PR after your CI passes on it\n\
         - `@dependabot squash and merge` will squash and merge this PR after your CI passes on it\n\
         - `@dependabot cancel merge` will cancel a previously requested merge and block automerging\n\
         - `@dependabot reopen` will reopen this PR if it is closed\n\
         - `@dependabot close` will close this PR and stop Dependabot recreating it. You can achieve the same result by closing it manually\n\
         - `@dependabot ignore this major version` will close this PR and stop Dependabot creating any more for this major version (unless you reopen the PR or upgrade to it yourself)\n\
         - `@dependabot ignore this minor version` will close this PR and stop Dependabot creating any more for this minor version (unless you reopen the PR or upgrade to it yourself)\n\
         - `@dependabot ignore this dependency` will close this PR and stop Dependabot creating any more for this dependency (unless you reopen the PR or upgrade to it yourself)\n\
         - `@dependabot use these labels` will set the current labels as the default for future PRs for this repo and language\n\
         - `@dependabot use these reviewers` will set the current reviewers as the default for future PRs for this repo and language\n\
         - `@dependabot use these assignees` will set the current assignees as the default for future PRs for this repo and language\n\
         - `@dependabot use this milestone` will set the current milestone as the default for future PRs for this repo and language\n\
         \n\
         You can disable automated security fix PRs for this repo from the [Security Alerts page](https://github.com/euguilhermegirardi/Aircnc-Frontend/network/alerts).\n\
         \n\
         </details>";

    #[test]
    fn a_real_template_body_keeps_only_what_its_author_wrote() {
        check(
            TEMPLATE_PR,
            "**What is the purpose of this pull request?**\n\n\
             - ☐ Documentation update\n- ☐ Bug fix\n- ☐ Feature addition or enhancement\n\
             - ☐ Code maintenance\n- ☐ DevOps\n- ☐ Improve developer experience\n\
             - ☐ Others, please explain:\n\n\
             **Overview of changes:**\n\n\
             **Anything you'd like to highlight/discuss:**\n\n\
             **Testing instructions:**\n\n\
             **Proposed commit message: (wrap lines at 72 characters)**\n\n\
             ———\n\n\
             **Checklist:** :ballot_box_with_check:\n\n\
             - ☐ Updated the documentation for feature additions and enhancements\n\
             - ☐ Added tests for bug fixes or features\n\
             - ☐ Linked all related issues\n\
             - ☐ No unrelated changes",
        );
    }

    #[test]
    fn a_real_dependabot_body_folds_to_its_summaries() {
        check(
            DEPENDABOT_PR,
            "Bumps [async](https://github.com/caolan/async) from 2.6.3 to 2.6.4.\n\n\
             ▸ Changelog\n▸ Commits\n▸ Maintainer changes\n\n\
             [🖼 Dependabot compatibility score](https://docs.github.com/en/github/\
             managing-security-vulnerabilities/about-dependabot-security-updates\
             #about-compatibility-scores)\n\n\
             Dependabot will resolve any conflicts with this PR as long as you don't alter \
             it yourself. You can also trigger a rebase manually by commenting \
             `@\u{200B}dependabot rebase`.\n\n\
             ———\n\n\
             ▸ Dependabot commands and options",
        );
    }
}
