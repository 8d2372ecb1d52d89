//! Retry policy, pure: what an attempt's result means and when to try again.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::config::Retry;
use crate::http::{Attempt, Cause};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    Retry {
        at: Timestamp,
        cause: Cause,
        error: String,
    },
    Dead {
        cause: Cause,
        error: String,
    },
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
    let (cause, error, retry_after) = match attempt {
        Attempt::Answered { status, .. } if (200..300).contains(status) => {
            return Verdict::Delivered
        }
        Attempt::Answered {
            status,
            reason,
            retry_after,
            detail,
            ..
        } => {
            let (cause, error) = (Cause::of_status(*status), describe(*status, reason, detail));
            if !retryable(*status) {
                return Verdict::Dead { cause, error };
            }
            (cause, error, *retry_after)
        }
        Attempt::Failed { cause, error } => (*cause, error.clone(), None),
        Attempt::Unsendable(error) => {
            return Verdict::Dead {
                cause: Cause::HeaderInvalid,
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
    match (later(now, wait), later(since, policy.budget)) {
        (Some(at), Some(deadline)) if at <= deadline => Verdict::Retry { at, cause, error },
        _ => spent(cause, error, policy),
    }
}

fn spent(cause: Cause, error: String, policy: &Retry) -> Verdict {
    Verdict::Dead {
        cause,
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

fn describe(status: u16, reason: &str, detail: &str) -> String {
    let hint = match status {
        300..=399 => " (the webhook URL redirects: set the url it points to)",
        401 | 403 => " (the webhook URL's token was refused: check the url)",
        404 | 410 => " (the webhook no longer exists: create a new one and update the url)",
        413 => " (the body is over the service's limit: lower the target's max_size)",
        _ => "",
    };
    let reason = if reason.is_empty() {
        String::new()
    } else {
        format!(" {reason}")
    };
    match detail.trim() {
        "" => format!("HTTP {status}{reason}{hint}"),
        detail => format!("HTTP {status}{reason}{hint}: {detail}"),
    }
}

/// Full jitter: a random wait up to `initial * 2^attempts`, capped at `max_delay`.
pub fn backoff(policy: &Retry, attempts: u32, random: f64) -> Duration {
    let ceiling = policy
        .initial
        .saturating_mul(2u32.saturating_pow(attempts.min(31)))
        .min(policy.max_delay);
    ceiling.mul_f64(random.clamp(0.0, 1.0))
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
        Attempt::status(status)
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
        let failed = Attempt::Failed {
            cause: Cause::Connect,
            error: "connection refused".into(),
        };
        assert!(matches!(
            judge_now(&failed, 0),
            Verdict::Retry {
                cause: Cause::Connect,
                ..
            }
        ));
        let unsendable =
            Attempt::Unsendable("header `X-A` holds a character no header may hold".into());
        assert!(matches!(
            judge_now(&unsendable, 0),
            Verdict::Dead {
                cause: Cause::HeaderInvalid,
                ..
            }
        ));
    }

    #[test]
    fn dead_errors_say_what_to_fix() {
        let Verdict::Dead { cause, error } = judge_now(
            &Attempt::Answered {
                status: 404,
                reason: "Not Found",
                retry_after: None,
                bucket_empty: None,
                detail: "no such webhook".into(),
            },
            0,
        ) else {
            panic!("404 must be dead");
        };
        assert_eq!(cause, Cause::Client(404));
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
            reason: "Too Many Requests",
            retry_after: Some(Duration::from_secs(30)),
            bucket_empty: None,
            detail: String::new(),
        };
        let Verdict::Retry { at, cause, .. } = judge(&throttled, &policy(), 0, now, now, 0.5)
        else {
            panic!("429 retries");
        };
        assert_eq!(at, now + SignedDuration::from_secs(30));
        assert_eq!(cause, Cause::RateLimited);
    }

    #[test]
    fn the_budget_ends_retrying() {
        let now = Timestamp::UNIX_EPOCH + SignedDuration::from_hours(1000);
        let since = now - SignedDuration::from_secs(3590);
        let verdict = judge(&answered(503), &policy(), 20, since, now, 1.0);
        let Verdict::Dead { cause, error } = verdict else {
            panic!("budget spent: {verdict:?}");
        };
        assert!(error.contains("retry budget of 1h is spent"), "{error}");
        assert_eq!(cause, Cause::Server(503));
    }

    #[test]
    fn an_absurd_retry_after_is_dead_not_a_panic() {
        let now = Timestamp::UNIX_EPOCH + SignedDuration::from_hours(1000);
        let throttled = Attempt::Answered {
            status: 429,
            reason: "",
            retry_after: crate::http::parse_retry_after("999999999999999", now),
            bucket_empty: None,
            detail: String::new(),
        };
        let verdict = judge(&throttled, &policy(), 0, now, now, 0.5);
        assert!(matches!(verdict, Verdict::Dead { .. }), "{verdict:?}");
    }

    #[test]
    fn each_refusal_says_what_to_fix() {
        let hint = |status| {
            let Verdict::Dead { error, .. } = judge_now(&answered(status), 0) else {
                panic!("{status} is dead");
            };
            error
        };
        assert!(hint(301).contains("redirects: set the url it points to"));
        for status in [401, 403] {
            assert!(hint(status).contains("token was refused"), "{status}");
        }
        assert!(hint(413).contains("lower the target's max_size"));
        assert_eq!(hint(422), "HTTP 422");
    }

    #[test]
    fn budgets_read_in_their_largest_whole_unit() {
        for (secs, millis, shown) in [
            (7200, 0, "2h"),
            (3600, 0, "1h"),
            (5400, 0, "90m"),
            (3660, 0, "61m"),
            (60, 0, "1m"),
            (120, 0, "2m"),
            (61, 0, "61s"),
            (1, 0, "1s"),
            (0, 500, "500ms"),
        ] {
            let d = Duration::from_secs(secs) + Duration::from_millis(millis);
            assert_eq!(humanize(d), shown, "{d:?}");
        }
    }
}
