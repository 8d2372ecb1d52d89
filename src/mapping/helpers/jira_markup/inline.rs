//! The inline pass over one line of wiki markup: text effects, `{{monospace}}`,
//! links, mentions, images, emoticons and escapes.

use super::{code_span, text, Context};

/// How deep text effects may nest (`*_-x-_*`) before the rest shows as written.
const MAX_DEPTH: usize = 8;
/// Jira's emoticons; a wordy one such as `(x)` only counts outside a word, so `f(x)` stays.
const EMOTICONS: &[(&str, &str)] = &[
    ("(/)", "✅"),
    ("(x)", "❌"),
    ("(!)", "⚠️"),
    ("(?)", "❓"),
    ("(i)", "ℹ️"),
    ("(y)", "👍"),
    ("(n)", "👎"),
    ("(on)", "💡"),
    ("(off)", "🔅"),
    ("(*)", "⭐"),
    ("(*r)", "⭐"),
    ("(*g)", "⭐"),
    ("(*b)", "⭐"),
    ("(*y)", "⭐"),
    ("(+)", "➕"),
    ("(-)", "➖"),
    ("(flag)", "🚩"),
    ("(flagoff)", "🏳️"),
    (":)", "🙂"),
    (":(", "🙁"),
    (":P", "😛"),
    (":D", "😀"),
    (";)", "😉"),
];

/// One line of wiki markup (no block marks) as markdown.
pub(super) fn inline(ctx: &Context, line: &str) -> String {
    let mut writer = Inline {
        ctx,
        out: String::new(),
        plain: String::new(),
    };
    writer.render(line, 0);
    writer.flush();
    writer.out
}

/// Where the next closing mark of one kind is, remembered between questions: the
/// questions only move right, so every line is scanned once per kind.
#[derive(Clone, Copy, Default)]
struct Seek {
    asked: Option<usize>,
    found: Option<usize>,
}

impl Seek {
    fn next(&mut self, from: usize, find: impl Fn(usize) -> Option<usize>) -> Option<usize> {
        let known = self.asked.is_some_and(|asked| asked <= from);
        match self.found {
            Some(at) if known && at >= from => return Some(at),
            None if known => return None,
            _ => {}
        }
        self.found = find(from);
        self.asked = Some(from);
        self.found
    }
}

/// The marks whose closers are sought: the text effects, then `{{`.
const EFFECTS: &[u8] = b"*_-+^~?{";

struct Inline<'c> {
    ctx: &'c Context,
    out: String,
    /// Literal text not yet escaped into `out`.
    plain: String,
}

impl Inline<'_> {
    fn flush(&mut self) {
        if !self.plain.is_empty() {
            self.out.push_str(&text(&self.plain));
            self.plain.clear();
        }
    }

    fn emit(&mut self, md: &str) {
        self.flush();
        self.out.push_str(md);
    }

    fn render(&mut self, s: &str, depth: usize) {
        let mut seeks = [Seek::default(); EFFECTS.len()];
        let mut i = 0;
        while let Some(c) = s[i..].chars().next() {
            let taken = match c {
                '\\' => Some(self.backslash(&s[i..])),
                '[' => self.link(s, i),
                '!' => self.image(s, i),
                '(' | ':' | ';' => self.emoticon(s, i),
                'h' | 'f' | 'm' => self.bare_url(s, i),
                '{' if s[i..].starts_with("{{") => self.monospace(s, i, &mut seeks),
                '*' | '_' | '-' | '+' | '^' | '~' | '?' => self.effect(s, i, depth, &mut seeks),
                _ => None,
            };
            i += taken.unwrap_or_else(|| {
                self.plain.push(c);
                c.len_utf8()
            });
        }
    }

    /// `\\` breaks the line; `\*` and the like are the character itself.
    fn backslash(&mut self, rest: &str) -> usize {
        match rest[1..].chars().next() {
            Some('\\') => self.plain.push('\n'),
            Some(c) if c.is_ascii_punctuation() => {
                self.plain.push(c);
                return 1 + c.len_utf8();
            }
            _ => {
                self.plain.push('\\');
                return 1;
            }
        }
        2
    }

    fn link(&mut self, s: &str, i: usize) -> Option<usize> {
        let rest = &s[i + 1..];
        let end = rest
            .find(['[', ']'])
            .filter(|&e| rest.as_bytes()[e] == b']')?;
        let shown = self.ctx.link(&rest[..end])?;
        self.emit(&shown);
        Some(end + 2)
    }

    /// `!file.png!`, `!file.png|thumbnail!`, `!https://host/x.png!`.
    fn image(&mut self, s: &str, i: usize) -> Option<usize> {
        let rest = &s[i + 1..];
        let first = rest.chars().next()?;
        let end = rest.find('!')?;
        let inner = &rest[..end];
        let name = inner.split('|').next().unwrap_or(inner).trim();
        let ext = name
            .rsplit_once('.')
            .map_or("", |(stem, ext)| if stem.is_empty() { "" } else { ext });
        let file_like =
            (1..=5).contains(&ext.len()) && ext.chars().all(|c| c.is_ascii_alphanumeric());
        if first.is_whitespace() || inner.ends_with(char::is_whitespace) {
            return None;
        }
        if !file_like && !name.contains("://") {
            return None;
        }
        let shown = self.ctx.attachment(name, "");
        self.emit(&shown);
        Some(end + 2)
    }

    fn emoticon(&mut self, s: &str, i: usize) -> Option<usize> {
        let rest = &s[i..];
        let &(code, emoji) = EMOTICONS.iter().find(|(code, _)| rest.starts_with(code))?;
        let wordy =
            code.starts_with('(') && code.as_bytes().get(1).is_some_and(u8::is_ascii_alphabetic);
        let after_word = s[..i]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric);
        let before_word = rest[code.len()..]
            .chars()
            .next()
            .is_some_and(char::is_alphanumeric);
        if (wordy && after_word) || (code.starts_with(':') && before_word) {
            return None;
        }
        self.emit(emoji);
        Some(code.len())
    }

    /// A bare URL is text, taken whole so that effect marks inside it stay as written.
    fn bare_url(&mut self, s: &str, i: usize) -> Option<usize> {
        let rest = &s[i..];
        let starts = ["http://", "https://", "ftp://", "mailto:"]
            .iter()
            .any(|p| rest.starts_with(p));
        if !starts
            || s[..i]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric)
        {
            return None;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        self.plain.push_str(&rest[..end]);
        Some(end)
    }

    fn monospace(&mut self, s: &str, i: usize, seeks: &mut [Seek]) -> Option<usize> {
        let slot = seeks.get_mut(EFFECTS.len() - 1)?;
        let close = slot.next(i + 2, |from| s[from..].find("}}").map(|p| p + from))?;
        let inner = s.get(i + 2..close).filter(|t| !t.is_empty())?;
        self.emit(&code_span(inner));
        Some(close + 2 - i)
    }

    /// `*strong*`, `_emphasis_`, `??citation??` keep their meaning; `-deleted-`,
    /// `+inserted+`, `^sup^` and `~sub~` have none in the subset and show as text.
    fn effect(&mut self, s: &str, i: usize, depth: usize, seeks: &mut [Seek]) -> Option<usize> {
        let bytes = s.as_bytes();
        let mark = *bytes.get(i)?;
        let width = if mark == b'?' { 2 } else { 1 };
        let marks = s
            .get(i..i + width)
            .filter(|m| m.bytes().all(|b| b == mark))?;
        let first = s[i + width..]
            .chars()
            .next()
            .filter(|c| !c.is_whitespace())?;
        if s[..i]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric)
        {
            return None;
        }
        let slot = seeks.get_mut(EFFECTS.iter().position(|&m| m == mark)?)?;
        let close = slot.next(i + width + first.len_utf8(), |from| closer(s, marks, from))?;
        let inner = &s[i + width..close];
        if depth >= MAX_DEPTH {
            self.plain.push_str(&s[i..close + width]);
            return Some(close + width - i);
        }
        let wrap = match mark {
            b'*' => "**",
            b'_' | b'?' => "_",
            _ => "",
        };
        self.emit(wrap);
        self.render(inner, depth + 1);
        self.emit(wrap);
        Some(close + width - i)
    }
}

/// The first `marks` at or after `from` that can close an effect: after a non-space,
/// before a non-word character.
fn closer(s: &str, marks: &str, from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(p) = s.get(at..)?.find(marks).map(|p| p + at) {
        let after = s[p + marks.len()..].chars().next();
        let before = s[..p].chars().next_back();
        if before.is_some_and(|c| !c.is_whitespace()) && !after.is_some_and(char::is_alphanumeric) {
            return Some(p);
        }
        at = p + 1;
    }
    None
}
