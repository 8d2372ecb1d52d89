//! Pruning what retention lets go, on every replica: batches small enough that ingest
//! and the workers get the store between them, until a batch comes back short.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Retention;
use crate::metrics::Metrics;
use crate::store::{Pruned, Store, StoreError};

/// Rows of each kind one store call deletes: a few milliseconds of the store.
const BATCH: usize = 500;
/// Hours of retention make minutes of lateness harmless.
const EVERY: Duration = Duration::from_secs(600);
/// Between batches, so a backlog of a million rows never holds the store for long.
const PAUSE: Duration = Duration::from_millis(50);

pub fn spawn(
    store: Arc<dyn Store>,
    retention: Retention,
    metrics: Arc<Metrics>,
    mut stopping: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let pass = prune_all(store.as_ref(), &retention, &metrics, PAUSE);
            let outcome = tokio::select! {
                outcome = pass => outcome,
                _ = stopping.changed() => return,
            };
            match outcome {
                Ok(total) if total != Pruned::default() => {
                    tracing::info!(
                        delivered = total.delivered,
                        dead = total.dead,
                        dedup_keys = total.dedup_keys,
                        "pruned what retention lets go"
                    );
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(%err, "pruning the store failed; trying again later"),
            }
            tokio::select! {
                () = tokio::time::sleep(EVERY) => {}
                _ = stopping.changed() => return,
            }
        }
    })
}

/// Batches until one comes back short; what they removed, in all.
async fn prune_all(
    store: &dyn Store,
    retention: &Retention,
    metrics: &Metrics,
    pause: Duration,
) -> Result<Pruned, StoreError> {
    let mut total = Pruned::default();
    loop {
        let pruned = store.prune(retention, BATCH).await?;
        metrics.pruned(&pruned);
        total.delivered += pruned.delivered;
        total.dead += pruned.dead;
        total.dedup_keys += pruned.dedup_keys;
        if !pruned.filled(BATCH) {
            return Ok(total);
        }
        tokio::time::sleep(pause).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::store::tests::{event, holder, start};
    use crate::store::{Access, SqliteStore, Update};

    #[tokio::test]
    async fn prunes_in_batches_until_one_is_short_and_counts_each_kind() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Clock::manual(start());
        let file = dir.path().join("outbox.db");
        let store = SqliteStore::open(&file, clock.clone(), Access::Serve).unwrap();
        let rows = BATCH * 2 + 7;
        for n in 0..rows {
            let id = format!("e{n}");
            store.accept(event(&id, Some(&id), &["a"])).await.unwrap();
            let head = store.head("a").await.unwrap().unwrap();
            let fence = holder(&store, "a").await;
            let delivered = Update::Delivered { parts: 2 };
            store.update(head.id, delivered, &fence).await.unwrap();
        }
        clock.advance(Duration::from_secs(8 * 86_400));
        let metrics = Metrics::default();
        let total = prune_all(&store, &Retention::default(), &metrics, Duration::ZERO)
            .await
            .unwrap();
        let all = rows as u64;
        assert_eq!(
            total,
            Pruned {
                delivered: all,
                dead: 0,
                dedup_keys: all
            }
        );
        let text = metrics.encode();
        assert!(
            text.contains(&format!(
                "hookbridge_store_pruned_rows_total{{kind=\"delivered\"}} {all}"
            )),
            "{text}"
        );
        assert!(text.contains("hookbridge_store_pruned_rows_total{kind=\"dead\"} 0"));
    }
}
