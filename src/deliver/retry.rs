//! Retry policy, pure: what an attempt's result means and when to try again.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::config::Retry;

/// What one HTTP attempt came to, before any policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Answered {
        status: u16,
        retry_after: Option<Duration>,
        /// The start of the answer's body, for the operator reading `last_error`.
        detail: String,
    },
    /// Connect failure, timeout, reset, or an answer that was not HTTP.
    Failed(String),
    /// The stored request cannot be made at all (a header no HTTP allows): sending it
    /// again would fail the same way.
    Unsendable(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    Retry { at: Timestamp, error: String },
    Dead { error: String },
}

/// Decides an attempt's fate. `random` in [0, 1) draws the jitter; `attempts` counts
/// earlier failed attempts; `since` starts the retry budget.
pub fn judge(
    attempt: &Attempt,
    policy: &Retry,
    attempts: u32,
    since: Timestamp,
    now: Timestamp,
    random: f64,
) -> Verdict {
    let (error, retry_after) = match attempt {
        Attempt::Answered { status, .. } if (200..300).contains(status) => {
            return Verdict::Delivered
        }
        Attempt::Answered {
            status,
            retry_after,
            detail,
        } => {
            let error = describe(*status, detail);
            if !retryable(*status) {
                return Verdict::Dead { error };
            }
            (error, *retry_after)
        }
        Attempt::Failed(error) => (error.clone(), None),
        Attempt::Unsendable(error) => {
            return Verdict::Dead {
                error: format!("{error}: fix the mapping's `http` headers, then replay"),
            }
        }
    };
    let wait = retry_after.unwrap_or_else(|| backoff(policy, attempts, random));
    // A service may say "Retry-After: 999999999999"; past the budget, or past what a
    // timestamp can hold, it means the same: this delivery will not go.
    let later = |t: Timestamp, d: Duration| {
        SignedDuration::try_from(d)
            .ok()
            .and_then(|d| t.checked_add(d).ok())
    };
    let (Some(at), Some(deadline)) = (later(now, wait), later(since, policy.budget)) else {
        return spent(error, policy);
    };
    if at > deadline {
        return spent(error, policy);
    }
    Verdict::Retry { at, error }
}

fn spent(error: String, policy: &Retry) -> Verdict {
    Verdict::Dead {
        error: format!(
            "{error}; gave up: the retry budget of {} is spent",
            humanize(policy.budget)
        ),
    }
}

/// Timeouts, throttling and server trouble pass; anything else the service said no
/// to (400 bad body, 403, 404 and 410 gone webhook, 413 too large, 3xx moved) will
/// be refused again however often it is sent.
fn retryable(status: u16) -> bool {
    matches!(status, 408 | 425 | 429) || (500..600).contains(&status)
}

fn describe(status: u16, detail: &str) -> String {
    let hint = match status {
        300..=399 => " (the webhook URL redirects: set the url it points to)",
        401 | 403 => " (the webhook URL's token was refused: check the url)",
        404 | 410 => " (the webhook no longer exists: create a new one and update the url)",
        413 => " (the body is over the service's limit: lower the target's max_size)",
        _ => "",
    };
    let reason = http_reason(status);
    match detail.trim() {
        "" => format!("HTTP {status}{reason}{hint}"),
        detail => format!("HTTP {status}{reason}{hint}: {detail}"),
    }
}

fn http_reason(status: u16) -> String {
    hyper::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map_or(String::new(), |r| format!(" {r}"))
}

/// Full jitter: a random wait up to `initial * 2^attempts`, capped at `max_delay`.
pub fn backoff(policy: &Retry, attempts: u32, random: f64) -> Duration {
    let ceiling = policy
        .initial
        .saturating_mul(2u32.saturating_pow(attempts.min(31)))
        .min(policy.max_delay);
    ceiling.mul_f64(random.clamp(0.0, 1.0))
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

fn humanize(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        s if s >= 3600 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s if s > 0 => format!("{s}s"),
        _ => format!("{}ms", d.as_millis()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Retry {
        Retry {
            initial: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            budget: Duration::from_secs(3600),
        }
    }

    fn answered(status: u16) -> Attempt {
        Attempt::Answered {
            status,
            retry_after: None,
            detail: String::new(),
        }
    }

    fn judge_now(attempt: &Attempt, attempts: u32) -> Verdict {
        let now = Timestamp::UNIX_EPOCH + SignedDuration::from_hours(1000);
        judge(attempt, &policy(), attempts, now, now, 0.5)
    }

    #[test]
    fn success_throttling_and_refusal() {
        assert_eq!(judge_now(&answered(204), 0), Verdict::Delivered);
        for status in [408, 425, 429, 500, 502, 503, 504] {
            assert!(
                matches!(judge_now(&answered(status), 0), Verdict::Retry { .. }),
                "{status}"
            );
        }
        for status in [301, 400, 401, 403, 404, 410, 413, 422] {
            assert!(
                matches!(judge_now(&answered(status), 0), Verdict::Dead { .. }),
                "{status}"
            );
        }
        let failed = Attempt::Failed("connection refused".into());
        assert!(matches!(judge_now(&failed, 0), Verdict::Retry { .. }));
        let unsendable =
            Attempt::Unsendable("header `X-A` holds a character no header may hold".into());
        assert!(matches!(judge_now(&unsendable, 0), Verdict::Dead { .. }));
    }

    #[test]
    fn dead_errors_say_what_to_fix() {
        let Verdict::Dead { error } = judge_now(
            &Attempt::Answered {
                status: 404,
                retry_after: None,
                detail: "no such webhook".into(),
            },
            0,
        ) else {
            panic!("404 must be dead");
        };
        assert_eq!(error, "HTTP 404 Not Found (the webhook no longer exists: create a new one and update the url): no such webhook");
    }

    #[test]
    fn backoff_doubles_with_full_jitter_and_a_cap() {
        let p = policy();
        assert_eq!(backoff(&p, 0, 1.0), Duration::from_secs(1));
        assert_eq!(backoff(&p, 3, 1.0), Duration::from_secs(8));
        assert_eq!(backoff(&p, 3, 0.25), Duration::from_secs(2));
        assert_eq!(backoff(&p, 30, 1.0), Duration::from_secs(60));
        assert_eq!(backoff(&p, 1000, 0.0), Duration::ZERO);
    }

    #[test]
    fn retry_after_wins_over_backoff() {
        let now = Timestamp::UNIX_EPOCH + SignedDuration::from_hours(1000);
        let throttled = Attempt::Answered {
            status: 429,
            retry_after: Some(Duration::from_secs(30)),
            detail: String::new(),
        };
        let Verdict::Retry { at, .. } = judge(&throttled, &policy(), 0, now, now, 0.5) else {
            panic!("429 retries");
        };
        assert_eq!(at, now + SignedDuration::from_secs(30));
    }

    #[test]
    fn the_budget_ends_retrying() {
        let now = Timestamp::UNIX_EPOCH + SignedDuration::from_hours(1000);
        let since = now - SignedDuration::from_secs(3590);
        let verdict = judge(&answered(503), &policy(), 20, since, now, 1.0);
        let Verdict::Dead { error } = verdict else {
            panic!("budget spent: {verdict:?}");
        };
        assert!(error.contains("retry budget of 1h is spent"), "{error}");
    }

    #[test]
    fn an_absurd_retry_after_is_dead_not_a_panic() {
        let now = Timestamp::UNIX_EPOCH + SignedDuration::from_hours(1000);
        let throttled = Attempt::Answered {
            status: 429,
            retry_after: parse_retry_after("999999999999999", now),
            detail: String::new(),
        };
        let verdict = judge(&throttled, &policy(), 0, now, now, 0.5);
        assert!(matches!(verdict, Verdict::Dead { .. }), "{verdict:?}");
    }

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
