//! The one writer thread: it takes every write from a queue and commits what arrived
//! together in one transaction, and prunes old rows now and then.

use std::sync::mpsc;
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::Connection;
use tokio::sync::oneshot;

use super::unavailable;
use crate::clock::Clock;
use crate::store::rows::millis;
use crate::store::{StoreError, DEDUP_WINDOW};

/// Most jobs folded into one transaction.
const MAX_BATCH: usize = 1024;
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// Delivered rows are kept this long for `deliveries list`, then pruned.
const KEEP_DELIVERED: jiff::SignedDuration = jiff::SignedDuration::from_hours(7 * 24);

/// A write the writer thread runs inside a batch's transaction.
pub(super) trait Job: Send {
    /// Runs the write; false when it failed, so its batch must not commit as is.
    /// It may run twice: a batch that failed is rolled back and each job run alone.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers once the transaction it ran in committed, or could not.
    fn finish(self: Box<Self>, committed: Result<(), StoreError>);
}

pub(super) struct Write<T, F> {
    pub op: F,
    pub result: Option<Result<T, StoreError>>,
    pub reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Write<T, F>
where
    T: Send,
    F: FnMut(&Connection) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let result = (self.op)(conn);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, committed: Result<(), StoreError>) {
        let result = self
            .result
            .unwrap_or_else(|| Err(unavailable("the write did not run")));
        let _ = self.reply.send(committed.and(result));
    }
}

pub(super) fn write_loop(conn: &Connection, queue: &mpsc::Receiver<Box<dyn Job>>, clock: &Clock) {
    let mut last_prune = clock.instant();
    loop {
        let first = match queue.recv_timeout(PRUNE_EVERY) {
            Ok(job) => Some(job),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        let mut batch: Vec<Box<dyn Job>> = first
            .into_iter()
            .chain(std::iter::from_fn(|| queue.try_recv().ok()))
            .take(MAX_BATCH)
            .collect();
        if last_prune.elapsed() >= PRUNE_EVERY {
            if let Err(err) = prune(conn, clock.now()) {
                tracing::warn!(%err, "pruning old deliveries failed");
            }
            last_prune = clock.instant();
        }
        match run_batch(conn, &mut batch) {
            Ok(true) => batch.into_iter().for_each(|job| job.finish(Ok(()))),
            // One job failed: it must not undo the others, so each runs again alone.
            // A job that fails alone answers with its own error.
            Ok(false) => {
                for job in batch {
                    let mut alone = [job];
                    let outcome = run_batch(conn, &mut alone).map(drop);
                    let [job] = alone;
                    job.finish(outcome.map_err(StoreError::from));
                }
            }
            Err(err) => {
                let message = format!("the database is locked or cannot be written: {err}");
                for job in batch {
                    job.finish(Err(unavailable(message.clone())));
                }
            }
        }
    }
}

/// Runs `jobs` in one transaction: committed when all succeed (true), rolled back
/// when one fails (false). Every job runs, so none is left without an outcome.
fn run_batch(conn: &Connection, jobs: &mut [Box<dyn Job>]) -> rusqlite::Result<bool> {
    conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    let mut failed = 0;
    for job in jobs.iter_mut() {
        if !job.run(conn) {
            failed += 1;
        }
        // On a full disk or an I/O error SQLite may roll the transaction back by
        // itself; the jobs after it must not then commit one statement at a time.
        if conn.is_autocommit() {
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
                Some("the transaction was rolled back by SQLite".into()),
            ));
        }
    }
    let end = if failed == 0 { "COMMIT" } else { "ROLLBACK" };
    if let Err(err) = conn.execute_batch(end) {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(err);
    }
    Ok(failed == 0)
}

fn prune(conn: &Connection, now: Timestamp) -> rusqlite::Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let pruned = delete_old(conn, now);
    conn.execute_batch(if pruned.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
    pruned
}

fn delete_old(conn: &Connection, now: Timestamp) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM seen WHERE at < ?1",
        [millis(now - DEDUP_WINDOW)],
    )?;
    conn.execute(
        "DELETE FROM deliveries WHERE status = 'delivered' AND updated_at < ?1",
        [millis(now - KEEP_DELIVERED)],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Cause;
    use crate::store::tests::{event, start};
    use crate::store::{Access, Filter, SqliteStore, Status, Store, Update};

    const DAY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

    async fn settle(store: &SqliteStore, target: &str, update: Update) {
        let head = store.head(target).await.unwrap().expect("queued");
        store.update(head.id, update).await.unwrap();
    }

    #[tokio::test]
    async fn pruning_keeps_queued_and_dead_rows_and_drops_old_delivered_ones() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("outbox.db");
        let clock = Clock::manual(start());
        let store = SqliteStore::open(&file, clock.clone(), Access::Serve).unwrap();
        store
            .accept(event("old", Some("k1"), &["a", "b", "c"]))
            .await
            .unwrap();
        settle(&store, "a", Update::Delivered { parts: 2 }).await;
        let dead = Update::Dead {
            parts_sent: 0,
            cause: Cause::Client(404),
            error: "gone".into(),
        };
        settle(&store, "b", dead).await;
        clock.advance(DAY * 6);
        store.accept(event("recent", None, &["a"])).await.unwrap();
        settle(&store, "a", Update::Delivered { parts: 2 }).await;
        clock.advance(DAY * 2);

        let conn = Connection::open(&file).unwrap();
        prune(&conn, clock.now()).unwrap();
        let left: Vec<(String, String, Status)> = store
            .list(&Filter::default())
            .await
            .unwrap()
            .into_iter()
            .map(|d| (d.event_id, d.target, d.status))
            .collect();
        assert_eq!(
            left,
            [
                ("recent".into(), "a".into(), Status::Delivered),
                ("old".into(), "c".into(), Status::Pending),
                ("old".into(), "b".into(), Status::Dead),
            ]
        );
        let seen: i64 = conn
            .query_row("SELECT COUNT(*) FROM seen", [], |r| r.get(0))
            .unwrap();
        assert_eq!(seen, 0, "ids older than the dedup window are forgotten");
    }
}
