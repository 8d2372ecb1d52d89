//! Plan, pure: a verified event to the deliveries to store, one per target, each with
//! the exact bodies that target will receive. The gateway, `render` and `test` all go
//! through [`plan`], so what a mapping author sees is what a chat service is sent.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::config::{Route, Target};
use crate::http::Request;
use crate::mapping::{Event, Mapping, Message, Outcome, RenderError};
use crate::store::NewDelivery;
use crate::target::{self, Kind};
use crate::verify::Verified;

/// Headers that carry a source's own delivery id: a retry of one delivery repeats it.
const DELIVERY_ID_HEADERS: [&str; 4] = [
    "X-GitHub-Delivery",
    "X-Atlassian-Webhook-Identifier",
    "X-Gitlab-Event-UUID",
    "webhook-id",
];

/// A target as shaping needs it: where the bodies go and how they are cut.
#[derive(Debug, Clone, Copy)]
pub struct Destination<'a> {
    pub name: &'a str,
    pub kind: Kind,
    pub options: &'a target::Options,
}

/// What an event comes to: the mapping's outcome and one delivery per target that
/// has something to send.
#[derive(Debug)]
pub struct Plan {
    pub outcome: Outcome,
    pub deliveries: Vec<NewDelivery>,
    /// What identifies this event to its route: the source's own delivery id, and what
    /// the route's signature signed, so a resent or replayed event is recognised.
    pub dedup_keys: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The body is not the JSON the route expects: the sender's fault (400).
    #[error("{0}")]
    Payload(String),
    /// A template failed on this event: the mapping's fault.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The rule made more than [`RENDER_BUDGET`] of message from this event.
    #[error("rule `{rule}` made a message of {bytes} bytes from this event, over the {} MiB one may take: narrow it (truncate, $max)", RENDER_BUDGET >> 20)]
    TooLarge { rule: String, bytes: usize },
}

/// Most text and card one event may render to: every kind's budget is far below
/// it, and past it shaping and storing would only cost work for what is cut anyway.
pub const RENDER_BUDGET: usize = 4 << 20;

/// How the payload travels in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    /// `application/x-www-form-urlencoded` with the JSON in a `payload` field, as
    /// GitHub can send it.
    Form,
}

/// The format a `Content-Type` names; `None` for a type hookbridge does not read.
pub fn format(content_type: &str) -> Option<Format> {
    let media = content_type.split(';').next().unwrap_or("").trim();
    let media = media.to_ascii_lowercase();
    match media.as_str() {
        "application/json" => Some(Format::Json),
        m if m.starts_with("application/") && m.ends_with("+json") => Some(Format::Json),
        "application/x-www-form-urlencoded" => Some(Format::Form),
        _ => None,
    }
}

/// The route's targets that are on, in the route's order.
pub fn destinations<'a>(
    route: &'a Route,
    targets: &'a BTreeMap<String, Target>,
) -> Vec<Destination<'a>> {
    route
        .targets
        .iter()
        .filter_map(|name| {
            let target = targets.get(name)?;
            let on = target.url.is_some() || target.kind == Kind::Preview;
            on.then_some(Destination {
                name,
                kind: target.kind,
                options: &target.options,
            })
        })
        .collect()
}

/// Parses the event, lets the first mapping that matches or drops decide, and shapes
/// the message for every destination.
pub fn plan(
    mappings: &[Arc<Mapping>],
    destinations: &[Destination],
    event: &Verified,
) -> Result<Plan, PlanError> {
    let payload = payload(event)?;
    let event_view = Event::new(&payload, event.headers());
    let outcome = map(mappings, &event_view)?;
    if let Outcome::Message(message) = &outcome {
        let bytes = message.text.len() + message.card.as_ref().map_or(0, |c| c.to_string().len());
        if bytes > RENDER_BUDGET {
            let rule = message.rule.clone();
            return Err(PlanError::TooLarge { rule, bytes });
        }
    }
    let deliveries = match &outcome {
        Outcome::Message(message) => destinations
            .iter()
            .filter_map(|destination| shape(destination, message))
            .collect(),
        Outcome::Dropped { .. } | Outcome::NoMatch => Vec::new(),
    };
    let delivery_id = DELIVERY_ID_HEADERS
        .iter()
        .find_map(|name| event_view.headers_named(name).next());
    let dedup_keys = delivery_id
        .into_iter()
        .chain(event.replay_key())
        .map(str::to_string)
        .collect();
    Ok(Plan {
        outcome,
        deliveries,
        dedup_keys,
    })
}

/// The JSON payload, from the body itself or from a form's `payload` field.
fn payload(event: &Verified) -> Result<Value, PlanError> {
    let invalid = PlanError::Payload;
    let content_type = Event::new(&Value::Null, event.headers())
        .headers_named("content-type")
        .next()
        .unwrap_or("");
    if format(content_type) == Some(Format::Form) {
        let field = form_urlencoded::parse(event.body())
            .find(|(key, _)| key == "payload")
            .ok_or_else(|| invalid("the form has no `payload` field holding the JSON".into()))?
            .1;
        return serde_json::from_str(&field)
            .map_err(|err| invalid(format!("the form's `payload` is not valid JSON: {err}")));
    }
    crate::mapping::parse_payload(event.body())
        .map_err(|err| invalid(format!("the body is not valid JSON: {err}")))
}

/// The mappings in order: the first that matches or drops decides.
fn map(mappings: &[Arc<Mapping>], event: &Event) -> Result<Outcome, RenderError> {
    for mapping in mappings {
        match mapping.apply(event)? {
            Outcome::NoMatch => continue,
            outcome => return Ok(outcome),
        }
    }
    Ok(Outcome::NoMatch)
}

/// The delivery for one destination, or `None` when the message shows nothing there.
fn shape(destination: &Destination, message: &Message) -> Option<NewDelivery> {
    let bodies: Vec<String> = target::build(destination.kind, message, destination.options)
        .iter()
        .map(Value::to_string)
        .collect();
    (!bodies.is_empty()).then(|| NewDelivery {
        target: destination.name.to_string(),
        rule: message.rule.clone(),
        bodies,
        request: request(destination.kind, message),
        stored_only: destination.kind == Kind::Preview,
    })
}

/// The method and headers a delivery needs beyond a plain POST: only an `http`
/// target's rule can ask for them.
pub fn request(kind: Kind, message: &Message) -> Option<Request> {
    let http = message.http.as_ref().filter(|_| kind == Kind::Http)?;
    let request = Request {
        method: http.method.clone(),
        headers: http.headers.clone(),
    };
    (request != Request::default()).then_some(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_name_their_format() {
        assert_eq!(format("application/json"), Some(Format::Json));
        assert_eq!(
            format("Application/JSON; charset=utf-8"),
            Some(Format::Json)
        );
        assert_eq!(format("application/vnd.api+json"), Some(Format::Json));
        assert_eq!(
            format("application/x-www-form-urlencoded"),
            Some(Format::Form)
        );
        assert_eq!(format("text/plain"), None);
        assert_eq!(format(""), None);
    }
}
