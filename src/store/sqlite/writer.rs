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
    /// Runs the write once; false when it failed, so that what it wrote is undone.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers once the transaction it ran in committed, or could not.
    fn finish(self: Box<Self>, committed: Result<(), StoreError>);
}

pub(super) struct Write<T, F> {
    pub op: Option<F>,
    pub result: Option<Result<T, StoreError>>,
    pub reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Write<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(op) = self.op.take() else {
            return false;
        };
        let result = op(conn);
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
            // Each job answers with its own outcome: a failed one was rolled back to
            // its savepoint, and the others committed.
            Ok(()) => batch.into_iter().for_each(|job| job.finish(Ok(()))),
            Err(err) => {
                let message = format!("the database is locked or cannot be written: {err}");
                for job in batch {
                    job.finish(Err(unavailable(message.clone())));
                }
            }
        }
    }
}

/// Runs `jobs` in one transaction, each inside a savepoint: a job that fails is undone
/// alone and the rest commit, each job running once.
fn run_batch(conn: &Connection, jobs: &mut [Box<dyn Job>]) -> rusqlite::Result<()> {
    conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    let ran = jobs.iter_mut().try_for_each(|job| {
        conn.prepare_cached("SAVEPOINT job")?.execute([])?;
        let ok = job.run(conn);
        // On a full disk or an I/O error SQLite may roll the transaction back by
        // itself; the jobs after it must not then commit one statement at a time.
        if conn.is_autocommit() {
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
                Some("the transaction was rolled back by SQLite".into()),
            ));
        }
        if !ok {
            conn.prepare_cached("ROLLBACK TO job")?.execute([])?;
        }
        conn.prepare_cached("RELEASE job")?.execute([])?;
        Ok(())
    });
    let ended = ran.and_then(|()| conn.prepare_cached("COMMIT")?.execute([]).map(drop));
    if ended.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    ended
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    /// A job that inserts `value`, or inserts it and then fails, counting its runs.
    fn job(
        value: i64,
        fail: bool,
        runs: &Arc<AtomicUsize>,
    ) -> (Box<dyn Job>, oneshot::Receiver<Result<(), StoreError>>) {
        let (reply, answer) = oneshot::channel();
        let runs = Arc::clone(runs);
        let op = move |conn: &Connection| {
            runs.fetch_add(1, Ordering::SeqCst);
            conn.execute("INSERT INTO t VALUES (?1)", [value])?;
            if fail {
                return Err(StoreError::StillPending(value));
            }
            Ok(())
        };
        let job = Write {
            op: Some(op),
            result: None,
            reply,
        };
        (Box::new(job), answer)
    }

    #[test]
    fn a_failing_job_is_undone_alone_and_no_job_runs_twice() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (v INTEGER)").unwrap();
        let runs = Arc::new(AtomicUsize::new(0));
        let (mut jobs, mut answers): (Vec<_>, Vec<_>) = [(1, false), (2, true), (3, false)]
            .into_iter()
            .map(|(value, fail)| job(value, fail, &runs))
            .unzip();
        run_batch(&conn, &mut jobs).unwrap();
        jobs.into_iter().for_each(|job| job.finish(Ok(())));
        assert_eq!(runs.load(Ordering::SeqCst), 3, "each job ran once");
        let kept: Vec<i64> = conn
            .prepare("SELECT v FROM t ORDER BY v")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            kept,
            [1, 3],
            "the failed job's insert was undone, not the others'"
        );
        let outcomes: Vec<_> = answers
            .iter_mut()
            .map(|answer| answer.try_recv().unwrap().map_err(|e| e.to_string()))
            .collect();
        assert!(outcomes[0].is_ok() && outcomes[2].is_ok());
        assert!(outcomes[1].as_ref().unwrap_err().contains("still pending"));
    }
}
