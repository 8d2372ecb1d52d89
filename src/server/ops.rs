//! Operations: health, readiness, metrics, the preview page, and the admin API that
//! lists and replays deliveries behind the Bearer token.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

use super::{error, reply, Gateway};
use crate::store::{Delivery, Filter, Replay, Status, StoreError};
use crate::target::Kind;

pub async fn healthz() -> Response {
    reply(StatusCode::OK, &json!({"status": "ok"}))
}

pub async fn readyz(State(gateway): State<Arc<Gateway>>) -> Response {
    match gateway.store.ping().await {
        Ok(()) => reply(StatusCode::OK, &json!({"status": "ready"})),
        Err(err) => error(StatusCode::SERVICE_UNAVAILABLE, err.to_string()),
    }
}

pub async fn metrics(State(gateway): State<Arc<Gateway>>) -> Response {
    match gateway.store.queues().await {
        Ok(stats) => gateway.metrics.set_queues(
            gateway.config().targets.keys().map(String::as_str),
            &stats,
            gateway.clock.now(),
        ),
        Err(err) => tracing::warn!(%err, "queue gauges not updated: the store does not answer"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        gateway.metrics.encode(),
    )
        .into_response()
}

/// Messages per page of `/preview`.
const PREVIEW_PAGE: usize = 50;

#[derive(Debug, Deserialize)]
pub struct PreviewQuery {
    /// Text, so that a bad value gets a clear answer rather than axum's.
    before: Option<String>,
}

/// The messages kept by `preview` targets, newest first, a page at a time, for a
/// person to read. Payload text can be personal data: with an `admin_token`, the
/// page asks for it (a browser prompts; any user name, the token as password).
pub async fn preview(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    Query(query): Query<PreviewQuery>,
) -> Response {
    if let Some(token) = &gateway.config().admin_token {
        if !presents(&headers, token) {
            let mut response = error(
                StatusCode::UNAUTHORIZED,
                "the preview holds payload text: sign in with the admin_token as the password",
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"hookbridge preview\""),
            );
            return response;
        }
    }
    let before = match query.before.as_deref().map(str::parse::<i64>) {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => return error(StatusCode::BAD_REQUEST, "before is a delivery id"),
    };
    let targets: Vec<String> = gateway
        .config()
        .targets
        .iter()
        .filter(|(_, t)| t.kind == Kind::Preview)
        .map(|(name, _)| name.clone())
        .collect();
    // An empty target list means every target to the store: no preview target, no
    // query.
    let deliveries = if targets.is_empty() {
        Vec::new()
    } else {
        let filter = Filter {
            status: None,
            targets,
            limit: PREVIEW_PAGE,
            before,
        };
        match gateway.store.list(&filter).await {
            Ok(d) => d,
            Err(err) => return error(StatusCode::SERVICE_UNAVAILABLE, err.to_string()),
        }
    };
    Html(preview_page(&deliveries)).into_response()
}

fn preview_page(deliveries: &[Delivery]) -> String {
    let mut page = String::from(
        "<!doctype html><meta charset=utf-8><title>hookbridge preview</title>\
         <style>body{font:15px system-ui;max-width:60rem;margin:2rem auto}\
         article{border:1px solid #ccc;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}\
         pre{white-space:pre-wrap}small{color:#666}</style>\
         <h1>Preview</h1><p>Messages sent to preview targets, newest first. Reload to see new ones.</p>",
    );
    if deliveries.is_empty() {
        page += "<p><em>Nothing (more) yet: POST a webhook to /hooks/{route}.</em></p>";
    }
    for d in deliveries {
        let message: serde_json::Value = d
            .bodies
            .first()
            .and_then(|b| serde_json::from_str(b).ok())
            .unwrap_or_default();
        let field = |key: &str| message.get(key).and_then(|v| v.as_str()).unwrap_or("");
        page += &format!(
            "<article><small>#{} · {} · route {} · rule {}</small><h3>{}</h3><pre>{}</pre></article>",
            d.id,
            d.created_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            escape(&d.route),
            escape(&d.rule),
            escape(field("title")),
            escape(field("text")),
        );
    }
    if let (PREVIEW_PAGE, Some(last)) = (deliveries.len(), deliveries.last()) {
        page += &format!(
            "<p><a href=\"/preview?before={}\">Older messages</a></p>",
            last.id
        );
    }
    page
}

/// The admin token, as `Authorization: Bearer <token>` or as a browser's Basic
/// sign-in password; compared in constant time.
fn presents(headers: &HeaderMap, token: &str) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let presented = if let Some(bearer) = given.strip_prefix("Bearer ") {
        bearer.as_bytes().to_vec()
    } else if let Some(basic) = given.strip_prefix("Basic ") {
        let decoded = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, basic)
            .unwrap_or_default();
        match decoded.iter().position(|b| *b == b':') {
            Some(colon) => decoded[colon + 1..].to_vec(),
            None => Vec::new(),
        }
    } else {
        Vec::new()
    };
    bool::from(presented.as_slice().ct_eq(token.as_bytes()))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The admin API answers only to `Authorization: Bearer <admin_token>`.
fn authorize(gateway: &Gateway, headers: &HeaderMap) -> Result<(), (StatusCode, &'static str)> {
    let config = gateway.config();
    let Some(token) = &config.admin_token else {
        return Err((
            StatusCode::NOT_FOUND,
            "the admin API is off: set admin_token in the config (HOOKBRIDGE_ADMIN_TOKEN)",
        ));
    };
    if presents(headers, token) {
        Ok(())
    } else {
        Err((
            StatusCode::UNAUTHORIZED,
            "send Authorization: Bearer <admin_token>",
        ))
    }
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    target: Option<String>,
    /// Text, so that a bad value gets this API's JSON error rather than axum's.
    limit: Option<String>,
    /// The next page: deliveries older than this id.
    before: Option<String>,
}

/// Most rows one list answer holds: a bigger page is a slow answer that holds the
/// store's reader, for a person who will not read it.
const MAX_LIMIT: usize = 1000;

fn list_limit(text: Option<&str>) -> Result<usize, String> {
    let Some(text) = text else {
        return Ok(100);
    };
    match text.trim().parse::<usize>() {
        Ok(limit @ 1..=MAX_LIMIT) => Ok(limit),
        _ => Err(format!(
            "limit `{text}` is not a whole number from 1 to {MAX_LIMIT}"
        )),
    }
}

pub async fn list(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Response {
    if let Err((status, message)) = authorize(&gateway, &headers) {
        return error(status, message);
    }
    let status = match query.status.as_deref().map(str::parse::<Status>) {
        Some(Err(message)) => return error(StatusCode::BAD_REQUEST, message),
        Some(Ok(status)) => Some(status),
        None => None,
    };
    let limit = match list_limit(query.limit.as_deref()) {
        Ok(limit) => limit,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let before = match query.before.as_deref().map(str::parse::<i64>) {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => return error(StatusCode::BAD_REQUEST, "before is a delivery id"),
    };
    let filter = Filter {
        status,
        targets: query.target.into_iter().collect(),
        limit,
        before,
    };
    match gateway.store.list(&filter).await {
        Ok(deliveries) => reply(StatusCode::OK, &json!({"deliveries": deliveries})),
        Err(err) => store_error(&err),
    }
}

pub async fn replay_one(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    replay(&gateway, &headers, Replay::Ids(vec![id])).await
}

pub async fn replay_dead(State(gateway): State<Arc<Gateway>>, headers: HeaderMap) -> Response {
    replay(&gateway, &headers, Replay::AllDead).await
}

async fn replay(gateway: &Gateway, headers: &HeaderMap, which: Replay) -> Response {
    if let Err((status, message)) = authorize(gateway, headers) {
        return error(status, message);
    }
    match gateway.store.replay(which).await {
        Ok(ids) => {
            for target in gateway.config().targets.keys() {
                gateway.wake(target);
            }
            tracing::info!(?ids, "replayed");
            reply(StatusCode::OK, &json!({"replayed": ids}))
        }
        Err(err) => store_error(&err),
    }
}

fn store_error(err: &StoreError) -> Response {
    let status = match err {
        StoreError::NotFound(_) => StatusCode::NOT_FOUND,
        StoreError::StillPending(_) | StoreError::Stale(_) => StatusCode::CONFLICT,
        StoreError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        StoreError::Corrupt { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, err.to_string())
}

/// `POST /api/reload`: as SIGHUP, with the outcome in the answer.
pub async fn reload(State(gateway): State<Arc<Gateway>>, headers: HeaderMap) -> Response {
    if let Err((status, message)) = authorize(&gateway, &headers) {
        return error(status, message);
    }
    match super::reload::reload(&gateway).await {
        Ok(done) => reply(
            StatusCode::OK,
            &json!({"reloaded": true, "restart_needed": done.restart_needed}),
        ),
        Err(refused) => reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!({
                "error": "the config was not reloaded; the gateway serves the one it had: fix these and reload again",
                "problems": refused.problems,
            }),
        ),
    }
}
