//! Delivery: one worker per target drains its FIFO queue from the outbox, at the
//! target's rate, retrying with backoff. Workers share nothing but the store and the
//! HTTP client, so a slow, throttled or dead target never delays the others.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::clock::Clock;
use crate::config::{Config, Rate, Target};
use crate::http::{self, Attempt};
use crate::metrics::{DeliveryResult, Metrics};
use crate::store::{
    Delivery, Fence, Request, Store, StoreError, Update, HEARTBEAT_EVERY, SILENT_AFTER,
};
use crate::target::Kind;

mod fleet;
pub mod retry;

pub use fleet::{Crew, Fleet, Wakers};

use retry::Verdict;

/// How often an idle worker looks at the store anyway, so a replay made by another
/// process (`hookbridge deliveries replay`) is picked up.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// Pause after the store failed, before asking again.
const STORE_RETRY: Duration = Duration::from_secs(1);

/// At this spacing or more (10 sends a second or fewer: the chat services), the next
/// send is paced from the end of the last rather than its start, at the cost of one
/// more store call per send; faster targets are bound by their latency anyway.
const JITTER_MATTERS: Duration = Duration::from_millis(100);

/// A replica without a target's lease asks for it this often: with the 3.5 s of
/// silence that frees a dead holder's lease, a target is taken over within about 6 s,
/// at one small query per target per non-holding replica every 2 s.
const LEASE_ASK_EVERY: Duration = Duration::from_secs(2);

/// A worker renews its lease on a target this long before it ends.
const LEASE_MARGIN: Duration = Duration::from_secs(5);

/// When this replica last told the store it is alive. Workers trust their cached
/// leases only while that is recent: a replica that could not heartbeat (paused, cut
/// off from the store) may have lost its targets to another, and asks again.
pub struct Liveness {
    last_beat: std::sync::Mutex<tokio::time::Instant>,
}

impl Liveness {
    /// After a heartbeat that succeeded at `now`.
    pub fn beating(now: tokio::time::Instant) -> Arc<Self> {
        Arc::new(Self {
            last_beat: std::sync::Mutex::new(now),
        })
    }

    fn beat(&self, now: tokio::time::Instant) {
        *self.last_beat.lock().unwrap_or_else(|p| p.into_inner()) = now;
    }

    /// Other replicas cannot have taken this one for dead yet.
    fn fresh(&self, now: tokio::time::Instant) -> bool {
        let last = *self.last_beat.lock().unwrap_or_else(|p| p.into_inner());
        now.saturating_duration_since(last) < SILENT_AFTER - HEARTBEAT_EVERY
    }
}

/// Tells the store every [`HEARTBEAT_EVERY`] that `replica` is alive, until shutdown.
pub fn heartbeat(
    replica: &str,
    store: &Arc<dyn Store>,
    liveness: &Arc<Liveness>,
    clock: &Clock,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let (replica, store, liveness, clock) = (
        replica.to_string(),
        Arc::clone(store),
        Arc::clone(liveness),
        clock.clone(),
    );
    tokio::spawn(async move {
        while pause(&mut shutdown, HEARTBEAT_EVERY).await {
            match store.heartbeat(&replica).await {
                Ok(()) => liveness.beat(clock.instant()),
                Err(err) => {
                    tracing::warn!(%err, "cannot tell the store this replica is alive; others may take its targets")
                }
            }
        }
    })
}

/// Whether a worker runs for the target: one that sends, or a preview, whose worker
/// only marks replayed messages delivered.
fn sends(target: &Target) -> bool {
    target.url.is_some() || target.kind == Kind::Preview
}

/// Evenly spaced sends, no bursts: "1/s" is one every second, "60/min" too.
fn spacing(rate: Rate) -> Duration {
    rate.per / rate.count.max(1)
}

struct Worker {
    name: String,
    target: Target,
    store: Arc<dyn Store>,
    client: http::Client,
    metrics: Arc<Metrics>,
    /// Time between two sends, from the rate limit; `None`: no limit.
    spacing: Option<Duration>,
    owner: String,
    /// The target's lease while this worker holds it: the fence its updates carry,
    /// and when the lease runs out.
    lease: Option<(Fence, tokio::time::Instant)>,
    liveness: Arc<Liveness>,
    /// The service said its rate bucket is empty until then.
    bucket_refills_at: Option<tokio::time::Instant>,
    wake: Arc<Notify>,
    clock: Clock,
}

/// Sleeps for `wait`, or less if the process is stopping; false when it is.
async fn pause(shutdown: &mut watch::Receiver<bool>, wait: Duration) -> bool {
    if *shutdown.borrow() {
        return false;
    }
    tokio::select! {
        () = tokio::time::sleep(wait) => true,
        _ = shutdown.changed() => false,
    }
}

impl Worker {
    /// The lease outlives the longest attempt, so a holder never loses it mid-send; a
    /// replica that dies holds its targets until it runs out.
    fn lease_ttl(&self) -> Duration {
        self.target.timeout * 2 + LEASE_MARGIN * 2
    }

    /// Whether this process may deliver to the target now, renewing the lease early.
    async fn hold_lease(&mut self) -> Result<bool, StoreError> {
        let now = self.clock.instant();
        let cached = self
            .lease
            .as_ref()
            .is_some_and(|(_, until)| *until > now + LEASE_MARGIN + self.target.timeout);
        if cached && self.liveness.fresh(now) {
            return Ok(true);
        }
        let ttl = self.lease_ttl();
        let fence = self.store.lease(&self.name, &self.owner, ttl).await?;
        self.lease = fence.map(|fence| (fence, now + ttl));
        Ok(self.lease.is_some())
    }

    async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            match self.hold_lease().await {
                Ok(true) => {}
                Ok(false) => {
                    // Another replica delivers to this target; ask again soon enough
                    // to take over within seconds of its going silent.
                    pause(&mut shutdown, LEASE_ASK_EVERY).await;
                    continue;
                }
                Err(err) => {
                    tracing::warn!(target_name = %self.name, %err, "cannot take the target's lease; delivery pauses until the store answers");
                    pause(&mut shutdown, STORE_RETRY).await;
                    continue;
                }
            }
            let head = match self.store.head(&self.name).await {
                Ok(head) => head,
                Err(err) => {
                    tracing::warn!(target_name = %self.name, %err, "cannot read the queue; delivery pauses until the store answers");
                    pause(&mut shutdown, STORE_RETRY).await;
                    continue;
                }
            };
            let Some(delivery) = head else {
                tokio::select! {
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(IDLE_POLL) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            };
            let now = self.clock.now();
            if delivery.next_at > now {
                let wait = Duration::try_from(delivery.next_at.duration_since(now))
                    .unwrap_or(Duration::ZERO);
                // Wake in time to renew the lease while the head waits out its backoff.
                pause(&mut shutdown, wait.min(LEASE_MARGIN)).await;
                continue;
            }
            let span = tracing::info_span!("delivery", id = delivery.id, event = %delivery.event_id, target_name = %self.name);
            self.deliver(delivery, &mut shutdown).instrument(span).await;
        }
        if self.lease.is_some() {
            if let Err(err) = self.store.release(&self.name, &self.owner).await {
                tracing::warn!(target_name = %self.name, %err, "cannot give the target's lease up; another replica takes it when it runs out");
            }
        }
    }

    async fn deliver(&mut self, delivery: Delivery, shutdown: &mut watch::Receiver<bool>) {
        let mut parts_sent = delivery.parts_sent;
        while parts_sent < delivery.bodies.len() {
            // Waiting for a slot, or a message of many parts at a slow rate, can
            // outlast the lease; each part goes out only while this process still
            // holds the target, checked after the wait.
            let ready = self.pace(shutdown).await && matches!(self.hold_lease().await, Ok(true));
            if !ready {
                if parts_sent > delivery.parts_sent {
                    self.record(delivery.id, Update::Progress { parts_sent })
                        .await;
                }
                return;
            }
            let attempt = self
                .send(&delivery.bodies[parts_sent], delivery.request.as_ref())
                .await;
            let verdict = retry::judge(
                &attempt,
                &self.target.retry,
                delivery.attempts,
                delivery.since,
                self.clock.now(),
                fastrand::f64(),
            );
            if verdict == Verdict::Delivered {
                parts_sent += 1;
            } else {
                self.record_failure(&delivery, parts_sent, verdict).await;
                return;
            }
        }
        let delivered = Update::Delivered {
            parts: delivery.bodies.len(),
        };
        if self.record(delivery.id, delivered).await {
            let latency = self.clock.now().duration_since(delivery.created_at);
            self.metrics.delivery(&self.name, DeliveryResult::Delivered);
            self.metrics
                .delivered_after(&self.name, latency.as_secs_f64().max(0.0));
            tracing::info!(parts = delivery.bodies.len(), "delivered");
        }
    }

    /// Logs, counts and stores a failed attempt's verdict.
    async fn record_failure(&mut self, delivery: &Delivery, parts_sent: usize, verdict: Verdict) {
        let update = match verdict {
            Verdict::Delivered => return,
            Verdict::Retry { at, cause, error } => {
                tracing::warn!(%cause, %error, attempt = delivery.attempts + 1, next_at = %at, "delivery failed; will retry");
                self.metrics.delivery(&self.name, DeliveryResult::Retried);
                Update::Retry {
                    parts_sent,
                    next_at: at,
                    cause,
                    error,
                }
            }
            Verdict::Dead { cause, error } => {
                tracing::error!(%cause, %error, "delivery is dead; replay it once the cause is fixed");
                self.metrics.delivery(&self.name, DeliveryResult::Dead);
                Update::Dead {
                    parts_sent,
                    cause,
                    error,
                }
            }
        };
        if let Update::Retry { cause, .. } | Update::Dead { cause, .. } = &update {
            self.metrics.failure(&self.name, *cause);
        }
        self.record(delivery.id, update).await;
    }

    /// Waits until the target may be sent to again, by the slot kept in the store so
    /// that the rate holds across replicas; false when the process is stopping.
    async fn pace(&self, shutdown: &mut watch::Receiver<bool>) -> bool {
        if let Some(refill) = self.bucket_refills_at {
            let wait = refill.saturating_duration_since(self.clock.instant());
            if !wait.is_zero() && !pause(shutdown, wait).await {
                return false;
            }
        }
        let Some(spacing) = self.spacing else {
            return !*shutdown.borrow();
        };
        loop {
            let wait = match self.store.take_send_slot(&self.name, spacing).await {
                Ok(wait) if wait.is_zero() => return !*shutdown.borrow(),
                Ok(wait) => wait,
                Err(err) => {
                    tracing::warn!(%err, "cannot take a send slot; waiting for the store");
                    STORE_RETRY
                }
            };
            if !pause(shutdown, wait).await {
                return false;
            }
        }
    }

    /// A store that cannot record the outcome leaves the delivery pending: it is sent
    /// again later, which at-least-once delivery allows. A fenced-out worker lets the
    /// target go: the replica that took it over owns the outcome now.
    async fn record(&mut self, id: i64, update: Update) -> bool {
        let Some((fence, _)) = &self.lease else {
            return false;
        };
        match self.store.update(id, update, fence).await {
            Ok(()) => true,
            Err(StoreError::Stale(_)) => {
                tracing::warn!("another replica took this target over while this one was paused or cut off from the store; the outcome is left to it");
                self.lease = None;
                false
            }
            Err(err) => {
                tracing::warn!(%err, "cannot record the delivery's outcome; it stays pending");
                tokio::time::sleep(STORE_RETRY).await;
                false
            }
        }
    }

    async fn send(&mut self, body: &str, request: Option<&Request>) -> Attempt {
        let Some(url) = &self.target.url else {
            // A preview's stored row is its message: a replayed one is shown again
            // by being marked delivered, with nothing to send.
            return match self.target.kind {
                Kind::Preview => Attempt::status(204),
                _ => Attempt::Unsendable("the target has no url".into()),
            };
        };
        let outgoing = http::Outgoing {
            url,
            method: self.target.method.as_deref(),
            headers: &self.target.headers,
            request,
            body,
            timeout: self.target.timeout,
        };
        let attempt = self.client.send(outgoing, self.clock.now()).await;
        if let Some(spacing) = self.spacing.filter(|s| *s >= JITTER_MATTERS) {
            if let Err(err) = self.store.end_send(&self.name, spacing).await {
                tracing::warn!(%err, "cannot record the send's end; the next is paced from its start");
            }
        }
        if let Attempt::Answered { bucket_empty, .. } = &attempt {
            self.bucket_refills_at = bucket_empty.map(|wait| self.clock.instant() + wait);
        }
        attempt
    }
}

/// Deliveries queued for targets this config cannot send to stay in the store; say so
/// at start rather than let them wait unseen.
pub async fn warn_about_stranded(config: &Config, store: &dyn Store) {
    let Ok(queues) = store.queues().await else {
        return;
    };
    for queue in queues {
        let why = match config.targets.get(&queue.target) {
            None => "is no longer in the config",
            Some(t) if !sends(t) => "has no url (it is off)",
            Some(_) => continue,
        };
        tracing::warn!(target_name = %queue.target, pending = queue.depth, "target {why}: its pending deliveries wait until it is back");
    }
}
