//! A delivery row as both backends hold it: what each column stores, how an update
//! moves a row from one state to the next, and how a stored row reads back. Each
//! backend keeps only its SQL and its driver's way of binding these values.

use jiff::Timestamp;

use super::{Delivery, NewDelivery, Request, StoreError, Update, DEDUP_WINDOW};
use crate::config::Retention;
use crate::http::Cause;

/// How `bodies` and `request` are encoded. Rows carry the format they were written in,
/// so a later change of encoding can still read what an older version queued; a row
/// from a newer version is refused by name rather than misread.
pub const FORMAT: i64 = 1;

pub fn millis(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The `updated_at` (or `at`) below which each kind of finished row may go.
pub struct Cutoffs {
    pub delivered: i64,
    pub dead: i64,
    pub seen: i64,
}

impl Cutoffs {
    pub fn at(now: Timestamp, retention: &Retention) -> Self {
        let before = |keep: std::time::Duration| now.checked_sub(keep).map_or(i64::MIN, millis);
        Self {
            delivered: before(retention.delivered),
            dead: before(retention.dead),
            seen: millis(now - DEDUP_WINDOW),
        }
    }
}

/// Why an update changed no row: the delivery is gone, or it is not this writer's
/// to change (settled meanwhile, or its target taken over).
pub fn not_updated(id: i64, exists: bool) -> StoreError {
    if exists {
        StoreError::Stale(id)
    } else {
        StoreError::NotFound(id)
    }
}

/// A new delivery's columns.
pub struct Insert {
    pub status: &'static str,
    pub bodies: String,
    pub parts_sent: i64,
    pub request: Option<String>,
}

impl Insert {
    /// A preview target's delivery is written delivered: the stored row is the message.
    pub fn of(delivery: &NewDelivery) -> Result<Self, StoreError> {
        let (status, parts_sent) = if delivery.stored_only {
            ("delivered", count(delivery.bodies.len()))
        } else {
            ("pending", 0)
        };
        Ok(Self {
            status,
            bodies: serde_json::to_string(&delivery.bodies).map_err(StoreError::unavailable)?,
            parts_sent,
            request: delivery
                .request
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(StoreError::unavailable)?,
        })
    }
}

/// The columns one [`Update`] sets. `attempted` adds to `attempts`; `next_at: None`
/// keeps the row's; `keep_error` leaves `last_error` and `last_cause` as they are.
#[derive(Debug, PartialEq, Eq)]
pub struct Change {
    pub status: &'static str,
    pub parts_sent: i64,
    pub attempted: i64,
    pub next_at: Option<i64>,
    pub keep_error: bool,
    pub error: Option<String>,
    pub cause: Option<String>,
}

impl Change {
    pub fn of(update: &Update) -> Self {
        let failed = |status, parts_sent: &usize, next_at, cause: &Cause, error: &String| Self {
            status,
            parts_sent: count(*parts_sent),
            attempted: 1,
            next_at,
            keep_error: false,
            error: Some(error.clone()),
            cause: Some(cause.code()),
        };
        match update {
            Update::Progress { parts_sent } => Self {
                status: "pending",
                parts_sent: count(*parts_sent),
                attempted: 0,
                next_at: None,
                keep_error: true,
                error: None,
                cause: None,
            },
            Update::Delivered { parts } => Self {
                status: "delivered",
                parts_sent: count(*parts),
                attempted: 1,
                next_at: None,
                keep_error: false,
                error: None,
                cause: None,
            },
            Update::Retry {
                parts_sent,
                next_at,
                cause,
                error,
            } => failed("pending", parts_sent, Some(millis(*next_at)), cause, error),
            Update::Dead {
                parts_sent,
                cause,
                error,
            } => failed("dead", parts_sent, None, cause, error),
        }
    }
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A row's values as a backend read them, before they mean a [`Delivery`].
pub struct Stored {
    pub id: i64,
    pub event_id: String,
    pub route: String,
    pub target: String,
    pub rule: String,
    pub status: String,
    pub bodies: String,
    pub parts_sent: i64,
    pub attempts: i64,
    pub created_at: i64,
    pub since: i64,
    pub next_at: i64,
    pub updated_at: i64,
    pub last_error: Option<String>,
    pub last_cause: Option<String>,
    pub request: Option<String>,
    pub format: i64,
}

/// The columns [`Stored`] reads, in its order, for a backend's SELECT.
pub const COLUMNS: &str = "id, event_id, route, target, rule, status, bodies, parts_sent, \
                           attempts, created_at, since, next_at, updated_at, last_error, \
                           last_cause, request, format";

impl Stored {
    pub fn delivery(self) -> Result<Delivery, StoreError> {
        let corrupt = |column: &str, err: &dyn std::fmt::Display| {
            StoreError::corrupt(self.id, format!("column {column}: {err}"))
        };
        if self.format != FORMAT {
            return Err(corrupt(
                "format",
                &format!(
                    "written in format {} by another hookbridge version; this one reads {FORMAT}",
                    self.format
                ),
            ));
        }
        let request: Option<Request> = match &self.request {
            Some(text) => Some(serde_json::from_str(text).map_err(|e| corrupt("request", &e))?),
            None => None,
        };
        Ok(Delivery {
            id: self.id,
            status: self.status.parse().map_err(|e| corrupt("status", &e))?,
            bodies: serde_json::from_str(&self.bodies).map_err(|e| corrupt("bodies", &e))?,
            request,
            parts_sent: usize::try_from(self.parts_sent).unwrap_or(0),
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            created_at: timestamp(self.created_at),
            since: timestamp(self.since),
            next_at: timestamp(self.next_at),
            updated_at: timestamp(self.updated_at),
            // A code this version does not know reads as no cause, not as an error:
            // the human text beside it still says what happened.
            last_cause: self.last_cause.and_then(|code| code.parse().ok()),
            last_error: self.last_error,
            event_id: self.event_id,
            route: self.route,
            target: self.target,
            rule: self.rule,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(format: i64) -> Stored {
        Stored {
            id: 7,
            event_id: "e1".into(),
            route: "jira".into(),
            target: "chat".into(),
            rule: "r".into(),
            status: "dead".into(),
            bodies: r#"["{\"text\":\"hi\"}"]"#.into(),
            parts_sent: 0,
            attempts: 3,
            created_at: 1_700_000_000_000,
            since: 1_700_000_000_000,
            next_at: 1_700_000_000_000,
            updated_at: 1_700_000_000_000,
            last_error: Some("HTTP 404 Not Found".into()),
            last_cause: Some("http_404".into()),
            request: Some(r#"{"method":"PUT"}"#.into()),
            format,
        }
    }

    #[test]
    fn a_row_reads_back_with_its_cause_and_request() {
        let delivery = stored(FORMAT).delivery().unwrap();
        assert_eq!(delivery.last_cause, Some(Cause::Client(404)));
        assert_eq!(delivery.request.unwrap().method.as_deref(), Some("PUT"));
        assert_eq!(delivery.bodies, [r#"{"text":"hi"}"#]);
    }

    #[test]
    fn a_row_from_another_format_is_refused_by_name() {
        let err = stored(2).delivery().unwrap_err().to_string();
        assert!(
            err.contains("delivery 7") && err.contains("format 2"),
            "{err}"
        );
    }

    #[test]
    fn each_update_sets_its_columns() {
        let progress = Change::of(&Update::Progress { parts_sent: 2 });
        assert!(progress.keep_error && progress.attempted == 0);
        let delivered = Change::of(&Update::Delivered { parts: 3 });
        assert_eq!((delivered.status, delivered.parts_sent), ("delivered", 3));
        assert_eq!((delivered.error, delivered.keep_error), (None, false));
        let at = Timestamp::from_second(1_700_000_000).unwrap();
        let retry = Change::of(&Update::Retry {
            parts_sent: 1,
            next_at: at,
            cause: Cause::Timeout,
            error: "slow".into(),
        });
        assert_eq!(retry.next_at, Some(millis(at)));
        assert_eq!(retry.cause.as_deref(), Some("timeout"));
        let dead = Change::of(&Update::Dead {
            parts_sent: 0,
            cause: Cause::BodyRefused,
            error: "too big".into(),
        });
        assert_eq!((dead.status, dead.next_at), ("dead", None));
    }
}
