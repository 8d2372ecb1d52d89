//! The one client that sends deliveries, and the reading of its answers into an
//! [`Attempt`]: nothing above this module touches reqwest.

use std::time::Duration;

use jiff::Timestamp;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};

use super::answer::{bucket_empty_for, parse_retry_after, retry_after_in_body};
use super::{parse_header_name, parse_header_value, Attempt, Cause, Request};

/// How much of a refusal's body is kept in `last_error`.
const DETAIL_LIMIT: usize = 300;
/// Reading stops here: a target that streams garbage costs no more than this.
const READ_LIMIT: usize = 64 * 1024;

/// One send: where, how, and what.
pub struct Outgoing<'a> {
    pub url: &'a str,
    /// The target's method, when the stored request names none; POST otherwise.
    pub method: Option<&'a str>,
    /// The target's own headers; the stored request's come after them.
    pub headers: &'a HeaderMap,
    pub request: Option<&'a Request>,
    pub body: &'a str,
    pub timeout: Duration,
}

/// Shared by every worker: one connection pool, no redirects followed (a webhook URL
/// that moved is the operator's to fix, and following it would send the message to
/// wherever a compromised service points).
#[derive(Clone)]
pub struct Client(reqwest::Client);

impl Client {
    pub fn new() -> Result<Self, reqwest::Error> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("hookbridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map(Self)
    }

    /// Sends one body and reads what came back; `now` dates a `Retry-After` date.
    pub async fn send(&self, out: Outgoing<'_>, now: Timestamp) -> Attempt {
        let method = out
            .request
            .and_then(|r| r.method.as_deref())
            .or(out.method)
            .unwrap_or("POST");
        let Ok(method) = reqwest::Method::from_bytes(method.as_bytes()) else {
            return Attempt::Unsendable(format!("`{method}` is not an HTTP method"));
        };
        let headers = match request_headers(out.headers, out.request) {
            Ok(headers) => headers,
            Err(error) => return Attempt::Unsendable(error),
        };
        let sent = self
            .0
            .request(method, out.url)
            .headers(headers)
            .body(out.body.to_owned())
            .timeout(out.timeout)
            .send()
            .await;
        match sent {
            Ok(response) => answered(response, now).await,
            Err(err) => failed(&err, out.timeout),
        }
    }
}

async fn answered(mut response: reqwest::Response, now: Timestamp) -> Attempt {
    let status = response.status();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let retry_after = header("retry-after").and_then(|v| parse_retry_after(&v, now));
    let bucket_empty = bucket_empty_for(
        header("x-ratelimit-remaining").as_deref(),
        header("x-ratelimit-reset-after").as_deref(),
    );
    let mut detail = Vec::new();
    let mut read = 0;
    while read < READ_LIMIT {
        // The status already says what happened; a broken body adds nothing.
        let Ok(Some(chunk)) = response.chunk().await else {
            break;
        };
        read += chunk.len();
        let room = DETAIL_LIMIT.saturating_sub(detail.len());
        detail.extend_from_slice(&chunk[..room.min(chunk.len())]);
    }
    let detail = String::from_utf8_lossy(&detail).trim().to_string();
    let retry_after = match status.as_u16() {
        429 => retry_after_in_body(&detail).or(retry_after),
        _ => retry_after,
    };
    Attempt::Answered {
        status: status.as_u16(),
        reason: status.canonical_reason().unwrap_or(""),
        retry_after,
        bucket_empty,
        detail,
    }
}

/// The URL is left out: a webhook URL is itself the secret that lets one post.
fn failed(err: &reqwest::Error, timeout: Duration) -> Attempt {
    let mut chain = String::new();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        chain += &format!(": {cause}");
        source = cause.source();
    }
    let lower = chain.to_ascii_lowercase();
    let (cause, what) = if err.is_timeout() {
        let what = format!("no answer within the {}s timeout", timeout.as_secs_f64());
        (Cause::Timeout, what)
    } else if lower.contains("dns error") || lower.contains("failed to lookup") {
        (Cause::Dns, "cannot resolve the host".to_string())
    } else if lower.contains("certificate") || lower.contains("tls") {
        (Cause::Tls, "the TLS handshake failed".to_string())
    } else if err.is_connect() {
        (Cause::Connect, "cannot connect".to_string())
    } else {
        (Cause::Io, "the request failed".to_string())
    };
    Attempt::Failed {
        cause,
        error: what + &chain,
    }
}

/// JSON's content type, then the target's headers, then the rule's: a later one of a
/// name replaces an earlier one (a rule's `Authorization` wins over the target's).
fn request_headers(target: &HeaderMap, request: Option<&Request>) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in target {
        headers.insert(name.clone(), value.clone());
    }
    for (name, value) in request.map_or(&[][..], |r| r.headers.as_slice()) {
        let value = parse_header_value(name, value)?;
        headers.insert(parse_header_name(name)?, value);
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rules_headers_replace_the_targets_and_a_bad_one_is_refused() {
        let mut target = HeaderMap::new();
        target.insert("authorization", HeaderValue::from_static("Bearer target"));
        target.insert("x-team", HeaderValue::from_static("ops"));
        let rule = Request {
            method: None,
            headers: vec![
                ("authorization".into(), "Bearer rule".into()),
                ("Content-Type".into(), "application/vnd.api+json".into()),
                ("X-Assignee".into(), "Иванов".into()),
            ],
        };
        let headers = request_headers(&target, Some(&rule)).unwrap();
        let all = |name: &str| -> Vec<&str> {
            headers
                .get_all(name)
                .iter()
                .map(|v| v.to_str().unwrap())
                .collect()
        };
        assert_eq!(all("authorization"), ["Bearer rule"]);
        assert_eq!(all("content-type"), ["application/vnd.api+json"]);
        assert_eq!(all("x-team"), ["ops"]);
        assert_eq!(headers["x-assignee"].as_bytes(), "Иванов".as_bytes());
        let bad = Request {
            method: None,
            headers: vec![("X-A".into(), "a\u{7}b".into())],
        };
        assert!(request_headers(&target, Some(&bad)).is_err());
    }
}
