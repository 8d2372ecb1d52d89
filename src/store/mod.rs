//! The outbox: one durable row per (event, target), written before ingress answers 202,
//! and the per-target FIFO queues that delivery drains. Ingress and delivery see only
//! the [`Store`] trait, so a shared PostgreSQL outbox can replace the embedded SQLite
//! one without touching either.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use serde::Serialize;

use crate::clock::Clock;
use crate::config::{self, Retention};
pub use crate::http::{Cause, Request};

mod postgres;
mod rows;
mod sqlite;
#[cfg(test)]
pub(crate) mod tests;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// How long a source's delivery id is remembered per route.
pub const DEDUP_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);
/// A replica heartbeats every [`HEARTBEAT_EVERY`]; missing about three, it is taken
/// for dead and its targets for free.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);
pub const SILENT_AFTER: Duration = Duration::from_millis(3_500);

/// An accepted event and the deliveries it makes, written in one transaction.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub id: String,
    pub route: String,
    /// What identifies the event to its route for [`DEDUP_WINDOW`]: the source's own
    /// delivery id (`X-GitHub-Delivery`...) and what its signature signed. The event
    /// is a duplicate when any one was seen.
    pub dedup_keys: Vec<String>,
    pub deliveries: Vec<NewDelivery>,
}

#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub target: String,
    pub rule: String,
    /// The HTTP bodies to POST, in order (a long message may be several parts).
    pub bodies: Vec<String>,
    /// Another method or headers, when an `http` target's rule asks for them.
    pub request: Option<Request>,
    /// For a preview target the stored row is the delivery: it is written delivered.
    pub stored_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    Stored,
    /// The route saw this delivery id within [`DEDUP_WINDOW`]: nothing was queued.
    Duplicate {
        original: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Delivered,
    Dead,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Delivered => "delivered",
            Status::Dead => "dead",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Status {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "pending" => Ok(Status::Pending),
            "delivered" => Ok(Status::Delivered),
            "dead" => Ok(Status::Dead),
            _ => Err(format!(
                "status `{text}` is not one of pending, delivered, dead"
            )),
        }
    }
}

/// A stored delivery, as delivery works on it and operators list it.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub id: i64,
    pub event_id: String,
    pub route: String,
    pub target: String,
    pub rule: String,
    pub status: Status,
    pub bodies: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<Request>,
    /// Parts already accepted by the target; a retry resumes after them.
    pub parts_sent: usize,
    pub attempts: u32,
    pub created_at: Timestamp,
    /// Start of the retry budget: when the delivery was created or last replayed.
    pub since: Timestamp,
    pub next_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_error: Option<String>,
    /// The last failure's cause as a stable code, beside `last_error`'s text.
    pub last_cause: Option<Cause>,
}

/// What one delivery attempt left behind.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// Some parts went out; more remain.
    Progress { parts_sent: usize },
    /// All `parts` went out.
    Delivered { parts: usize },
    Retry {
        parts_sent: usize,
        next_at: Timestamp,
        cause: Cause,
        error: String,
    },
    Dead {
        parts_sent: usize,
        cause: Cause,
        error: String,
    },
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<Status>,
    pub targets: Vec<String>,
    /// Newest first, at most this many (0: no limit).
    pub limit: usize,
    /// Only deliveries older than this one (a lower id): the next page.
    pub before: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    Ids(Vec<i64>),
    AllDead,
}

/// One target's queue, for `/metrics`.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueStats {
    pub target: String,
    pub depth: u64,
    pub oldest: Option<Timestamp>,
}

/// Proof that a worker holds its target: every update it makes carries it, so a
/// replica that lost the target (paused past its lease, cut off from the store) and
/// comes back changes nothing. `epoch` grows each time another replica takes over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub owner: String,
    pub epoch: i64,
}

/// Rows one pruning pass removed, by kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub delivered: u64,
    pub dead: u64,
    /// Delivery ids and signatures older than the dedup window.
    pub dedup_keys: u64,
}

impl Pruned {
    /// Whether a pass removed a whole batch of some kind, so more may be left.
    pub fn filled(&self, batch: usize) -> bool {
        let batch = batch as u64;
        self.delivered >= batch || self.dead >= batch || self.dedup_keys >= batch
    }
}

/// What a backend's driver said, kept whole for whoever walks the error chain.
pub type Source = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the outbox is unavailable: {0}")]
    Unavailable(#[source] Source),
    /// A row this version cannot read: written by another version, or damaged.
    #[error("delivery {id} cannot be read: {detail}")]
    Corrupt { id: i64, detail: String },
    #[error("no delivery with id {0}")]
    NotFound(i64),
    #[error("delivery {0} is still pending: only delivered or dead deliveries can be replayed")]
    StillPending(i64),
    /// The writer's fence is stale, or the delivery was settled meanwhile.
    #[error("delivery {0} was not updated: this replica no longer holds its target, or it is no longer pending")]
    Stale(i64),
}

impl StoreError {
    pub fn unavailable(err: impl Into<Source>) -> Self {
        StoreError::Unavailable(err.into())
    }

    pub fn corrupt(id: i64, detail: impl Into<String>) -> Self {
        StoreError::Corrupt {
            id,
            detail: detail.into(),
        }
    }
}

/// A store that cannot be opened at start, with what to check.
#[derive(Debug, thiserror::Error)]
#[error("{what}")]
pub struct OpenError {
    what: String,
    #[source]
    source: Source,
}

impl OpenError {
    fn new(what: impl Into<String>, source: impl Into<Source>) -> Self {
        Self {
            what: what.into(),
            source: source.into(),
        }
    }
}

#[async_trait]
pub trait Store: Send + Sync {
    /// Stores the event's deliveries durably, or recognises a duplicate.
    async fn accept(&self, event: NewEvent) -> Result<Accepted, StoreError>;
    /// The oldest pending delivery of `target`: the head of its FIFO queue.
    async fn head(&self, target: &str) -> Result<Option<Delivery>, StoreError>;
    /// Changes a pending delivery, only while `fence` still holds its target.
    async fn update(&self, id: i64, update: Update, fence: &Fence) -> Result<(), StoreError>;
    async fn list(&self, filter: &Filter) -> Result<Vec<Delivery>, StoreError>;
    /// Puts deliveries back at the tail of their targets' queues with a fresh retry
    /// budget; returns the ids replayed.
    async fn replay(&self, which: Replay) -> Result<Vec<i64>, StoreError>;
    async fn queues(&self) -> Result<Vec<QueueStats>, StoreError>;
    /// Reachable and able to take a write, for `/readyz`.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Asks that `owner` be the one worker delivering to `target` for `ttl`; asking
    /// again before it ends renews it. One sender per target is what keeps a target's
    /// order and rate across replicas sharing the store.
    /// `None` when another replica holds it.
    async fn lease(
        &self,
        target: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<Fence>, StoreError>;
    /// Says `owner` is alive: a replica silent for [`SILENT_AFTER`] loses its leases to
    /// whoever asks, before they run out.
    async fn heartbeat(&self, owner: &str) -> Result<(), StoreError>;
    /// Gives a lease up at shutdown, so another replica takes the target at once.
    async fn release(&self, target: &str, owner: &str) -> Result<(), StoreError>;
    /// Deletes at most `batch` rows of each kind that `retention` (or the dedup window)
    /// lets go, so that one call never holds the store for long: finished deliveries
    /// by when they finished, never a pending one.
    async fn prune(&self, retention: &Retention, batch: usize) -> Result<Pruned, StoreError>;
    /// Takes the right to send to `target` now if the last send, by any replica, was at
    /// least `spacing` ago: `Duration::ZERO`. Otherwise the wait before asking again.
    async fn take_send_slot(&self, target: &str, spacing: Duration)
        -> Result<Duration, StoreError>;
    /// A send to `target` just ended: the next may start no sooner than `spacing` from
    /// now. Services count arrivals, which fall anywhere between a send's start and its
    /// end; spacing from the end keeps them `spacing` apart however long a send was
    /// held up on its way.
    async fn end_send(&self, target: &str, spacing: Duration) -> Result<(), StoreError>;
}

/// Who opens a store: the gateway that delivers from it, or a command that reads and
/// replays beside a running one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Delivers from the queues: one such process per SQLite file.
    Serve,
    /// Lists and replays; the serving process delivers what it replays.
    Admin,
}

/// Opens the store the config names, creating it on first start.
pub async fn open(
    store: &config::Store,
    clock: Clock,
    access: Access,
) -> Result<Arc<dyn Store>, OpenError> {
    match store {
        config::Store::Sqlite(path) => Ok(Arc::new(SqliteStore::open(path, clock, access)?)),
        config::Store::Postgres { url, pool } => {
            Ok(Arc::new(PostgresStore::open(url, pool, clock).await?))
        }
    }
}
