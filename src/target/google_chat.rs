//! Google Chat incoming webhooks: `{"text"}` in Chat's own marks, or a card as cardsV2
//! widgets; a rule's thread key goes in `thread.threadKey`, so updates to one subject
//! land in one thread (the target's URL asks Chat to start the thread if need be).

use serde_json::{json, Map, Value};

use super::outline::{Block, Outline};
use super::split::{self, Measure};
use super::{more, with_part, Options};
use crate::mapping::Message;
use crate::markdown;

/// Bytes per message, text and cards together.
pub const BODY_BUDGET: usize = 32_000;
const MAX_WIDGETS: usize = 100;
const THREAD_KEY_CHARS: usize = 4000;
/// Each widget's text and the title are clipped to this, so one long value cannot take
/// a card's whole budget.
const WIDGET_BYTES: usize = 4000;
const MAX_BUTTONS: usize = 10;
const BUTTON_CHARS: usize = 100;

pub fn bodies(message: &Message, options: &Options) -> Vec<Value> {
    let budget = options.max_size.unwrap_or(BODY_BUDGET);
    let mut head = Map::new();
    if let Some(key) = &message.thread {
        let key = split::clip(key, THREAD_KEY_CHARS, Measure::Chars);
        head.insert("thread".into(), json!({ "threadKey": key }));
    }
    // A card whose every element was left out draws nothing Chat accepts (a section
    // needs a widget): the text says it instead.
    let drawn = message.card.as_ref().map(|card| {
        let outline = Outline::of(card);
        (widgets(&outline), outline)
    });
    if let Some((widgets, outline)) = drawn.filter(|(w, o)| !w.is_empty() || !o.links.is_empty()) {
        let fallback = split::clip(&markdown::to_plain(&message.text), 1000, Measure::Chars);
        head.insert("fallbackText".into(), fallback.into());
        let overhead = Value::Object(head.clone()).to_string().len() + r#","cardsV2":[]"#.len();
        let card = card_v2(
            widgets,
            &outline,
            &message.title,
            budget.saturating_sub(overhead),
        );
        head.insert("cardsV2".into(), json!([card]));
        return vec![Value::Object(head)];
    }
    split::fit_shaped(
        &message.text,
        budget,
        Measure::JsonBytes,
        options,
        |part| with_part(&head, "text", markdown::to_google_chat(part)),
        |body| body.to_string().len(),
    )
}

/// Card text in the HTML subset Chat's widgets read.
fn html(text: &str) -> String {
    // Clipped before escaping, so that no entity is cut; an entity is at most 5 bytes.
    split::clip(text, WIDGET_BYTES / 5, Measure::JsonBytes)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The card's blocks as Chat widgets, in order.
fn widgets(outline: &Outline) -> Vec<Value> {
    let mut widgets = Vec::new();
    for block in &outline.blocks {
        match block {
            Block::Text { text, bold } => {
                let text = if *bold {
                    format!("<b>{}</b>", html(text))
                } else {
                    html(text)
                };
                widgets.push(json!({"textParagraph": { "text": text }}));
            }
            Block::Facts(facts) => widgets.extend(facts.iter().map(|f| {
                json!({"decoratedText": {"topLabel": f.title, "text": html(&f.value), "wrapText": true}})
            })),
            Block::Image { url, alt } => {
                widgets.push(json!({"image": {"imageUrl": url, "altText": alt}}));
            }
        }
    }
    widgets
}

fn card_v2(mut widgets: Vec<Value>, outline: &Outline, title: &str, budget: usize) -> Value {
    let buttons: Vec<Value> = outline
        .links
        .iter()
        .take(MAX_BUTTONS)
        .map(|l| {
            let text = split::clip(&l.title, BUTTON_CHARS, Measure::Chars);
            json!({"text": text, "onClick": {"openLink": {"url": l.url}}})
        })
        .collect();
    let buttons = (!buttons.is_empty()).then(|| json!({"buttonList": {"buttons": buttons}}));
    let mut card = Map::new();
    card.insert("cardId".into(), "message".into());
    let title = outline
        .title
        .clone()
        .unwrap_or_else(|| markdown::to_plain(title));
    let title = split::clip(&title, WIDGET_BYTES, Measure::JsonBytes);
    let mut inner = Map::new();
    if !title.trim().is_empty() {
        inner.insert("header".into(), json!({ "title": title }));
    }
    let shaped = |widgets: &[Value], left_out: usize| {
        let mut all = widgets.to_vec();
        if left_out > 0 {
            all.push(json!({"textParagraph": {"text": more(left_out, "item")}}));
        }
        all.extend(buttons.clone());
        let mut inner = inner.clone();
        inner.insert("sections".into(), json!([{ "widgets": all }]));
        let mut card = card.clone();
        card.insert("card".into(), Value::Object(inner));
        Value::Object(card)
    };
    let total = widgets.len();
    let room = MAX_WIDGETS - 1 - usize::from(buttons.is_some());
    if total > room + 1 {
        widgets.truncate(room);
    }
    while !widgets.is_empty() && shaped(&widgets, total - widgets.len()).to_string().len() > budget
    {
        widgets.pop();
    }
    shaped(&widgets, total - widgets.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::tests::message;

    #[test]
    fn text_uses_chats_marks_and_the_rules_thread_key() {
        let msg = Message {
            thread: Some("ABC-1".into()),
            ..message(&format!(
                "**[ABC-1](https://j.test/1)** {}",
                markdown::escape("<users/all>")
            ))
        };
        assert_eq!(
            bodies(&msg, &Options::default()),
            vec![
                json!({"thread": {"threadKey": "ABC-1"}, "text": "*<https://j.test/1|ABC-1>* <\u{200B}users/all>"})
            ]
        );
    }

    #[test]
    fn a_card_with_nothing_left_to_draw_sends_the_text() {
        let card = json!({"body": [
            {"type": "TextBlock", "text": "Only a heading", "weight": "Bolder"},
            {"type": "FactSet", "facts": []},
        ]});
        let msg = Message {
            card: Some(card),
            ..message("**Only a heading**")
        };
        assert_eq!(
            bodies(&msg, &Options::default()),
            vec![json!({"text": "*Only a heading*"})]
        );
    }

    #[test]
    fn a_card_becomes_cards_v2_widgets_within_the_limits() {
        let facts: Vec<Value> = (0..150)
            .map(|i| json!({"title": format!("fact {i}"), "value": "<v>"}))
            .collect();
        let card = json!({"body": [
            {"type": "TextBlock", "text": "ABC-1", "weight": "Bolder"},
            {"type": "TextBlock", "text": "Fix <b>"},
            {"type": "FactSet", "facts": facts},
        ], "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": "https://j.test/1"}]});
        let msg = Message {
            card: Some(card),
            ..message("**ABC-1** fixed")
        };
        let body = &bodies(&msg, &Options::default())[0];
        assert_eq!(body["fallbackText"], "ABC-1 fixed");
        let card = &body["cardsV2"][0]["card"];
        assert_eq!(card["header"]["title"], "ABC-1");
        let widgets = card["sections"][0]["widgets"].as_array().unwrap();
        assert_eq!(widgets.len(), MAX_WIDGETS);
        assert_eq!(widgets[0]["textParagraph"]["text"], "Fix &lt;b&gt;");
        assert_eq!(widgets[1]["decoratedText"]["text"], "&lt;v&gt;");
        assert_eq!(widgets[98]["textParagraph"]["text"], "…and 53 more items");
        assert_eq!(
            widgets[99]["buttonList"]["buttons"][0]["onClick"]["openLink"]["url"],
            "https://j.test/1"
        );

        let huge = Message {
            card: Some(json!({"body": [{"type": "TextBlock", "text": "<&>".repeat(40_000)}]})),
            title: "t".repeat(50_000),
            ..message("x")
        };
        let body = &bodies(&huge, &Options::default())[0];
        assert!(
            body.to_string().len() <= BODY_BUDGET,
            "{}",
            body.to_string().len()
        );
        let widgets = &body["cardsV2"][0]["card"]["sections"][0]["widgets"];
        let shown = widgets[0]["textParagraph"]["text"].as_str().unwrap();
        assert!(shown.ends_with(";…"), "an entity was cut: {shown}");

        let small = bodies(
            &msg,
            &Options {
                max_size: Some(2000),
                ..Options::default()
            },
        );
        assert!(
            small[0].to_string().len() <= 2000,
            "{}",
            small[0].to_string().len()
        );
    }
}
