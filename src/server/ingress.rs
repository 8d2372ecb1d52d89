//! `POST /hooks/{route}`, the thin async shell around the pure plan: read the body
//! within its limits, verify, plan, store one durable row per (event, target), then
//! answer 202.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use http_body_util::BodyExt;
use serde_json::json;
use tracing::Instrument;

use super::{error, reply, Gateway};
use crate::config::{Config, Route};
use crate::mapping::Outcome;
use crate::metrics::DeliveryResult;
use crate::plan::{self, Plan, PlanError};
use crate::store::{Accepted, NewEvent};
use crate::verify::{self, Verified};

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
    // This request sees this config to its end, whatever a reload swaps in meanwhile.
    let config = gateway.config();
    let Some(route) = config.routes.get(&route_name) else {
        gateway.metrics.event("(unknown)", "unknown_route");
        // The routes are not listed to the sender: a route without `verify` is
        // guarded only by its name. The operator finds them in the log.
        let known: Vec<&str> = config.routes.keys().map(String::as_str).collect();
        // Quoted: the name is the sender's, and a `%0A` in it must not start a log line.
        tracing::warn!(route = ?route_name, known = ?known, "POST to a route that is not configured");
        return error(
            StatusCode::NOT_FOUND,
            format!("no route `{route_name}`: check the webhook's URL against the routes in the gateway's config"),
        );
    };
    let id = uuid::Uuid::now_v7().to_string();
    let span = tracing::info_span!("event", %id, route = %route_name);
    let routed = Routed {
        config: &config,
        name: &route_name,
        route,
    };
    let outcome = accept(&gateway, &routed, &id, query.as_deref(), &headers, body)
        .instrument(span)
        .await;
    match outcome {
        Ok((name, response)) => {
            gateway.metrics.event(&route_name, name);
            response
        }
        Err(refusal) => {
            gateway.metrics.event(&route_name, refusal.outcome);
            let mut response = error(refusal.status, refusal.message);
            if refusal.status == StatusCode::SERVICE_UNAVAILABLE {
                // Nothing was queued: a sender that honours this comes back soon.
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            }
            response
        }
    }
}

/// The route a request came to, in the config it started with.
struct Routed<'a> {
    config: &'a Arc<Config>,
    name: &'a str,
    route: &'a Route,
}

/// The request path, in flow order: read the body, verify it, plan the deliveries
/// (pure), store them, wake the workers, answer.
async fn accept(
    gateway: &Gateway,
    routed: &Routed<'_>,
    id: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<(&'static str, Response), Refusal> {
    let Routed {
        config,
        name: route_name,
        route,
    } = *routed;
    let timeout = config.server.read_timeout;
    let body = read_body(body, headers, route.max_body, timeout).await?;
    supported_format(headers)?;
    let plan = verified_plan(gateway, config, route_name, headers, query, body).await?;
    let rule = match &plan.outcome {
        Outcome::Message(message) => message.rule.clone(),
        Outcome::Dropped { rule } => {
            tracing::info!(%rule, "dropped by the mapping");
            return Ok(("dropped", accepted(id, 0)));
        }
        Outcome::NoMatch => {
            tracing::info!("no rule matched; nothing to deliver");
            return Ok(("no_match", accepted(id, 0)));
        }
    };
    if plan.deliveries.is_empty() && plan.dedup_keys.is_empty() {
        tracing::info!(%rule, "matched, but no target is on; nothing to deliver");
        return Ok(("accepted", accepted(id, 0)));
    }
    store(gateway, route_name, id, &rule, plan).await
}

/// Verifying and planning are CPU work whose size a request sets: they run on the
/// blocking pool, at most one per core at a time, so `/healthz`, `/metrics` and the
/// delivery workers keep their threads. Requests wait their turn in a bounded line
/// (32 per core, each at most `read_timeout`); one that finds the line full, or waits
/// out its time, gets a 503 with `Retry-After` rather than an unbounded queue.
async fn verified_plan(
    gateway: &Gateway,
    config: &Arc<Config>,
    route_name: &str,
    headers: &HeaderMap,
    query: Option<&str>,
    body: Bytes,
) -> Result<Plan, Refusal> {
    let busy = || {
        tracing::warn!(
            "every CPU slot is busy and the line is full; answering 503 so the sender retries"
        );
        refuse(
            "busy",
            StatusCode::SERVICE_UNAVAILABLE,
            "the gateway is busy: nothing was queued, send it again in a moment",
        )
    };
    let Ok(_in_line) = Arc::clone(&gateway.cpu.line).try_acquire_owned() else {
        return Err(busy());
    };
    let wait = config.server.read_timeout;
    let slot =
        match tokio::time::timeout(wait, Arc::clone(&gateway.cpu.slots).acquire_owned()).await {
            Ok(Ok(slot)) => slot,
            _ => return Err(busy()),
        };
    let config = Arc::clone(config);
    let route_name = route_name.to_string();
    let headers = headers.clone();
    let query = query.map(str::to_string);
    let now = gateway.clock.now();
    let span = tracing::Span::current();
    let work = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let _event = span.enter();
        let route = config
            .routes
            .get(&route_name)
            .ok_or_else(|| refuse("unknown_route", StatusCode::NOT_FOUND, "the route is gone"))?;
        let verified = verify_request(route, &headers, query.as_deref(), body, now)?;
        let destinations = plan::destinations(route, &config.targets);
        plan::plan(&route.mappings, &destinations, &verified).map_err(refusal)
    });
    work.await.unwrap_or_else(|err| {
        tracing::error!(%err, "planning the event failed");
        Err(refuse(
            "render_error",
            StatusCode::INTERNAL_SERVER_ERROR,
            "the event could not be planned; the sender may retry",
        ))
    })
}

fn verify_request(
    route: &Route,
    headers: &HeaderMap,
    query: Option<&str>,
    body: Bytes,
    now: jiff::Timestamp,
) -> Result<Verified, Refusal> {
    let request = verify::Unverified {
        headers,
        query,
        body,
    };
    verify::check(route.verify.as_ref(), request, now).map_err(|rejected| {
        tracing::warn!(reason = %rejected, "verification failed");
        refuse("unverified", StatusCode::UNAUTHORIZED, rejected.to_string())
    })
}

fn refusal(err: PlanError) -> Refusal {
    match err {
        PlanError::Payload(message) => refuse("invalid", StatusCode::BAD_REQUEST, message),
        PlanError::TooLarge { .. } => {
            tracing::warn!(%err, "the event renders over budget");
            refuse(
                "too_large",
                StatusCode::UNPROCESSABLE_ENTITY,
                err.to_string(),
            )
        }
        PlanError::Render(err) => {
            tracing::error!(%err, "the mapping failed to render");
            refuse(
                "render_error",
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("{err}; fix the mapping (try it with `hookbridge render`); the sender may retry"),
            )
        }
    }
}

/// Writes the plan's deliveries durably (or finds the event is a duplicate), then
/// wakes the targets' workers.
async fn store(
    gateway: &Gateway,
    route_name: &str,
    id: &str,
    rule: &str,
    plan: Plan,
) -> Result<(&'static str, Response), Refusal> {
    let count = plan.deliveries.len();
    let targets: Vec<(String, bool)> = plan
        .deliveries
        .iter()
        .map(|d| (d.target.clone(), d.stored_only))
        .collect();
    let event = NewEvent {
        id: id.to_string(),
        route: route_name.to_string(),
        dedup_keys: plan.dedup_keys,
        deliveries: plan.deliveries,
    };
    let stored = gateway.store.accept(event).await.map_err(|err| {
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
                    gateway.wake(target);
                }
            }
            tracing::info!(%rule, deliveries = count, "accepted");
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

/// Past `max_body`, bytes are read only to be dropped (up to this much more, or the
/// limit itself if larger), so that a sender still writing its oversized body gets
/// the 413 instead of a broken pipe.
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
    let drain = limit.max(DRAIN_LIMIT) as u64;
    if declared.is_some_and(|n| n > drain) {
        return Err(too_large());
    }
    let expected = declared.map_or(0, |n| usize::try_from(n).unwrap_or(limit).min(limit));
    let read = tokio::time::timeout(timeout, read_within(body, limit, expected)).await;
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
/// Room for the declared length is taken at once: growing a large body by doubling
/// would copy it several times on the async workers that also answer `/healthz`.
async fn read_within(
    mut body: Body,
    limit: usize,
    expected: usize,
) -> Result<Option<Bytes>, axum::Error> {
    let mut kept = Vec::with_capacity(expected);
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

/// Only JSON, or a form whose `payload` field holds the JSON, is read.
fn supported_format(headers: &HeaderMap) -> Result<plan::Format, Refusal> {
    let value = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    plan::format(value).ok_or_else(|| {
        refuse(
            "unsupported_type",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Content-Type `{value}` is not supported: send application/json, or a form with a `payload` field"
            ),
        )
    })
}
