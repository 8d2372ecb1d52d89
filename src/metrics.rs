//! Prometheus metrics: what the person on call graphs and alerts on. Counters move as
//! events and deliveries happen; queue gauges are read from the store at each scrape,
//! so they hold across restarts and whoever else drains the outbox.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

use crate::http::Cause;
use crate::store::{Pruned, QueueStats};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    route: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    target: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    target: String,
    cause: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReloadLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PrunedLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabel {
    target: String,
}

type HistogramFamily = Family<TargetLabel, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    events: Family<EventLabels, Counter>,
    deliveries: Family<DeliveryLabels, Counter>,
    failures: Family<FailureLabels, Counter>,
    latency: HistogramFamily,
    depth: Family<TargetLabel, Gauge>,
    oldest: Family<TargetLabel, Gauge<f64, AtomicU64>>,
    pruned: Family<PrunedLabel, Counter>,
    reloads: Family<ReloadLabel, Counter>,
    last_reload: Gauge<f64, AtomicU64>,
}

/// What became of a delivery attempt, as counted per target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryResult {
    Queued,
    Delivered,
    Retried,
    Dead,
}

impl DeliveryResult {
    fn name(self) -> &'static str {
        match self {
            DeliveryResult::Queued => "queued",
            DeliveryResult::Delivered => "delivered",
            DeliveryResult::Retried => "retried",
            DeliveryResult::Dead => "dead",
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut metrics = Self {
            events: Family::default(),
            deliveries: Family::default(),
            failures: Family::default(),
            // 10 ms to about 45 h: a delivery can wait out a whole day of retries.
            latency: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.01, 4.0, 13))
            }),
            depth: Family::default(),
            oldest: Family::default(),
            pruned: Family::default(),
            reloads: Family::default(),
            last_reload: Gauge::default(),
            registry: Registry::with_prefix("hookbridge"),
        };
        metrics.register_all();
        metrics
    }
}

impl Metrics {
    fn register_all(&mut self) {
        let table: [(&str, &str, &dyn Registered); 9] = [
            (
                "events",
                "Webhooks received, by route and outcome",
                &self.events,
            ),
            (
                "deliveries",
                "Deliveries queued, delivered, retried and dead, by target",
                &self.deliveries,
            ),
            (
                "delivery_failures",
                "Failed delivery attempts (retried or dead), by target and cause",
                &self.failures,
            ),
            (
                "delivery_latency_seconds",
                "Time from accepting an event to the target taking its delivery",
                &self.latency,
            ),
            ("queue_depth", "Pending deliveries per target", &self.depth),
            (
                "queue_oldest_pending_seconds",
                "Age of the oldest pending delivery per target (0 when none)",
                &self.oldest,
            ),
            (
                "store_pruned_rows",
                "Rows retention removed from the store: delivered, dead, dedup_key",
                &self.pruned,
            ),
            (
                "config_reloads",
                "Config reloads (SIGHUP or POST /api/reload), by result: success or failure",
                &self.reloads,
            ),
            (
                "config_last_reload_success_timestamp_seconds",
                "When the config last reloaded successfully (unix seconds; 0: never)",
                &self.last_reload,
            ),
        ];
        let mut registry = Registry::with_prefix("hookbridge");
        for (name, help, metric) in table {
            metric.register_as(&mut registry, name, help);
        }
        self.registry = registry;
    }
}

/// A metric the registry can hold: registered as a clone sharing its values.
trait Registered {
    fn register_as(&self, registry: &mut Registry, name: &str, help: &str);
}

impl<M: prometheus_client::registry::Metric + Clone> Registered for M {
    fn register_as(&self, registry: &mut Registry, name: &str, help: &str) {
        registry.register(name, help, self.clone());
    }
}

impl Metrics {
    pub fn event(&self, route: &str, outcome: &str) {
        self.events
            .get_or_create(&EventLabels {
                route: route.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// One failed attempt, by its cause: `timeout`, `http_404`, `rate_limited`...
    pub fn failure(&self, target: &str, cause: Cause) {
        self.failures
            .get_or_create(&FailureLabels {
                target: target.to_string(),
                cause: cause.code(),
            })
            .inc();
    }

    pub fn delivery(&self, target: &str, result: DeliveryResult) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                target: target.to_string(),
                result: result.name().to_string(),
            })
            .inc();
    }

    pub fn delivered_after(&self, target: &str, seconds: f64) {
        self.latency.get_or_create(&label(target)).observe(seconds);
    }

    pub fn reload(&self, succeeded: bool, at: jiff::Timestamp) {
        let result = if succeeded { "success" } else { "failure" };
        self.reloads.get_or_create(&ReloadLabel { result }).inc();
        if succeeded {
            self.last_reload.set(at.as_millisecond() as f64 / 1000.0);
        }
    }

    pub fn pruned(&self, pruned: &Pruned) {
        for (kind, rows) in [
            ("delivered", pruned.delivered),
            ("dead", pruned.dead),
            ("dedup_key", pruned.dedup_keys),
        ] {
            self.pruned
                .get_or_create(&PrunedLabel { kind })
                .inc_by(rows);
        }
    }

    /// Every target named gets a gauge, so an empty queue reads 0 rather than vanishing.
    pub fn set_queues<'a>(
        &self,
        targets: impl IntoIterator<Item = &'a str>,
        stats: &[QueueStats],
        now: jiff::Timestamp,
    ) {
        for target in targets {
            let queue = stats.iter().find(|s| s.target == target);
            let depth = queue.map_or(0, |q| q.depth);
            let age = queue
                .and_then(|q| q.oldest)
                .map_or(0.0, |t| now.duration_since(t).as_secs_f64().max(0.0));
            self.depth
                .get_or_create(&label(target))
                .set(i64::try_from(depth).unwrap_or(i64::MAX));
            self.oldest.get_or_create(&label(target)).set(age);
        }
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

fn label(target: &str) -> TargetLabel {
    TargetLabel {
        target: target.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_counters_and_queue_gauges() {
        let metrics = Metrics::default();
        metrics.event("jira", "accepted");
        metrics.delivery("chat", DeliveryResult::Dead);
        metrics.failure("chat", Cause::Client(404));
        let now = jiff::Timestamp::from_second(1_700_000_000).unwrap();
        let stats = [QueueStats {
            target: "chat".into(),
            depth: 3,
            oldest: Some(now - jiff::SignedDuration::from_secs(90)),
        }];
        metrics.set_queues(["chat", "idle"], &stats, now);
        let text = metrics.encode();
        for line in [
            r#"hookbridge_events_total{route="jira",outcome="accepted"} 1"#,
            r#"hookbridge_delivery_failures_total{target="chat",cause="http_404"} 1"#,
            r#"hookbridge_deliveries_total{target="chat",result="dead"} 1"#,
            r#"hookbridge_queue_depth{target="chat"} 3"#,
            r#"hookbridge_queue_depth{target="idle"} 0"#,
            r#"hookbridge_queue_oldest_pending_seconds{target="chat"} 90.0"#,
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }
}
