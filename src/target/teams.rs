//! Microsoft Teams Workflows webhooks: an Adaptive Card (1.5 at most) in a message
//! envelope. Text becomes a card of its own, one TextBlock per line, since Teams joins
//! the lines of a single TextBlock.

use serde_json::{json, Value};

use super::adaptive::{adaptive_card, fit_card};
use super::split::{self, Measure};
use super::Options;
use crate::mapping::Message;
use crate::markdown;

/// Bytes of request body Teams takes ("Request Entity too large" above).
pub const BODY_BUDGET: usize = 28_672;
/// A card's text for notifications and clients without cards: a summary, so that the
/// card, not a second copy of it, gets the budget.
const FALLBACK_BYTES: usize = 2000;
/// The newest card version Teams draws; a mapping's card keeps an older one.
const CARD_VERSION: &str = "1.5";
/// Cards made from text need nothing newer, and some Workflows have been reported to
/// refuse cards that declare more than 1.4.
const TEXT_CARD_VERSION: &str = "1.4";

pub fn bodies(message: &Message, options: &Options) -> Vec<Value> {
    let budget = options.max_size.unwrap_or(BODY_BUDGET);
    if let Some(card) = &message.card {
        let card = adaptive_card(card, &fallback(&message.text), CARD_VERSION);
        let overhead = envelope(json!({})).to_string().len() - "{}".len();
        return vec![envelope(fit_card(card, budget.saturating_sub(overhead)))];
    }
    split::fit_shaped(
        &message.text,
        budget,
        Measure::JsonBytes,
        options,
        |part| envelope(text_card(&message.title, part)),
        |body| body.to_string().len(),
    )
}

fn envelope(card: Value) -> Value {
    json!({
        "type": "message",
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}]
    })
}

/// The title in bold, then each line of text; code lines in a monospace font.
fn text_card(title: &str, text: &str) -> Value {
    let mut body = Vec::new();
    if !title.trim().is_empty() {
        let title = markdown::to_plain(title);
        body.push(json!({"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": true}));
    }
    let mut in_fence = false;
    let mut gap = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if line.trim().is_empty() && !in_fence {
            gap = true;
            continue;
        }
        let spacing = if gap { "Medium" } else { "None" };
        gap = false;
        let block = if in_fence {
            json!({"type": "TextBlock", "text": line, "fontType": "Monospace", "wrap": true, "spacing": spacing})
        } else {
            json!({"type": "TextBlock", "text": markdown::to_teams(line), "wrap": true, "spacing": spacing})
        };
        body.push(block);
    }
    json!({
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": TEXT_CARD_VERSION,
        "body": body,
        "fallbackText": fallback(text),
    })
}

fn fallback(text: &str) -> String {
    split::fit_one(
        &markdown::to_plain(text),
        FALLBACK_BYTES,
        Measure::JsonBytes,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::tests::message;

    #[test]
    fn text_is_a_card_of_lines_in_the_workflows_envelope() {
        let msg = Message {
            title: "ABC-1 created".into(),
            ..message("# Head\n**b** [l](https://x)\n\n```\nlet x = 1;\n```")
        };
        let body = &bodies(&msg, &Options::default())[0];
        assert_eq!(body["type"], "message");
        let attachment = &body["attachments"][0];
        assert_eq!(
            attachment["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        let blocks: Vec<(&str, &str)> = attachment["content"]["body"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b["text"].as_str().unwrap(),
                    b["spacing"].as_str().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            blocks,
            [
                ("ABC-1 created", ""),
                ("**Head**", "None"),
                ("**b** [l](https://x)", "None"),
                ("let x = 1;", "Medium")
            ]
        );
    }

    #[test]
    fn a_mapping_card_keeps_its_version_and_an_oversize_one_is_trimmed() {
        let facts: Vec<Value> = (0..400)
            .map(|i| json!({"title": format!("fact {i}"), "value": "v".repeat(100)}))
            .collect();
        let card = json!({"type": "AdaptiveCard", "version": "1.3", "body": [
            {"type": "TextBlock", "text": "ABC-1"},
            {"type": "FactSet", "facts": facts}
        ]});
        // A rule with only a card has the card flattened as its text: as large as it.
        let msg = Message {
            card: Some(card),
            ..message(&"fact 1: a long value\n".repeat(2000))
        };
        let body = &bodies(&msg, &Options::default())[0];
        assert!(body.to_string().len() <= BODY_BUDGET);
        let content = &body["attachments"][0]["content"];
        assert_eq!(content["version"], "1.3");
        let last = content["body"].as_array().unwrap().last().unwrap();
        assert!(
            last["text"].as_str().unwrap().contains("more facts"),
            "{last}"
        );
    }

    #[test]
    fn long_text_is_split_into_cards_within_the_budget() {
        let text = "a line of the message\n".repeat(2000);
        let parts = bodies(
            &message(&text),
            &Options {
                max_parts: 20,
                ..Options::default()
            },
        );
        assert!(parts.len() > 1);
        assert!(parts.iter().all(|b| b.to_string().len() <= BODY_BUDGET));
    }
}
