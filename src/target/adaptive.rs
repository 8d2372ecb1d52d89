//! A mapping's card made into a complete Adaptive Card for a service: the type and
//! `$schema` it needs, a version the service can draw, and text for clients that
//! cannot draw cards at all.

use serde_json::{json, Map, Value};

use super::more;

const SCHEMA: &str = "http://adaptivecards.io/schemas/adaptive-card.json";

/// `card` with `type`, `$schema`, a `version` no newer than `max_version` and a
/// `fallbackText` (the mapping's own wins).
pub fn adaptive_card(card: &Value, fallback: &str, max_version: &str) -> Value {
    let mut out = match card {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    out.insert("type".into(), "AdaptiveCard".into());
    out.entry("$schema").or_insert_with(|| SCHEMA.into());
    let asked = out.get("version").and_then(Value::as_str).and_then(version);
    if asked.is_none_or(|v| Some(v) > version(max_version)) {
        out.insert("version".into(), max_version.into());
    }
    out.entry("fallbackText").or_insert_with(|| fallback.into());
    Value::Object(out)
}

/// `card` within `budget` bytes of JSON, trimmed by structure: the facts of a FactSet
/// at the end of the body go one by one, any other last element whole, and a closing
/// TextBlock says how many were left out. Actions stay.
pub fn fit_card(card: Value, budget: usize) -> Value {
    // Measured once, then each removal subtracts what it took out (with its comma):
    // a card of thousands of elements costs one serialisation, not one per element.
    let mut size = card.to_string().len();
    let note_size =
        |facts, items| more_note(facts, items).map_or(0, |note| note.to_string().len() + 1);
    let (mut card, mut facts, mut items) = (card, 0, 0);
    while size + note_size(facts, items) > budget {
        let Some(body) = card.get_mut("body").and_then(Value::as_array_mut) else {
            break;
        };
        let Some(last) = body.last_mut() else {
            break;
        };
        let last_facts = last
            .get_mut("facts")
            .and_then(Value::as_array_mut)
            .filter(|facts| facts.len() > 1);
        let removed = if let Some(last_facts) = last_facts {
            facts += 1;
            last_facts.pop()
        } else {
            items += 1;
            body.pop()
        };
        size -= removed.map_or(0, |v| v.to_string().len() + 1).min(size);
    }
    if let (Some(note), Some(body)) = (
        more_note(facts, items),
        card.get_mut("body").and_then(Value::as_array_mut),
    ) {
        body.push(note);
    }
    card
}

/// The TextBlock that says what trimming left out, if it left out anything.
fn more_note(facts: usize, items: usize) -> Option<Value> {
    let note = match (facts, items) {
        (0, 0) => return None,
        (facts, 0) => more(facts, "fact"),
        (0, items) => more(items, "item"),
        (facts, items) => format!("{} and {items} more", more(facts, "fact")),
    };
    Some(json!({"type": "TextBlock", "text": note, "wrap": true, "isSubtle": true}))
}

fn version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fills_in_what_the_service_needs() {
        let card = adaptive_card(&json!({"body": []}), "plain", "1.3");
        assert_eq!(
            card,
            json!({"body": [], "type": "AdaptiveCard", "$schema": SCHEMA, "version": "1.3", "fallbackText": "plain"})
        );
    }

    #[test]
    fn version_is_capped_but_an_older_one_kept() {
        assert_eq!(
            adaptive_card(&json!({"version": "1.5"}), "", "1.3")["version"],
            "1.3"
        );
        assert_eq!(
            adaptive_card(&json!({"version": "1.2"}), "", "1.3")["version"],
            "1.2"
        );
        assert_eq!(
            adaptive_card(&json!({"version": "new"}), "", "1.3")["version"],
            "1.3"
        );
    }
}
