//! Target bodies: pure functions from a [`Message`] to the HTTP bodies one chat service
//! accepts, in its markdown dialect and within its size budget. The gateway, `render`
//! and the golden tests all call [`build`], so what is previewed is what is sent.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::mapping::Message;

mod adaptive;
mod chime;
mod ringcentral;
mod split;

/// A chat service's incoming-webhook format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Chime,
    RingCentral,
    RingCentralLegacy,
    /// Kept locally for people to look at: the message as the mapping made it.
    Preview,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Chime,
        Kind::RingCentral,
        Kind::RingCentralLegacy,
        Kind::Preview,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Chime => "chime",
            Kind::RingCentral => "ringcentral",
            Kind::RingCentralLegacy => "ringcentral-legacy",
            Kind::Preview => "preview",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == text)
            .ok_or_else(|| {
                let known: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "unknown target kind `{text}`: kinds are {}",
                    known.join(", ")
                )
            })
    }
}

/// What to do with a message over the service's size budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Send it as ordered, numbered parts (up to `max_parts`, the last one trimmed).
    Split,
    /// Send one message, cut at a line and ended with "…and N more lines".
    Trim,
}

impl FromStr for Overflow {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "split" => Ok(Overflow::Split),
            "trim" => Ok(Overflow::Trim),
            _ => Err(format!("overflow `{text}` is neither `split` nor `trim`")),
        }
    }
}

/// Per-target shaping, from the target's config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Overrides the kind's own budget (Chime: 4096 bytes of body; RingCentral: 10,000
    /// characters of text), for a service that is stricter than documented.
    pub max_size: Option<usize>,
    pub overflow: Overflow,
    pub max_parts: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_size: None,
            overflow: Overflow::Split,
            max_parts: 5,
        }
    }
}

/// The bodies to POST, in order. Empty when the message has nothing to show.
pub fn build(kind: Kind, message: &Message, options: &Options) -> Vec<Value> {
    if message.text.trim().is_empty() && message.card.is_none() {
        return Vec::new();
    }
    match kind {
        Kind::Chime => chime::bodies(message, options),
        Kind::RingCentral => ringcentral::bodies(message, options),
        Kind::RingCentralLegacy => ringcentral::legacy_bodies(message, options),
        Kind::Preview => vec![preview(message)],
    }
}

/// Everything the mapping produced, with absent parts left out rather than `null`.
fn preview(message: &Message) -> Value {
    let mut body = Map::new();
    body.insert("rule".into(), message.rule.clone().into());
    body.insert("activity".into(), message.activity.clone().into());
    insert_non_empty(&mut body, "title", &message.title);
    body.insert("text".into(), message.text.clone().into());
    if let Some(card) = &message.card {
        body.insert("card".into(), card.clone());
    }
    Value::Object(body)
}

fn insert_non_empty(body: &mut Map<String, Value>, key: &str, value: &str) {
    if !value.is_empty() {
        body.insert(key.into(), value.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn message(text: &str) -> Message {
        Message {
            rule: "r".into(),
            activity: "Jira".into(),
            icon: None,
            title: String::new(),
            text: text.into(),
            card: None,
        }
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in Kind::ALL {
            assert_eq!(kind.name().parse::<Kind>(), Ok(kind));
        }
        let err = "slak".parse::<Kind>().unwrap_err();
        assert!(
            err.contains("chime, ringcentral, ringcentral-legacy, preview"),
            "{err}"
        );
    }

    #[test]
    fn an_empty_message_sends_nothing() {
        for kind in Kind::ALL {
            assert!(build(kind, &message(" \n"), &Options::default()).is_empty());
        }
    }

    #[test]
    fn preview_leaves_out_what_is_absent() {
        let body = build(Kind::Preview, &message("hi"), &Options::default());
        assert_eq!(
            body,
            vec![serde_json::json!({"rule": "r", "activity": "Jira", "text": "hi"})]
        );
    }
}
