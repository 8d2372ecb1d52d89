//! Raw HTML in a forge body: comments dropped, `<details>` shown as its summary, links
//! and images kept as markdown ones, every other tag dropped with its text kept.

use super::Writer;
use crate::markdown::safe_url;

/// A raw HTML tag split over several lines is buffered up to this size; a longer one
/// is dropped rather than rescanned line after line.
const MAX_PARTIAL_TAG: usize = 8 * 1024;

/// HTML elements that start a new line of their own.
const BLOCK_TAGS: &str = "address article aside blockquote center dd div dl dt figcaption \
    figure footer h1 h2 h3 h4 h5 h6 header hr li ol p pre section table tbody thead tr ul";

/// What raw HTML has opened and not yet closed, across the events that carry it.
#[derive(Default)]
pub(super) struct HtmlState {
    comment: bool,
    /// The start of a tag whose `>` is on a later line.
    partial: String,
    details: usize,
    summary: bool,
    summary_seen: bool,
    /// Inside `<script>` or `<style>`, whose text is not text.
    skip: usize,
}

impl HtmlState {
    /// A tag or comment left open at the end of an HTML block does not swallow the
    /// markdown after it.
    pub(super) fn end_block(&mut self) {
        self.partial.clear();
        self.comment = false;
    }
}

/// Raw HTML: comments dropped, tags acted on or dropped, text kept.
impl Writer {
    /// A `<details>` body, `<script>` and `<style>` are not shown.
    pub(super) fn hidden(&self) -> bool {
        (self.html.details > 0 && !self.html.summary) || self.html.skip > 0
    }

    /// The text of one HTML event; a tag or comment may go on in the next one.
    pub(super) fn raw_html(&mut self, chunk: &str) {
        let joined: String;
        let mut rest = chunk;
        if self.html.comment && !self.html.partial.is_empty() {
            joined = std::mem::take(&mut self.html.partial) + chunk;
            rest = &joined;
        } else if !self.html.partial.is_empty() {
            // Only the new line is searched for the `>`, so a long tag costs its length.
            let Some(end) = chunk.find('>') else {
                if self.html.partial.len() + chunk.len() <= MAX_PARTIAL_TAG {
                    self.html.partial.push_str(chunk);
                } else {
                    self.html.partial.clear();
                }
                return;
            };
            let tag = std::mem::take(&mut self.html.partial) + &chunk[..end];
            self.html_tag(&tag[1..]);
            rest = &chunk[end + 1..];
        }
        self.scan_html(rest);
    }

    fn scan_html(&mut self, mut rest: &str) {
        while !rest.is_empty() {
            if self.html.comment {
                match rest.find("-->") {
                    Some(end) => {
                        self.html.comment = false;
                        rest = &rest[end + 3..];
                    }
                    None => {
                        // Keep a `--` that the next line's `>` may close.
                        let tail = rest.len() - rest.trim_end_matches('-').len();
                        self.html.partial = "-".repeat(tail.min(2));
                        rest = "";
                    }
                }
                continue;
            }
            let Some(open) = rest.find('<') else {
                self.html_text(rest);
                break;
            };
            self.html_text(&rest[..open]);
            rest = &rest[open..];
            if let Some(after) = rest.strip_prefix("<!--") {
                self.html.comment = true;
                rest = after;
            } else if !rest[1..].starts_with(|c: char| c.is_ascii_alphabetic() || "/!?".contains(c))
            {
                self.html_text("<");
                rest = &rest[1..];
            } else if let Some(end) = rest.find('>') {
                self.html_tag(&rest[1..end]);
                rest = &rest[end + 1..];
            } else {
                if rest.len() <= MAX_PARTIAL_TAG {
                    self.html.partial = rest.to_string();
                }
                break;
            }
        }
    }

    /// Text between tags, with entities decoded and whitespace collapsed as a browser
    /// would show it.
    fn html_text(&mut self, raw: &str) {
        if raw.is_empty() || self.hidden() {
            return;
        }
        for c in decode_entities(raw).chars() {
            if !c.is_whitespace() {
                self.text.push(c);
            } else if !self.text.ends_with(' ') && (!self.text.is_empty() || !self.line.is_empty())
            {
                self.text.push(' ');
            }
        }
    }

    fn html_tag(&mut self, tag: &str) {
        let closing = tag.starts_with('/');
        let body = tag.trim_start_matches('/');
        let name = body
            .split(|c: char| !c.is_ascii_alphanumeric())
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match (name.as_str(), closing) {
            ("details", false) => self.open_details(),
            ("details", true) if self.html.details > 0 => self.close_details(),
            ("summary", false) if self.html.details == 1 && !self.html.summary_seen => {
                self.html.summary = true;
                self.push_markup("▸ ");
            }
            ("summary", true) if self.html.summary => {
                self.flush_line();
                self.html.summary = false;
                self.html.summary_seen = true;
            }
            ("script" | "style", false) => self.html.skip += 1,
            ("script" | "style", true) => self.html.skip = self.html.skip.saturating_sub(1),
            ("br", _) => self.line_break(),
            ("img", false) => {
                let src = attribute(body, "src");
                self.open_link(src.as_deref().and_then(safe_url), true);
                self.push_text(&attribute(body, "alt").unwrap_or_default());
                self.close_link();
            }
            ("a", false) => {
                let href = attribute(body, "href");
                self.open_link(href.as_deref().and_then(safe_url), false);
            }
            ("a", true) => self.close_link(),
            ("td" | "th", false) if !self.line.is_empty() || !self.text.is_empty() => {
                self.push_markup(" · ");
            }
            (name, closing) if BLOCK_TAGS.split_whitespace().any(|tag| tag == name) => {
                self.flush_line();
                if name == "li" && !closing {
                    self.push_markup("- ");
                }
            }
            _ => {}
        }
    }

    fn open_details(&mut self) {
        if self.html.details == 0 {
            self.flush_line();
            self.html.summary_seen = false;
        }
        self.html.details += 1;
    }

    /// An unclosed `<details>` hides the rest of the body, as GitHub shows it folded.
    pub(super) fn close_open_details(&mut self) {
        if self.html.details > 0 {
            self.html.details = 1;
            self.close_details();
        }
    }

    /// Leaves a `<details>`; one without a summary shows as GitHub labels it.
    fn close_details(&mut self) {
        self.html.details -= 1;
        if self.html.details > 0 {
            return;
        }
        if self.html.summary {
            self.html.summary = false;
        } else if !self.html.summary_seen {
            self.push_markup("▸ Details");
        }
        self.flush_line();
    }
}

/// An attribute's value from inside a tag, quoted or not, entities decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut rest = tag.trim_start_matches(|c: char| c.is_ascii_alphanumeric());
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        let key_end = rest
            .find(|c: char| c.is_whitespace() || c == '=')
            .unwrap_or(rest.len());
        if key_end == 0 {
            return None;
        }
        let key = &rest[..key_end];
        rest = rest[key_end..].trim_start();
        let value = match rest.strip_prefix('=') {
            Some(after) => {
                let after = after.trim_start();
                let (value, next) = match after.chars().next() {
                    Some(quote @ ('"' | '\'')) => {
                        let inner = &after[1..];
                        let end = inner.find(quote).unwrap_or(inner.len());
                        (&inner[..end], inner.get(end + 1..).unwrap_or_default())
                    }
                    _ => after.split_at(after.find(char::is_whitespace).unwrap_or(after.len())),
                };
                rest = next;
                value
            }
            None => "",
        };
        if key.eq_ignore_ascii_case(name) {
            return Some(decode_entities(value));
        }
    }
}

/// The character references a forge body uses (`&amp;`, `&lt;`, `&#39;`, `&#x2014;`
/// and a few names); others stay as written.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let window = rest.char_indices().nth(12).map_or(rest.len(), |(at, _)| at);
        let end = rest[..window].find(';');
        let decoded = end.and_then(|end| entity(&rest[1..end]));
        match (decoded, end) {
            (Some(c), Some(end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    let code = match name {
        "amp" => return Some('&'),
        "lt" => return Some('<'),
        "gt" => return Some('>'),
        "quot" => return Some('"'),
        "apos" => return Some('\''),
        "nbsp" => return Some(' '),
        _ => name.strip_prefix('#')?,
    };
    let number = match code.strip_prefix(['x', 'X']) {
        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
        None => code.parse().ok()?,
    };
    char::from_u32(number).filter(|c| *c != '\0')
}
