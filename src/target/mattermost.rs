//! Mattermost incoming webhooks: `{"text": markdown}` (Mattermost reads CommonMark), or a
//! card as a Slack-style attachment. `username` and `icon_url` show the source when the
//! server allows webhooks to set them, and are ignored otherwise.

use serde_json::{json, Map, Value};

use super::outline::Outline;
use super::split::{self, Measure};
use super::{insert_fields_and_image, insert_non_empty, with_part, Options};
use crate::mapping::Message;
use crate::markdown;

/// Characters of text per post: above it Mattermost splits the post itself, without
/// saying which part is which.
pub const TEXT_BUDGET: usize = 16_383;
const FALLBACK_CHARS: usize = 3000;

pub fn bodies(message: &Message, options: &Options) -> Vec<Value> {
    let budget = options.max_size.unwrap_or(TEXT_BUDGET);
    let mut head = Map::new();
    insert_non_empty(&mut head, "username", &message.activity);
    if let Some(icon) = &message.icon {
        insert_non_empty(&mut head, "icon_url", icon);
    }
    if let Some(card) = &message.card {
        head.insert(
            "attachments".into(),
            json!([attachment(&Outline::of(card), message, budget)]),
        );
        return vec![Value::Object(head)];
    }
    split::fit_converted(
        &message.text,
        budget,
        Measure::Chars,
        options,
        markdown::guard_mentions,
    )
    .into_iter()
    .map(|text| with_part(&head, "text", text))
    .collect()
}

fn attachment(outline: &Outline, message: &Message, budget: usize) -> Value {
    let mut out = Map::new();
    let fallback = markdown::break_mentions(&markdown::to_plain(&message.text));
    out.insert(
        "fallback".into(),
        split::clip(&fallback, FALLBACK_CHARS, Measure::Chars).into(),
    );
    let title = outline
        .title
        .clone()
        .unwrap_or_else(|| markdown::to_plain(&message.title));
    insert_non_empty(&mut out, "title", &markdown::break_mentions(&title));
    if let Some(link) = outline.links.first() {
        out.insert("title_link".into(), link.url.clone().into());
    }
    let text = split::fit_one_converted(
        &outline.text_and_more_links("\n\n"),
        budget,
        Measure::Chars,
        markdown::guard_mentions,
    );
    insert_non_empty(&mut out, "text", &text);
    insert_fields_and_image(&mut out, outline, markdown::break_mentions, |value| {
        markdown::guard_mentions(&markdown::escape(value))
    });
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::tests::message;

    #[test]
    fn text_is_markdown_with_payload_mentions_broken() {
        let text = format!("@channel {}", markdown::escape("@all *x*"));
        assert_eq!(
            bodies(&message(&text), &Options::default()),
            vec![json!({"username": "Jira", "text": "@channel @\u{200B}all \\*x\\*"})]
        );
    }

    #[test]
    fn a_card_becomes_an_attachment_with_fields_and_a_title_link() {
        let card = json!({"body": [
            {"type": "TextBlock", "text": "ABC-1", "size": "Large"},
            {"type": "TextBlock", "text": "Fix *it*"},
            {"type": "FactSet", "facts": [{"title": "Status", "value": "Done"}]},
        ], "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": "https://j.test/1"},
                       {"type": "Action.OpenUrl", "title": "Board", "url": "https://j.test/b"}]});
        let msg = Message {
            card: Some(card),
            ..message("**ABC-1** fixed")
        };
        let body = &bodies(&msg, &Options::default())[0];
        assert_eq!(
            body["attachments"][0],
            json!({"fallback": "ABC-1 fixed", "title": "ABC-1", "title_link": "https://j.test/1",
                   "text": "Fix \\*it\\*\n\n[Board](https://j.test/b)",
                   "fields": [{"title": "Status", "value": "Done", "short": true}]})
        );
    }

    #[test]
    fn long_text_is_split_within_the_post_limit() {
        let text = "line of text\n".repeat(3000);
        let parts = bodies(&message(&text), &Options::default());
        assert!(parts.len() > 1);
        assert!(parts
            .iter()
            .all(|b| b["text"].as_str().unwrap().chars().count() <= TEXT_BUDGET));
    }
}
