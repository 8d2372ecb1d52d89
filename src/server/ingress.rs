//! `POST /hooks/{route}`: size, content type, signature, JSON, mapping, then one
//! durable outbox row per (event, target) before the 202.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tracing::Instrument;

use super::{error, reply, Gateway};
use crate::config::Route;
use crate::mapping::{Event, Outcome};
use crate::metrics::DeliveryResult;
use crate::store::{Accepted, NewDelivery, NewEvent};
use crate::target;
use crate::verify;

/// Headers that carry a source's own delivery id: a retry of one delivery repeats it.
const DELIVERY_ID_HEADERS: [&str; 4] = [
    "X-GitHub-Delivery",
    "X-Atlassian-Webhook-Identifier",
    "X-Gitlab-Event-UUID",
    "webhook-id",
];

/// Why a request was turned away, as counted in metrics.
struct Refusal {
    outcome: &'static str,
    status: StatusCode,
    message: String,
}

fn refuse(outcome: &'static str, status: StatusCode, message: impl Into<String>) -> Refusal {
    Refusal {
        outcome,
        status,
        message: message.into(),
    }
}

pub async fn hook(
    State(gateway): State<Arc<Gateway>>,
    Path(route_name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(route) = gateway.config.routes.get(&route_name) else {
        gateway.metrics.event("(unknown)", "unknown_route");
        // The routes are not listed to the sender: a route without `verify` is
        // guarded only by its name. The operator finds them in the log.
        let known: Vec<&str> = gateway.config.routes.keys().map(String::as_str).collect();
        tracing::warn!(route = %route_name, known = ?known, "POST to a route that is not configured");
        return error(
            StatusCode::NOT_FOUND,
            format!("no route `{route_name}`: check the webhook's URL against the routes in the gateway's config"),
        );
    };
    let id = uuid::Uuid::now_v7().to_string();
    let span = tracing::info_span!("event", %id, route = %route_name);
    let outcome = accept(
        &gateway,
        &route_name,
        route,
        &id,
        query.as_deref(),
        &headers,
        body,
    )
    .instrument(span)
    .await;
    match outcome {
        Ok((name, response)) => {
            gateway.metrics.event(&route_name, name);
            response
        }
        Err(refusal) => {
            gateway.metrics.event(&route_name, refusal.outcome);
            error(refusal.status, refusal.message)
        }
    }
}

async fn accept(
    gateway: &Gateway,
    route_name: &str,
    route: &Route,
    id: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<(&'static str, Response), Refusal> {
    let body = read_body(
        body,
        headers,
        route.max_body,
        gateway.config.server.read_timeout,
    )
    .await?;
    let form = content_type(headers)?;
    if let Some(check) = &route.verify {
        let request = verify::Request {
            headers,
            query,
            body: &body,
        };
        verify::check(check, &request, jiff::Timestamp::now()).map_err(|rejected| {
            tracing::warn!(reason = %rejected, "verification failed");
            refuse("unverified", StatusCode::UNAUTHORIZED, rejected.to_string())
        })?;
    }
    let payload = parse(&body, form)?;
    let pairs: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
        .collect();
    let event = Event::new(&payload, &pairs);
    let outcome = map(route, &event)?;
    let dedup_key = DELIVERY_ID_HEADERS
        .iter()
        .find_map(|name| event.headers_named(name).next())
        .map(str::to_string);
    let message = match &outcome {
        Outcome::Message(message) => message,
        Outcome::Dropped { rule } => {
            tracing::info!(%rule, "dropped by the mapping");
            return Ok(("dropped", accepted(id, 0)));
        }
        Outcome::NoMatch => {
            tracing::info!("no rule matched; nothing to deliver");
            return Ok(("no_match", accepted(id, 0)));
        }
    };
    let deliveries: Vec<NewDelivery> = route
        .targets
        .iter()
        .filter_map(|name| {
            let target = gateway.config.targets.get(name)?;
            if target.url.is_none() && target.kind != target::Kind::Preview {
                return None;
            }
            let bodies: Vec<String> = target::build(target.kind, message, &target.options)
                .iter()
                .map(Value::to_string)
                .collect();
            (!bodies.is_empty()).then(|| NewDelivery {
                target: name.clone(),
                rule: message.rule.clone(),
                bodies,
                request: crate::plan::request(target.kind, message),
                stored_only: target.kind == target::Kind::Preview,
            })
        })
        .collect();
    if deliveries.is_empty() && dedup_key.is_none() {
        tracing::info!(rule = %message.rule, "matched, but no target is on; nothing to deliver");
        return Ok(("accepted", accepted(id, 0)));
    }
    let count = deliveries.len();
    let targets: Vec<(String, bool)> = deliveries
        .iter()
        .map(|d| (d.target.clone(), d.stored_only))
        .collect();
    let stored = gateway
        .store
        .accept(NewEvent {
            id: id.to_string(),
            route: route_name.to_string(),
            dedup_key,
            deliveries,
        })
        .await
        .map_err(|err| {
            tracing::error!(%err, "cannot store the event; answering 503 so the sender retries");
            refuse(
                "unavailable",
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{err}; nothing was queued, send it again later"),
            )
        })?;
    match stored {
        Accepted::Stored => {
            for (target, stored_only) in &targets {
                if *stored_only {
                    gateway.metrics.delivery(target, DeliveryResult::Delivered);
                } else {
                    gateway.metrics.delivery(target, DeliveryResult::Queued);
                    gateway.wakers.wake(target);
                }
            }
            tracing::info!(rule = %message.rule, deliveries = count, "accepted");
            Ok(("accepted", accepted(id, count)))
        }
        Accepted::Duplicate { original } => {
            tracing::info!(%original, "duplicate delivery id; nothing queued");
            let body = json!({"id": original, "deliveries": 0, "duplicate": true});
            Ok(("duplicate", reply(StatusCode::ACCEPTED, &body)))
        }
    }
}

fn accepted(id: &str, deliveries: usize) -> Response {
    reply(
        StatusCode::ACCEPTED,
        &json!({"id": id, "deliveries": deliveries}),
    )
}

/// Reading stops here; past `max_body`, bytes are read only to be dropped, so that a
/// sender still writing its oversized body gets the 413 instead of a broken pipe.
const DRAIN_LIMIT: usize = 16 << 20;

async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
    timeout: std::time::Duration,
) -> Result<Bytes, Refusal> {
    let too_large = || {
        refuse(
            "too_large",
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over this route's limit of {limit} bytes (max_body)"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > DRAIN_LIMIT as u64) {
        return Err(too_large());
    }
    let read = tokio::time::timeout(timeout, read_within(body, limit)).await;
    match read {
        Ok(Ok(Some(bytes))) => Ok(bytes),
        Ok(Ok(None)) => Err(too_large()),
        Ok(Err(err)) => Err(refuse(
            "invalid",
            StatusCode::BAD_REQUEST,
            format!("the body could not be read: {err}"),
        )),
        Err(_) => Err(refuse(
            "invalid",
            StatusCode::REQUEST_TIMEOUT,
            format!("the body did not arrive within {}s", timeout.as_secs_f64()),
        )),
    }
}

/// The body, or `None` when it is over `limit`; never holds more than `limit` bytes.
async fn read_within(mut body: Body, limit: usize) -> Result<Option<Bytes>, axum::Error> {
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        seen += data.len();
        if seen <= limit {
            kept.extend_from_slice(&data);
        } else if seen > DRAIN_LIMIT {
            break;
        }
    }
    Ok((seen <= limit).then(|| Bytes::from(kept)))
}

/// Whether the body is a form whose `payload` field holds the JSON (GitHub can send
/// that), or JSON itself.
fn content_type(headers: &HeaderMap) -> Result<bool, Refusal> {
    let value = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "application/json" => Ok(false),
        m if m.starts_with("application/") && m.ends_with("+json") => Ok(false),
        "application/x-www-form-urlencoded" => Ok(true),
        _ => Err(refuse(
            "unsupported_type",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Content-Type `{value}` is not supported: send application/json, or a form with a `payload` field"
            ),
        )),
    }
}

fn parse(body: &[u8], form: bool) -> Result<Value, Refusal> {
    let invalid = |message: String| refuse("invalid", StatusCode::BAD_REQUEST, message);
    if form {
        let payload = form_urlencoded::parse(body)
            .find(|(key, _)| key == "payload")
            .ok_or_else(|| invalid("the form has no `payload` field holding the JSON".into()))?
            .1;
        return serde_json::from_str(&payload)
            .map_err(|err| invalid(format!("the form's `payload` is not valid JSON: {err}")));
    }
    serde_json::from_slice(body)
        .map_err(|err| invalid(format!("the body is not valid JSON: {err}")))
}

/// The route's mappings in order: the first that matches or drops decides.
fn map(route: &Route, event: &Event) -> Result<Outcome, Refusal> {
    for mapping in &route.mappings {
        match mapping.apply(event) {
            Ok(Outcome::NoMatch) => continue,
            Ok(outcome) => return Ok(outcome),
            Err(err) => {
                tracing::error!(%err, "the mapping failed to render");
                return Err(refuse(
                    "render_error",
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("{err}; fix the mapping (try it with `hookbridge render`); the sender may retry"),
                ));
            }
        }
    }
    Ok(Outcome::NoMatch)
}
