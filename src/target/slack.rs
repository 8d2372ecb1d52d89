//! Slack incoming webhooks: `{"text": mrkdwn}`, or a card as Block Kit blocks with the
//! text kept beside them for notifications and clients without blocks.

use serde_json::{json, Value};

use super::outline::{Block, Outline};
use super::split::{self, Measure};
use super::{more, Options};
use crate::mapping::Message;
use crate::markdown;

/// Slack cuts `text` longer than this (and warns `message_truncated`).
pub const TEXT_BUDGET: usize = 40_000;
const MAX_BLOCKS: usize = 50;
const SECTION_CHARS: usize = 3000;
const FIELD_CHARS: usize = 2000;
const FIELDS_PER_SECTION: usize = 10;
const HEADER_CHARS: usize = 150;
const BUTTONS: usize = 25;
const BUTTON_CHARS: usize = 75;

pub fn bodies(message: &Message, options: &Options) -> Vec<Value> {
    let budget = options.max_size.unwrap_or(TEXT_BUDGET);
    if let Some(card) = &message.card {
        let text = split::fit_one_converted(
            &message.text,
            budget.min(SECTION_CHARS),
            Measure::Chars,
            markdown::to_slack,
        );
        let blocks = blocks(&Outline::of(card), &message.title);
        return vec![json!({ "text": text, "blocks": blocks })];
    }
    split::fit_converted(
        &message.text,
        budget,
        Measure::Chars,
        options,
        markdown::to_slack,
    )
    .into_iter()
    .map(|text| json!({ "text": text }))
    .collect()
}

/// Plain card text as mrkdwn within `budget` characters.
fn mrkdwn(plain: &str, budget: usize) -> String {
    split::fit_one_converted(
        &markdown::escape(plain),
        budget,
        Measure::Chars,
        markdown::to_slack,
    )
}

fn blocks(outline: &Outline, title: &str) -> Vec<Value> {
    let mut blocks = Vec::new();
    // A card's title is plain text already; the rule's title is markdown.
    let title = outline
        .title
        .clone()
        .unwrap_or_else(|| markdown::to_plain(title));
    if !title.trim().is_empty() {
        let text = split::clip(&title, HEADER_CHARS, Measure::Chars);
        blocks.push(
            json!({"type": "header", "text": {"type": "plain_text", "text": text, "emoji": true}}),
        );
    }
    for block in &outline.blocks {
        match block {
            Block::Text { text, bold } => {
                let text = mrkdwn(text, SECTION_CHARS - 2);
                blocks.push(section(if *bold { format!("*{text}*") } else { text }));
            }
            Block::Facts(facts) => {
                for chunk in facts.chunks(FIELDS_PER_SECTION) {
                    let fields: Vec<Value> = chunk
                        .iter()
                        .map(|f| {
                            let text = format!("*{}*\n{}", mrkdwn(&f.title, 200), mrkdwn(&f.value, 1500));
                            json!({"type": "mrkdwn", "text": split::clip(&text, FIELD_CHARS, Measure::Chars)})
                        })
                        .collect();
                    blocks.push(json!({"type": "section", "fields": fields}));
                }
            }
            Block::Image { url, alt } => {
                let alt = if alt.is_empty() { "image" } else { alt };
                blocks.push(json!({"type": "image", "image_url": url, "alt_text": alt}));
            }
        }
    }
    let actions = (!outline.links.is_empty()).then(|| {
        let buttons: Vec<Value> = outline
            .links
            .iter()
            .take(BUTTONS)
            .map(|link| {
                let label = split::clip(&link.title, BUTTON_CHARS, Measure::Chars);
                json!({"type": "button", "text": {"type": "plain_text", "text": label}, "url": link.url})
            })
            .collect();
        json!({"type": "actions", "elements": buttons})
    });
    let room = MAX_BLOCKS - usize::from(actions.is_some());
    if blocks.len() > room {
        let left_out = blocks.len() - (room - 1);
        blocks.truncate(room - 1);
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": more(left_out, "block")}]}));
    }
    blocks.extend(actions);
    blocks
}

fn section(text: String) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::tests::message;

    #[test]
    fn text_is_mrkdwn_with_payload_markup_escaped() {
        let text = format!(
            "**[ABC-1](https://j.test/ABC-1?a=1&b=2)** {}",
            markdown::escape("<!channel> & co")
        );
        assert_eq!(
            bodies(&message(&text), &Options::default()),
            vec![
                json!({"text": "*<https://j.test/ABC-1?a=1&amp;b=2|ABC-1>* &lt;!channel&gt; &amp; co"})
            ]
        );
    }

    #[test]
    fn a_card_becomes_blocks_within_slacks_limits() {
        let facts: Vec<Value> = (0..600)
            .map(|i| json!({"title": format!("f{i}"), "value": "x".repeat(3000)}))
            .collect();
        let card = json!({"body": [
            {"type": "TextBlock", "text": "ABC-1 <created>", "weight": "Bolder"},
            {"type": "TextBlock", "text": "y".repeat(5000)},
            {"type": "FactSet", "facts": facts},
        ], "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": "https://j.test/1"}]});
        let msg = Message {
            card: Some(card),
            ..message("**ABC-1** created")
        };
        let body = &bodies(&msg, &Options::default())[0];
        assert_eq!(body["text"], "*ABC-1* created");
        let blocks = body["blocks"].as_array().unwrap();
        assert_eq!(blocks.len(), MAX_BLOCKS);
        assert_eq!(blocks[0]["text"]["text"], "ABC-1 <created>");
        assert!(blocks[1]["text"]["text"].as_str().unwrap().chars().count() <= SECTION_CHARS);
        for block in blocks {
            for field in block["fields"].as_array().into_iter().flatten() {
                assert!(field["text"].as_str().unwrap().chars().count() <= FIELD_CHARS);
            }
        }
        assert_eq!(blocks[48]["elements"][0]["text"], "…and 14 more blocks");
        assert_eq!(blocks[49]["elements"][0]["url"], "https://j.test/1");
    }
}
