//! Discord webhooks: `{"content": markdown}` (Discord reads CommonMark-like markdown), or
//! a card as an embed. `username` and `avatar_url` show the source.

use serde_json::{json, Map, Value};

use super::outline::Outline;
use super::split::{self, Measure};
use super::{insert_non_empty, more, with_part, Options};
use crate::mapping::Message;
use crate::markdown;

/// Characters of `content` per message.
pub const CONTENT_BUDGET: usize = 2000;
/// Characters of an embed's title, description, field names and values together.
pub const EMBED_BUDGET: usize = 6000;
const TITLE_CHARS: usize = 256;
const DESCRIPTION_CHARS: usize = 4096;
const MAX_FIELDS: usize = 25;
const FIELD_NAME_CHARS: usize = 256;
const FIELD_VALUE_CHARS: usize = 1024;
/// Discord refuses an empty field name or value; this shows as nothing.
const BLANK: &str = "\u{200B}";

pub fn bodies(message: &Message, options: &Options) -> Vec<Value> {
    let mut head = Map::new();
    // Discord answers 400 to a webhook username that contains "discord" or "clyde".
    let name = message.activity.to_lowercase();
    let allowed_name = !["discord", "clyde"].iter().any(|word| name.contains(word));
    if allowed_name {
        insert_non_empty(&mut head, "username", &message.activity);
    }
    if let Some(icon) = &message.icon {
        insert_non_empty(&mut head, "avatar_url", icon);
    }
    head.insert("allowed_mentions".into(), allowed_mentions(message));
    if let Some(card) = &message.card {
        let budget = options.max_size.unwrap_or(EMBED_BUDGET);
        head.insert(
            "embeds".into(),
            json!([embed(&Outline::of(card), message, budget)]),
        );
        return vec![Value::Object(head)];
    }
    let budget = options.max_size.unwrap_or(CONTENT_BUDGET);
    split::fit_converted(
        &message.text,
        budget,
        Measure::Chars,
        options,
        markdown::guard_mentions,
    )
    .into_iter()
    .map(|content| with_part(&head, "content", content))
    .collect()
}

fn fields_size(fields: &[(String, String)]) -> usize {
    fields
        .iter()
        .map(|(n, v)| Measure::Chars.of(n) + Measure::Chars.of(v))
        .sum()
}

/// The card's facts as embed fields (name, value) within `budget` characters and
/// Discord's count: the trailing ones give way to a last field counting them.
fn fields_within(outline: &Outline, budget: usize) -> Vec<(String, String)> {
    let or_blank = |text: String| {
        if text.trim().is_empty() {
            BLANK.to_string()
        } else {
            text
        }
    };
    let mut fields: Vec<(String, String)> = outline
        .facts()
        .map(|f| {
            let value = markdown::guard_mentions(&markdown::escape(&f.value));
            (
                split::clip(&or_blank(f.title.clone()), FIELD_NAME_CHARS, Measure::Chars),
                split::clip(&or_blank(value), FIELD_VALUE_CHARS, Measure::Chars),
            )
        })
        .collect();
    let note_size = Measure::Chars.of(&more(fields.len(), "field")) + 1;
    if fields.len() > MAX_FIELDS || fields_size(&fields) > budget {
        let total = fields.len();
        fields.truncate(MAX_FIELDS - 1);
        while !fields.is_empty() && fields_size(&fields) + note_size > budget {
            fields.pop();
        }
        if fields_size(&fields) + note_size <= budget {
            fields.push((BLANK.to_string(), more(total - fields.len(), "field")));
        }
    }
    fields
}

/// Discord pings only what `allowed_mentions` lists: here, the mentions the mapping
/// wrote itself. Payload text reaches the markdown escaped (`\<`, `\@`), so an
/// unescaped `<@id>`, `<@&id>` or `@everyone` can only be the mapping's own. A card's
/// embed pings no one, so a card allows nothing.
fn allowed_mentions(message: &Message) -> Value {
    let mut users = Vec::new();
    let mut roles = Vec::new();
    let mut everyone = false;
    let text = if message.card.is_some() {
        ""
    } else {
        message.text.as_str()
    };
    let mut rest = text;
    while let Some(at) = rest.find(['<', '@', '\\']) {
        let tail = &rest[at..];
        if tail.starts_with('\\') {
            rest = tail
                .get(1..)
                .map_or("", |t| &t[t.chars().next().map_or(0, char::len_utf8)..]);
            continue;
        }
        if let Some(id) = tail.strip_prefix("<@&").and_then(snowflake) {
            roles.push(id);
        } else if let Some(id) = tail.strip_prefix("<@").and_then(snowflake) {
            users.push(id);
        } else if tail.starts_with("@everyone") || tail.starts_with("@here") {
            everyone = true;
        }
        rest = &tail[1..];
    }
    let parse: Vec<&str> = if everyone {
        vec!["everyone"]
    } else {
        Vec::new()
    };
    json!({"parse": parse, "users": users, "roles": roles})
}

/// The id of `123>...`, as Discord writes user and role ids.
fn snowflake(text: &str) -> Option<String> {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    let closed = text[digits.len()..].starts_with('>');
    (!digits.is_empty() && closed).then_some(digits)
}

/// The card as one embed within `budget` characters: trailing fields give way first
/// (counted in a last field), then the description is trimmed.
fn embed(outline: &Outline, message: &Message, budget: usize) -> Value {
    let mut out = Map::new();
    let title = outline
        .title
        .clone()
        .unwrap_or_else(|| markdown::to_plain(&message.title));
    let title = split::clip(&title, TITLE_CHARS.min(budget), Measure::Chars);
    insert_non_empty(&mut out, "title", &title);
    if let Some(link) = outline.links.first() {
        out.insert("url".into(), link.url.clone().into());
    }
    let fields_budget = budget.saturating_sub(Measure::Chars.of(&title) + 1);
    let fields = fields_within(outline, fields_budget);
    let room = fields_budget
        .saturating_sub(fields_size(&fields))
        .min(DESCRIPTION_CHARS);
    // Below this, not even "…and 9999 more lines" fits: better no description.
    if room >= 64 {
        let description = split::fit_one_converted(
            &outline.text_and_more_links("\n"),
            room,
            Measure::Chars,
            markdown::guard_mentions,
        );
        insert_non_empty(&mut out, "description", &description);
    }
    if !fields.is_empty() {
        let fields: Vec<Value> = fields
            .into_iter()
            .map(|(name, value)| json!({"name": name, "value": value, "inline": true}))
            .collect();
        out.insert("fields".into(), fields.into());
    }
    if let Some(url) = outline.first_image() {
        out.insert("image".into(), json!({ "url": url }));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_mentions_the_mapping_wrote_are_allowed() {
        let mut m = message("x");
        m.text = "<@111> <@&222> @here \\@everyone \\<@333> \\<@&444>".into();
        assert_eq!(
            allowed_mentions(&m),
            json!({"parse": ["everyone"], "users": ["111"], "roles": ["222"]})
        );
        m.text = "payload says \\@everyone and \\<@1\\>".into();
        assert_eq!(
            allowed_mentions(&m),
            json!({"parse": [], "users": [], "roles": []})
        );
    }
    use crate::target::tests::message;

    fn embed_size(embed: &Value) -> usize {
        let chars = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
        chars(&embed["title"])
            + chars(&embed["description"])
            + embed["fields"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| chars(&f["name"]) + chars(&f["value"]))
                .sum::<usize>()
    }

    #[test]
    fn content_keeps_markdown_and_breaks_payload_mentions() {
        let text = format!(
            "**[ABC-1](https://j.test/1)** {}",
            markdown::escape("@everyone *x*")
        );
        assert_eq!(
            bodies(&message(&text), &Options::default()),
            vec![
                json!({"username": "Jira", "content": "**[ABC-1](https://j.test/1)** @\u{200B}everyone \\*x\\*",
                       "allowed_mentions": {"parse": [], "users": [], "roles": []}})
            ]
        );
    }

    #[test]
    fn long_content_is_split_into_numbered_messages() {
        let text = "a line of the message\n".repeat(300);
        let parts = bodies(
            &message(&text),
            &Options {
                max_parts: 10,
                ..Options::default()
            },
        );
        assert!(parts.len() > 2);
        for (i, body) in parts.iter().enumerate() {
            let content = body["content"].as_str().unwrap();
            assert!(content.chars().count() <= CONTENT_BUDGET);
            assert!(content.ends_with(&format!("({}/{})", i + 1, parts.len())));
        }
    }

    #[test]
    fn a_card_becomes_an_embed_within_discords_limits() {
        let facts: Vec<Value> = (0..40)
            .map(|i| json!({"title": format!("fact {i}"), "value": "v".repeat(400)}))
            .collect();
        let card = json!({"body": [
            {"type": "TextBlock", "text": "t".repeat(300), "weight": "Bolder"},
            {"type": "TextBlock", "text": "d".repeat(5000)},
            {"type": "FactSet", "facts": facts},
            {"type": "Image", "url": "https://j.test/p.png"},
        ], "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": "https://j.test/1"}]});
        let msg = Message {
            card: Some(card),
            ..message("text")
        };
        let body = &bodies(&msg, &Options::default())[0];
        let embed = &body["embeds"][0];
        assert_eq!(
            embed["title"].as_str().unwrap().chars().count(),
            TITLE_CHARS
        );
        assert_eq!(embed["url"], "https://j.test/1");
        assert_eq!(embed["image"]["url"], "https://j.test/p.png");
        let fields = embed["fields"].as_array().unwrap();
        assert!(fields.len() <= MAX_FIELDS);
        assert!(fields.last().unwrap()["value"]
            .as_str()
            .unwrap()
            .contains("more fields"));
        assert!(embed_size(embed) <= EMBED_BUDGET, "{}", embed_size(embed));
        for budget in [30, 100, 300] {
            let small = Options {
                max_size: Some(budget),
                ..Options::default()
            };
            let embed = &bodies(&msg, &small)[0]["embeds"][0];
            assert!(embed_size(embed) <= budget, "{budget}: {embed}");
        }
    }
}
