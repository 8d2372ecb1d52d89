//! Target bodies: pure functions from a [`Message`] to the HTTP bodies one chat service
//! accepts, in its markdown dialect and within its size budget. The gateway, `render`
//! and the golden tests all call [`build`], so what is previewed is what is sent.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::mapping::Message;
use crate::markdown;

mod adaptive;
mod chime;
mod discord;
mod google_chat;
mod mattermost;
mod outline;
mod ringcentral;
mod slack;
mod split;
mod teams;

/// A chat service's incoming-webhook format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Chime,
    RingCentral,
    RingCentralLegacy,
    Slack,
    /// Microsoft Teams Workflows webhooks (Office 365 connectors are retired).
    Teams,
    GoogleChat,
    Discord,
    Mattermost,
    /// Any endpoint: the rule's own `http` body, method and headers, else the message
    /// as JSON.
    Http,
    /// Kept locally for people to look at: the message as the mapping made it.
    Preview,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::Chime,
        Kind::RingCentral,
        Kind::RingCentralLegacy,
        Kind::Slack,
        Kind::Teams,
        Kind::GoogleChat,
        Kind::Discord,
        Kind::Mattermost,
        Kind::Http,
        Kind::Preview,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Chime => "chime",
            Kind::RingCentral => "ringcentral",
            Kind::RingCentralLegacy => "ringcentral-legacy",
            Kind::Slack => "slack",
            Kind::Teams => "teams",
            Kind::GoogleChat => "google-chat",
            Kind::Discord => "discord",
            Kind::Mattermost => "mattermost",
            Kind::Http => "http",
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
    /// Overrides the kind's own budget (see each kind's module: Chime 4096 bytes of
    /// body, Slack 40,000 characters of text...), for a service stricter than
    /// documented; for `http` it is the only budget.
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

/// The bodies to send, in order. Empty when the message has nothing to show.
pub fn build(kind: Kind, message: &Message, options: &Options) -> Vec<Value> {
    if kind == Kind::Http {
        if let Some(body) = message.http.as_ref().and_then(|h| h.body.clone()) {
            return vec![body];
        }
    }
    if message.text.trim().is_empty() && message.card.is_none() {
        return Vec::new();
    }
    match kind {
        Kind::Chime => chime::bodies(message, options),
        Kind::RingCentral => ringcentral::bodies(message, options),
        Kind::RingCentralLegacy => ringcentral::legacy_bodies(message, options),
        Kind::Slack => slack::bodies(message, options),
        Kind::Teams => teams::bodies(message, options),
        Kind::GoogleChat => google_chat::bodies(message, options),
        Kind::Discord => discord::bodies(message, options),
        Kind::Mattermost => mattermost::bodies(message, options),
        Kind::Http => http_bodies(message, options),
        Kind::Preview => {
            let budget = options.max_size.unwrap_or(PREVIEW_BUDGET);
            let text = split::fit_one(&message.text, budget, split::Measure::JsonBytes);
            vec![preview(message, &text)]
        }
    }
}

/// Bytes of text a preview keeps per message: the page is for reading, and its store
/// rows should not grow with whatever a sender posts.
pub const PREVIEW_BUDGET: usize = 64 * 1024;

/// Everything the mapping produced, with absent parts left out rather than `null`.
fn preview(message: &Message, text: &str) -> Value {
    let mut body = Map::new();
    body.insert("rule".into(), message.rule.clone().into());
    body.insert("activity".into(), message.activity.clone().into());
    // The title template escapes payload text as markdown; as data it is plain text.
    insert_non_empty(&mut body, "title", &markdown::to_plain(&message.title));
    body.insert("text".into(), text.into());
    if let Some(card) = &message.card {
        body.insert("card".into(), card.clone());
    }
    if let Some(thread) = &message.thread {
        body.insert("thread".into(), thread.clone().into());
    }
    Value::Object(body)
}

/// An `http` target without a body of the rule's own gets the message as JSON; with a
/// `max_size`, its text is split so that each whole body stays within it.
fn http_bodies(message: &Message, options: &Options) -> Vec<Value> {
    let Some(budget) = options.max_size else {
        return vec![preview(message, &message.text)];
    };
    let overhead = preview(message, "").to_string().len();
    split::fit(
        &message.text,
        budget.saturating_sub(overhead),
        split::Measure::JsonBytes,
        options,
    )
    .iter()
    .map(|part| preview(message, part))
    .collect()
}

/// "…and 1 more fact", "…and 3 more items": what a trimmed structure left out.
fn more(count: usize, what: &str) -> String {
    let plural = if count == 1 { "" } else { "s" };
    format!("…and {count} more {what}{plural}")
}

/// `head` (what every part of a message repeats) with one part's `text` under `key`.
fn with_part(head: &Map<String, Value>, key: &str, text: String) -> Value {
    let mut body = head.clone();
    body.insert(key.into(), text.into());
    Value::Object(body)
}

/// A Slack-style attachment's `fields` (a short field per fact) and `image_url`, which
/// Mattermost and legacy RingCentral both take.
fn insert_fields_and_image(
    out: &mut Map<String, Value>,
    outline: &outline::Outline,
    title: impl Fn(&str) -> String,
    value: impl Fn(&str) -> String,
) {
    let fields: Vec<Value> = outline
        .facts()
        .map(|f| serde_json::json!({"title": title(&f.title), "value": value(&f.value), "short": true}))
        .collect();
    if !fields.is_empty() {
        out.insert("fields".into(), fields.into());
    }
    if let Some(url) = outline.first_image() {
        out.insert("image_url".into(), url.into());
    }
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
            thread: None,
            http: None,
        }
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in Kind::ALL {
            assert_eq!(kind.name().parse::<Kind>(), Ok(kind));
        }
        let err = "slak".parse::<Kind>().unwrap_err();
        assert!(
            err.contains("chime, ringcentral, ringcentral-legacy, slack, teams, google-chat, discord, mattermost, http, preview"),
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
    fn a_rules_own_http_body_method_and_headers_are_for_http_targets_only() {
        let with_http = Message {
            http: Some(Box::new(crate::mapping::HttpParts {
                method: Some("PUT".into()),
                headers: vec![("X-Key".into(), "ABC-1".into())],
                body: Some(serde_json::json!({"key": "ABC-1"})),
            })),
            ..message("")
        };
        assert_eq!(
            build(Kind::Http, &with_http, &Options::default()),
            vec![serde_json::json!({"key": "ABC-1"})]
        );
        assert_eq!(
            crate::plan::request(Kind::Http, &with_http).map(|r| r.method),
            Some(Some("PUT".to_string()))
        );
        assert_eq!(crate::plan::request(Kind::Slack, &with_http), None);
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
