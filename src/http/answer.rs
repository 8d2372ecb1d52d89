//! What an attempt's answer means, before any policy: its status, its reason, and the
//! waits a service asks for in its headers or body. Pure, so the retry policy and its
//! tests read it without a network.

use std::time::Duration;

use jiff::Timestamp;

use super::Cause;

/// What one HTTP attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Answered {
        status: u16,
        /// The status's reason phrase ("Not Found"), or "" for a code without one.
        reason: &'static str,
        retry_after: Option<Duration>,
        /// The service said its rate bucket is empty for this long.
        bucket_empty: Option<Duration>,
        /// The start of the answer's body, for the operator reading `last_error`.
        detail: String,
    },
    /// No answer: timeout, DNS, connect, TLS, reset, or an answer that was not HTTP.
    Failed { cause: Cause, error: String },
    /// The stored request cannot be made at all (a header no HTTP allows): sending it
    /// again would fail the same way.
    Unsendable(String),
}

impl Attempt {
    /// An answer with just a status, as tests and simple callers need it.
    pub fn status(status: u16) -> Self {
        Attempt::Answered {
            status,
            reason: "",
            retry_after: None,
            bucket_empty: None,
            detail: String::new(),
        }
    }
}

/// `Retry-After` as delay-seconds or an HTTP date; a date in the past means now.
pub fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    Some(Duration::try_from(date.duration_since(now)).unwrap_or(Duration::ZERO))
}

/// Discord's 429 body, `{"retry_after": 1.234, "global": false, ...}`: seconds, and more
/// precise than its `Retry-After` header.
pub fn retry_after_in_body(body: &str) -> Option<Duration> {
    let seconds = serde_json::from_str::<serde_json::Value>(body)
        .ok()?
        .get("retry_after")?
        .as_f64()?;
    Duration::try_from_secs_f64(seconds).ok()
}

/// A bucket that claims to refill later than this is taken to refill then: an absurd
/// header must not park a target's queue for hours.
const LONGEST_BUCKET_WAIT: Duration = Duration::from_secs(600);

/// `X-RateLimit-Remaining: 0` with `X-RateLimit-Reset-After: 1.5` (Discord's rate
/// headers): the service takes nothing more for that long, so the next send waits
/// instead of being refused.
pub fn bucket_empty_for(remaining: Option<&str>, reset_after: Option<&str>) -> Option<Duration> {
    if remaining?.trim() != "0" {
        return None;
    }
    let seconds: f64 = reset_after?.trim().parse().ok()?;
    Duration::try_from_secs_f64(seconds)
        .ok()
        .map(|wait| wait.min(LONGEST_BUCKET_WAIT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discords_rate_signals() {
        let body =
            r#"{"message": "You are being rate limited.", "retry_after": 0.352, "global": false}"#;
        assert_eq!(retry_after_in_body(body), Some(Duration::from_millis(352)));
        assert_eq!(retry_after_in_body(r#"{"retry_after": -1}"#), None);
        assert_eq!(retry_after_in_body("slow down"), None);
        assert_eq!(
            bucket_empty_for(Some("0"), Some("1.5")),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(bucket_empty_for(Some("3"), Some("1.5")), None);
        assert_eq!(
            bucket_empty_for(Some("0"), Some("99999999")),
            Some(LONGEST_BUCKET_WAIT)
        );
        assert_eq!(bucket_empty_for(None, Some("1.5")), None);
        assert_eq!(bucket_empty_for(Some("0"), Some("later")), None);
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now: Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Tue, 24 Nov 2026 10:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Tue, 24 Nov 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
