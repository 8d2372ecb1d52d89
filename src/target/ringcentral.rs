//! RingCentral (once Glip) incoming webhooks. v2 (`/webhook/v2/...`) takes text or
//! Adaptive Card 1.3 attachments; the legacy v1 format (`/webhook/...`) takes a body
//! and "Card" attachments with fields. Both speak RingCentral's mini-markdown.

use serde_json::{json, Map, Value};

use super::adaptive::adaptive_card;
use super::outline::Outline;
use super::split::{self, Measure};
use super::{insert_fields_and_image, insert_non_empty, with_part, Options};
use crate::mapping::Message;
use crate::markdown;

/// Characters of text per post: RingCentral rejects longer ones.
pub const TEXT_BUDGET: usize = 10_000;
const CARD_VERSION: &str = "1.3";
/// Legacy card limits: the text in characters, every other field in bytes.
const LEGACY_TEXT_CHARS: usize = 1000;
const LEGACY_FIELD_BYTES: usize = 300;

pub fn bodies(message: &Message, options: &Options) -> Vec<Value> {
    let mut head = header(message, "iconUrl");
    if let Some(card) = &message.card {
        let fallback = markdown::to_plain(&message.text);
        head.insert(
            "attachments".into(),
            json!([adaptive_card(card, &fallback, CARD_VERSION)]),
        );
        return vec![Value::Object(head)];
    }
    with_text_parts(head, "text", message, options)
}

pub fn legacy_bodies(message: &Message, options: &Options) -> Vec<Value> {
    let mut head = header(message, "icon");
    if let Some(card) = &message.card {
        head.insert("attachments".into(), json!([legacy_card(card, message)]));
        return vec![Value::Object(head)];
    }
    with_text_parts(head, "body", message, options)
}

fn header(message: &Message, icon_key: &str) -> Map<String, Value> {
    let mut head = Map::new();
    insert_non_empty(&mut head, "activity", &message.activity);
    if let Some(icon) = &message.icon {
        insert_non_empty(&mut head, icon_key, icon);
    }
    insert_non_empty(
        &mut head,
        "title",
        &markdown::to_ringcentral(&message.title),
    );
    head
}

fn with_text_parts(
    head: Map<String, Value>,
    key: &str,
    message: &Message,
    options: &Options,
) -> Vec<Value> {
    split::fit_converted(
        message.text.trim_end(),
        options.max_size.unwrap_or(TEXT_BUDGET),
        Measure::Chars,
        options,
        markdown::to_ringcentral,
    )
    .into_iter()
    .map(|part| with_part(&head, key, part))
    .collect()
}

/// The Adaptive Card re-drawn as a v1 Card: facts become fields, the first link the
/// title's link, the first image the card's image; the text carries the rest.
fn legacy_card(card: &Value, message: &Message) -> Value {
    let outline = Outline::of(card);
    let mut out = Map::new();
    out.insert("type".into(), "Card".into());
    out.insert(
        "fallback".into(),
        clip_field(&markdown::to_plain(&message.text)).into(),
    );
    insert_non_empty(
        &mut out,
        "title",
        &clip_field(&markdown::to_plain(&message.title)),
    );
    let link = outline.links.first().map(|l| l.url.as_str());
    if let Some(url) = link.filter(|u| u.len() <= LEGACY_FIELD_BYTES) {
        out.insert("title_link".into(), url.into());
    }
    let text = markdown::to_ringcentral(message.text.trim_end());
    let text = split::fit_one(&text, LEGACY_TEXT_CHARS, Measure::Chars);
    out.insert("text".into(), text.into());
    insert_fields_and_image(&mut out, &outline, clip_field, clip_field);
    Value::Object(out)
}

/// Within the legacy 300-byte field limit.
fn clip_field(text: &str) -> String {
    split::clip(text, LEGACY_FIELD_BYTES, Measure::JsonBytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::tests::message;

    fn with_card() -> Message {
        Message {
            title: "Task ABC-1 created".into(),
            icon: Some("https://x/icon.png".into()),
            card: Some(json!({
                "type": "AdaptiveCard", "version": "1.3",
                "body": [
                    {"type": "TextBlock", "text": "ABC-1"},
                    {"type": "FactSet", "facts": [{"title": "Status", "value": "To Do"}, {"title": "Long", "value": "é".repeat(200)}]},
                    {"type": "Image", "url": "https://x/pic.png"}
                ],
                "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": "https://x/browse/ABC-1"}]
            })),
            ..message("🆕 **[ABC-1](https://x/browse/ABC-1)** _Fix_ login")
        }
    }

    #[test]
    fn v2_text_is_mini_markdown_with_activity_and_title() {
        let msg = Message {
            title: "Fix \\[bugs\\]".into(),
            ..message("_Fix_ **now**\n# Heading")
        };
        assert_eq!(
            bodies(&msg, &Options::default()),
            vec![
                json!({"activity": "Jira", "title": "Fix [bugs]", "text": "*Fix* **now**\n**Heading**"})
            ]
        );
    }

    #[test]
    fn v2_card_goes_in_attachments_with_a_plain_fallback() {
        let body = &bodies(&with_card(), &Options::default())[0];
        assert_eq!(body["iconUrl"], "https://x/icon.png");
        let card = &body["attachments"][0];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["version"], "1.3");
        assert_eq!(
            card["fallbackText"],
            "🆕 ABC-1 (https://x/browse/ABC-1) Fix login"
        );
        assert!(body.get("text").is_none());
    }

    #[test]
    fn v2_long_text_is_split_within_10000_characters() {
        let text = (0..2000)
            .map(|i| format!("line {i} é"))
            .collect::<Vec<_>>()
            .join("\n");
        let parts = bodies(
            &message(&text),
            &Options {
                max_parts: 10,
                ..Options::default()
            },
        );
        assert!(parts.len() > 1);
        assert!(parts
            .iter()
            .all(|b| b["text"].as_str().unwrap().chars().count() <= TEXT_BUDGET));
    }

    #[test]
    fn legacy_card_has_fields_link_image_and_clipped_values() {
        let body = &legacy_bodies(&with_card(), &Options::default())[0];
        assert_eq!(body["icon"], "https://x/icon.png");
        let card = &body["attachments"][0];
        assert_eq!(card["type"], "Card");
        assert_eq!(card["title"], "Task ABC-1 created");
        assert_eq!(card["title_link"], "https://x/browse/ABC-1");
        assert_eq!(card["image_url"], "https://x/pic.png");
        assert_eq!(
            card["fields"][0],
            json!({"title": "Status", "value": "To Do", "short": true})
        );
        let long = card["fields"][1]["value"].as_str().unwrap();
        assert!(long.len() <= LEGACY_FIELD_BYTES && long.ends_with('…'));
        assert_eq!(
            card["text"],
            "🆕 **[ABC-1](https://x/browse/ABC-1)** *Fix* login"
        );
    }

    #[test]
    fn legacy_text_goes_in_body() {
        assert_eq!(
            legacy_bodies(&message("hi"), &Options::default()),
            vec![json!({"activity": "Jira", "body": "hi"})]
        );
    }

    #[test]
    fn legacy_card_text_is_trimmed_to_1000_characters() {
        let text = (0..300)
            .map(|i| format!("line {i}"))
            .collect::<Vec<_>>()
            .join("\n");
        let msg = Message {
            card: Some(json!({"body": []})),
            ..message(&text)
        };
        let card = &legacy_bodies(&msg, &Options::default())[0]["attachments"][0];
        let shown = card["text"].as_str().unwrap();
        assert!(shown.chars().count() <= LEGACY_TEXT_CHARS && shown.ends_with("more lines"));
    }
}
