//! Delivery: one worker per target drains its FIFO queue from the outbox, at the
//! target's rate, retrying with backoff. Workers share nothing but the store and the
//! HTTP client, so a slow, throttled or dead target never delays the others.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::clock::Clock;
use crate::config::{Config, Rate, Target};
use crate::metrics::{DeliveryResult, Metrics};
use crate::store::{Delivery, Request, Store, Update};
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};

pub mod retry;

use retry::{Attempt, Verdict};

/// How often an idle worker looks at the store anyway, so a replay made by another
/// process (`hookbridge deliveries replay`) is picked up.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// Pause after the store failed, before asking again.
const STORE_RETRY: Duration = Duration::from_secs(1);
/// How much of a refusal's body is kept in `last_error`.
const DETAIL_LIMIT: usize = 300;
/// Reading stops here: a target that streams garbage costs no more than this.
const READ_LIMIT: usize = 64 * 1024;

/// A worker renews its lease on a target this long before it ends.
const LEASE_MARGIN: Duration = Duration::from_secs(5);

/// Wakes a target's worker when ingress queued something for it.
#[derive(Debug, Clone, Default)]
pub struct Wakers(HashMap<String, Arc<Notify>>);

impl Wakers {
    pub fn wake(&self, target: &str) {
        if let Some(notify) = self.0.get(target) {
            notify.notify_one();
        }
    }
}

/// Starts one worker per target that can send; they stop when `shutdown` turns true,
/// leaving whatever is queued in the store for the next start.
/// `replica` names this process's leases on targets in a store shared by replicas.
pub fn start(
    replica: &str,
    config: &Config,
    store: &Arc<dyn Store>,
    metrics: &Arc<Metrics>,
    clock: &Clock,
    shutdown: &watch::Receiver<bool>,
) -> anyhow::Result<(Wakers, Vec<JoinHandle<()>>)> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("hookbridge/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let mut wakers = HashMap::new();
    let mut handles = Vec::new();
    for (name, target) in &config.targets {
        // Preview deliveries are written delivered: the stored row is the message.
        if target.url.is_none() {
            continue;
        }
        let wake = Arc::new(Notify::new());
        wakers.insert(name.clone(), Arc::clone(&wake));
        let worker = Worker {
            name: name.clone(),
            target: target.clone(),
            store: Arc::clone(store),
            client: client.clone(),
            metrics: Arc::clone(metrics),
            spacing: target.rate_limit.map(spacing),
            owner: replica.to_string(),
            leased_until: None,
            bucket_refills_at: None,
            wake,
            clock: clock.clone(),
        };
        handles.push(tokio::spawn(worker.run(shutdown.clone())));
    }
    Ok((Wakers(wakers), handles))
}

/// Evenly spaced sends, no bursts: "1/s" is one every second, "60/min" too.
fn spacing(rate: Rate) -> Duration {
    rate.per / rate.count.max(1)
}

struct Worker {
    name: String,
    target: Target,
    store: Arc<dyn Store>,
    client: reqwest::Client,
    metrics: Arc<Metrics>,
    /// Time between two sends, from the rate limit; `None`: no limit.
    spacing: Option<Duration>,
    owner: String,
    leased_until: Option<tokio::time::Instant>,
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
    async fn hold_lease(&mut self) -> Result<bool, crate::store::StoreError> {
        let now = self.clock.instant();
        if self
            .leased_until
            .is_some_and(|until| until > now + LEASE_MARGIN + self.target.timeout)
        {
            return Ok(true);
        }
        let ttl = self.lease_ttl();
        let granted = self.store.lease(&self.name, &self.owner, ttl).await?;
        self.leased_until = granted.then(|| now + ttl);
        Ok(granted)
    }

    async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            match self.hold_lease().await {
                Ok(true) => {}
                Ok(false) => {
                    // Another replica delivers to this target; be ready to take over.
                    pause(&mut shutdown, LEASE_MARGIN).await;
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
        if self.leased_until.is_some() {
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
            match verdict {
                Verdict::Delivered => parts_sent += 1,
                Verdict::Retry { at, error } => {
                    tracing::warn!(%error, attempt = delivery.attempts + 1, next_at = %at, "delivery failed; will retry");
                    self.metrics.delivery(&self.name, DeliveryResult::Retried);
                    let update = Update::Retry {
                        parts_sent,
                        next_at: at,
                        error,
                    };
                    self.record(delivery.id, update).await;
                    return;
                }
                Verdict::Dead { error } => {
                    tracing::error!(%error, "delivery is dead; replay it once the cause is fixed");
                    self.metrics.delivery(&self.name, DeliveryResult::Dead);
                    self.record(delivery.id, Update::Dead { parts_sent, error })
                        .await;
                    return;
                }
            }
        }
        if self.record(delivery.id, Update::Delivered).await {
            let latency = self.clock.now().duration_since(delivery.created_at);
            self.metrics.delivery(&self.name, DeliveryResult::Delivered);
            self.metrics
                .delivered_after(&self.name, latency.as_secs_f64().max(0.0));
            tracing::info!(parts = delivery.bodies.len(), "delivered");
        }
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
    /// again later, which at-least-once delivery allows.
    async fn record(&self, id: i64, update: Update) -> bool {
        match self.store.update(id, update).await {
            Ok(()) => true,
            Err(err) => {
                tracing::warn!(%err, "cannot record the delivery's outcome; it stays pending");
                tokio::time::sleep(STORE_RETRY).await;
                false
            }
        }
    }

    async fn send(&mut self, body: &str, request: Option<&Request>) -> Attempt {
        let Some(url) = &self.target.url else {
            return Attempt::Failed("the target has no url".into());
        };
        let method = request
            .and_then(|r| r.method.as_deref())
            .or(self.target.method.as_deref())
            .unwrap_or("POST");
        let Ok(method) = reqwest::Method::from_bytes(method.as_bytes()) else {
            return Attempt::Unsendable(format!("`{method}` is not an HTTP method"));
        };
        let headers = match request_headers(&self.target.headers, request) {
            Ok(headers) => headers,
            Err(error) => return Attempt::Unsendable(error),
        };
        let sent = self
            .client
            .request(method, url)
            .headers(headers)
            .body(body.to_owned())
            .timeout(self.target.timeout)
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(err) => return Attempt::Failed(self.failure(err)),
        };
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let retry_after =
            header("retry-after").and_then(|v| retry::parse_retry_after(&v, self.clock.now()));
        let bucket_empty = retry::bucket_empty_for(
            header("x-ratelimit-remaining").as_deref(),
            header("x-ratelimit-reset-after").as_deref(),
        );
        self.bucket_refills_at = bucket_empty.map(|wait| self.clock.instant() + wait);
        let mut detail = Vec::new();
        let mut read = 0;
        while read < READ_LIMIT {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    read += chunk.len();
                    let room = DETAIL_LIMIT.saturating_sub(detail.len());
                    detail.extend_from_slice(&chunk[..room.min(chunk.len())]);
                }
                Ok(None) => break,
                // The status already says what happened; a broken body adds nothing.
                Err(_) => break,
            }
        }
        let detail = String::from_utf8_lossy(&detail).trim().to_string();
        let retry_after = match status {
            429 => retry::retry_after_in_body(&detail).or(retry_after),
            _ => retry_after,
        };
        Attempt::Answered {
            status,
            retry_after,
            detail,
        }
    }

    /// The URL is left out: a webhook URL is itself the secret that lets one post.
    fn failure(&self, err: reqwest::Error) -> String {
        let what = if err.is_timeout() {
            format!(
                "no answer within the {}s timeout",
                self.target.timeout.as_secs_f64()
            )
        } else if err.is_connect() {
            "cannot connect".to_string()
        } else {
            "the request failed".to_string()
        };
        let mut text = what;
        let err = err.without_url();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            text += &format!(": {cause}");
            source = cause.source();
        }
        text
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
        let value = crate::http::parse_header_value(name, value)?;
        headers.insert(crate::http::parse_header_name(name)?, value);
    }
    Ok(headers)
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
            Some(t) if t.url.is_none() => "has no url (it is off)",
            Some(_) => continue,
        };
        tracing::warn!(target_name = %queue.target, pending = queue.depth, "target {why}: its pending deliveries wait until it is back");
    }
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
