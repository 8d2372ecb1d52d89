//! The one writer thread: it takes every write from a queue and commits what arrived
//! together in one transaction.

use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::unavailable;
use crate::store::StoreError;

/// Most jobs folded into one transaction.
const MAX_BATCH: usize = 1024;

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

pub(super) fn write_loop(conn: &Connection, queue: &mpsc::Receiver<Box<dyn Job>>) {
    while let Ok(first) = queue.recv() {
        let mut batch: Vec<Box<dyn Job>> = std::iter::once(first)
            .chain(std::iter::from_fn(|| queue.try_recv().ok()))
            .take(MAX_BATCH)
            .collect();
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
