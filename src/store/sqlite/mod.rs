//! The embedded outbox: one SQLite file in WAL mode with `synchronous = FULL`, so a
//! row is on disk before ingress answers 202. One writer thread owns every write and
//! commits whatever arrived while the previous commit was syncing in one transaction:
//! concurrent requests share an fsync instead of queueing behind one each.

use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, Row};
use tokio::sync::oneshot;

use self::lock::ServeLock;
use self::pacing::Pacing;
use self::writer::{write_loop, Job, Write};
use super::rows::{
    millis, not_updated, timestamp, Change, Cutoffs, Insert, Stored, COLUMNS, FORMAT,
};
use super::{
    Accepted, Access, Delivery, Fence, Filter, NewEvent, OpenError, Pruned, QueueStats, Replay,
    Store, StoreError, Update, DEDUP_WINDOW,
};
use crate::clock::Clock;
use crate::config::Retention;

mod lock;
mod pacing;
mod prune;
mod writer;

/// How long a write waits for a lock another process holds before the store reports
/// itself unavailable (ingress then answers 503 and the sender retries).
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS deliveries (
    id          INTEGER PRIMARY KEY,
    seq         INTEGER NOT NULL,   -- queue order: a replay moves a delivery to the tail
    event_id    TEXT NOT NULL,
    route       TEXT NOT NULL,
    target      TEXT NOT NULL,
    rule        TEXT NOT NULL,
    status      TEXT NOT NULL,
    bodies      TEXT NOT NULL,      -- JSON array of the HTTP bodies, in order
    parts_sent  INTEGER NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,   -- unix milliseconds, as every time here
    since       INTEGER NOT NULL,
    next_at     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    last_error  TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_queue ON deliveries (target, seq) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS deliveries_seq ON deliveries (seq);
CREATE INDEX IF NOT EXISTS deliveries_status ON deliveries (status, id);
CREATE TABLE IF NOT EXISTS seen (
    route     TEXT NOT NULL,
    key       TEXT NOT NULL,
    event_id  TEXT NOT NULL,
    at        INTEGER NOT NULL,
    PRIMARY KEY (route, key)
);
-- Retention deletes finished rows by age in small batches (see prune).
CREATE INDEX IF NOT EXISTS deliveries_finished ON deliveries (status, updated_at) WHERE status <> 'pending';
CREATE INDEX IF NOT EXISTS seen_at ON seen (at);
";

/// Changes to a store made by an earlier version, by `user_version`; each runs once.
/// Rows written before `format` existed are in format 1.
const MIGRATIONS: [&str; 2] = [
    "ALTER TABLE deliveries ADD COLUMN request TEXT",
    "ALTER TABLE deliveries ADD COLUMN last_cause TEXT; \
     ALTER TABLE deliveries ADD COLUMN format INTEGER NOT NULL DEFAULT 1",
];

/// One gateway process per SQLite file (see `lock`): leases are always granted, and
/// send slots are kept in memory.
pub struct SqliteStore {
    _serving: Option<ServeLock>,
    jobs: mpsc::Sender<Box<dyn Job>>,
    reader: Arc<Mutex<Connection>>,
    pacing: Pacing,
    clock: Clock,
}

impl SqliteStore {
    pub fn open(path: &Path, clock: Clock, access: Access) -> Result<Self, OpenError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                OpenError::new(
                    format!("cannot create the store's folder {}", dir.display()),
                    e,
                )
            })?;
        }
        let serving = match access {
            Access::Serve => Some(ServeLock::take(path)?),
            Access::Admin => None,
        };
        let cannot_open = |e| {
            OpenError::new(
                format!("cannot open the SQLite store {}", path.display()),
                e,
            )
        };
        let writer = connect(path).map_err(cannot_open)?;
        writer
            .execute_batch(SCHEMA)
            .and_then(|()| migrate(&writer))
            .map_err(|e| {
                OpenError::new(format!("cannot create tables in {}", path.display()), e)
            })?;
        let reader = connect(path).map_err(cannot_open)?;
        let (jobs, queue) = mpsc::channel();
        thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || write_loop(&writer, &queue))
            .map_err(|e| OpenError::new("cannot start the store's writer thread", e))?;
        Ok(Self {
            _serving: serving,
            jobs,
            reader: Arc::new(Mutex::new(reader)),
            pacing: Pacing::default(),
            clock,
        })
    }

    /// Runs `op` inside the next batched transaction and answers once it committed.
    async fn write<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Write {
            op: Some(op),
            result: None,
            reply,
        });
        self.jobs
            .send(job)
            .map_err(|_| unavailable("the writer thread stopped"))?;
        answer
            .await
            .map_err(|_| unavailable("the writer thread stopped"))?
    }

    async fn read<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let reader = Arc::clone(&self.reader);
        tokio::task::spawn_blocking(move || {
            let conn = reader
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            op(&conn).map_err(StoreError::from)
        })
        .await
        .map_err(unavailable)?
    }
}

fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

fn unavailable(err: impl Into<super::Source>) -> StoreError {
    StoreError::unavailable(err)
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        unavailable(err)
    }
}

/// Runs the migrations this store lacks, in one transaction that also reads the
/// version: two processes opening an old store at once migrate it once.
fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let migrated = (|| {
        let version: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let pending = MIGRATIONS
            .iter()
            .enumerate()
            .skip(version.saturating_sub(1));
        for (done, migration) in pending {
            conn.execute_batch(migration)?;
            conn.pragma_update(None, "user_version", done + 2)?;
        }
        Ok(())
    })();
    conn.execute_batch(if migrated.is_ok() {
        "COMMIT"
    } else {
        "ROLLBACK"
    })?;
    migrated
}

fn stored(row: &Row) -> rusqlite::Result<Stored> {
    Ok(Stored {
        id: row.get("id")?,
        event_id: row.get("event_id")?,
        route: row.get("route")?,
        target: row.get("target")?,
        rule: row.get("rule")?,
        status: row.get("status")?,
        bodies: row.get("bodies")?,
        parts_sent: row.get("parts_sent")?,
        attempts: row.get("attempts")?,
        created_at: row.get("created_at")?,
        since: row.get("since")?,
        next_at: row.get("next_at")?,
        updated_at: row.get("updated_at")?,
        last_error: row.get("last_error")?,
        last_cause: row.get("last_cause")?,
        request: row.get("request")?,
        format: row.get("format")?,
    })
}

fn next_seq(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT COALESCE(MAX(seq), 0) + 1 FROM deliveries")?
        .query_row([], |r| r.get(0))
}

/// Claims every one of the event's dedup keys on its route, unless a claim within the
/// window stands for one of them: then the event is that one's duplicate, and the
/// savepoint undoes the keys this event claimed before it.
fn claim(conn: &Connection, event: &NewEvent, now: Timestamp) -> Result<Accepted, StoreError> {
    conn.execute_batch("SAVEPOINT claim")?;
    for key in &event.dedup_keys {
        // One statement claims the key, unless a claim within the window stands.
        let claimed = conn
            .prepare_cached(
                "INSERT INTO seen (route, key, event_id, at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (route, key) DO UPDATE SET event_id = excluded.event_id, \
                 at = excluded.at WHERE seen.at < ?5 RETURNING 1",
            )?
            .query_row(
                params![
                    event.route,
                    key,
                    event.id,
                    millis(now),
                    millis(now - DEDUP_WINDOW)
                ],
                |_| Ok(()),
            )
            .optional()?;
        if claimed.is_none() {
            let original = conn
                .prepare_cached("SELECT event_id FROM seen WHERE route = ?1 AND key = ?2")?
                .query_row(params![event.route, key], |r| r.get(0))?;
            conn.execute_batch("ROLLBACK TO claim; RELEASE claim")?;
            return Ok(Accepted::Duplicate { original });
        }
    }
    conn.execute_batch("RELEASE claim")?;
    Ok(Accepted::Stored)
}

fn accept(conn: &Connection, event: &NewEvent, now: Timestamp) -> Result<Accepted, StoreError> {
    if let duplicate @ Accepted::Duplicate { .. } = claim(conn, event, now)? {
        return Ok(duplicate);
    }
    let mut insert = conn.prepare_cached(
        "INSERT INTO deliveries (seq, event_id, route, target, rule, status, bodies, \
         parts_sent, created_at, since, next_at, updated_at, request, format) \
         VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM deliveries), \
         ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?8, ?8, ?9, ?10)",
    )?;
    for d in &event.deliveries {
        let row = Insert::of(d)?;
        insert.execute(params![
            event.id,
            event.route,
            d.target,
            d.rule,
            row.status,
            row.bodies,
            row.parts_sent,
            millis(now),
            row.request,
            FORMAT
        ])?;
    }
    Ok(Accepted::Stored)
}

fn update(conn: &Connection, id: i64, update: &Update, now: Timestamp) -> Result<(), StoreError> {
    let change = Change::of(update);
    let changed = conn
        .prepare_cached(
            "UPDATE deliveries SET status = ?2, parts_sent = ?3, attempts = attempts + ?4, \
             next_at = COALESCE(?5, next_at), updated_at = ?6, \
             last_error = CASE WHEN ?7 THEN last_error ELSE ?8 END, \
             last_cause = CASE WHEN ?7 THEN last_cause ELSE ?9 END \
             WHERE id = ?1 AND status = 'pending'",
        )?
        .execute(params![
            id,
            change.status,
            change.parts_sent,
            change.attempted,
            change.next_at,
            millis(now),
            change.keep_error,
            change.error,
            change.cause
        ])?;
    if changed == 0 {
        let exists = conn
            .prepare_cached("SELECT 1 FROM deliveries WHERE id = ?1")?
            .exists([id])?;
        return Err(not_updated(id, exists));
    }
    Ok(())
}

fn replay(conn: &Connection, which: &Replay, now: Timestamp) -> Result<Vec<i64>, StoreError> {
    let ids: Vec<i64> = match which {
        Replay::AllDead => {
            let mut stmt =
                conn.prepare("SELECT id FROM deliveries WHERE status = 'dead' ORDER BY seq")?;
            let ids = stmt.query_map([], |r| r.get(0))?;
            ids.collect::<rusqlite::Result<_>>()?
        }
        Replay::Ids(ids) => ids.clone(),
    };
    let now = millis(now);
    for &id in &ids {
        let status: Option<String> = conn
            .query_row("SELECT status FROM deliveries WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        // A dead delivery resumes after the parts the target took; a delivered one is
        // sent again whole, since that is what replaying it asks for.
        let parts_sent = match status.as_deref() {
            None => return Err(StoreError::NotFound(id)),
            Some("pending") => return Err(StoreError::StillPending(id)),
            Some("dead") => "parts_sent",
            Some(_) => "0",
        };
        conn.execute(
            &format!(
                "UPDATE deliveries SET status = 'pending', seq = ?2, parts_sent = {parts_sent}, \
                 attempts = 0, since = ?3, next_at = ?3, updated_at = ?3 WHERE id = ?1"
            ),
            params![id, next_seq(conn)?, now],
        )?;
    }
    Ok(ids)
}

#[async_trait]
impl Store for SqliteStore {
    async fn accept(&self, event: NewEvent) -> Result<Accepted, StoreError> {
        let now = self.clock.now();
        self.write(move |conn| accept(conn, &event, now)).await
    }

    async fn head(&self, target: &str) -> Result<Option<Delivery>, StoreError> {
        let target = target.to_string();
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM deliveries WHERE target = ?1 AND status = 'pending' \
                 ORDER BY seq LIMIT 1"
            ))?
            .query_row([target], stored)
            .optional()
        })
        .await?
        .map(Stored::delivery)
        .transpose()
    }

    /// The fence has nothing to check: one process per file holds every target.
    async fn update(&self, id: i64, change: Update, _: &Fence) -> Result<(), StoreError> {
        let now = self.clock.now();
        self.write(move |conn| update(conn, id, &change, now)).await
    }

    async fn list(&self, filter: &Filter) -> Result<Vec<Delivery>, StoreError> {
        let filter = filter.clone();
        self.read(move |conn| {
            let mut sql = format!("SELECT {COLUMNS} FROM deliveries WHERE 1 = 1");
            let mut args: Vec<String> = Vec::new();
            if let Some(status) = filter.status {
                args.push(status.name().to_string());
                sql += &format!(" AND status = ?{}", args.len());
            }
            if !filter.targets.is_empty() {
                let first = args.len() + 1;
                args.extend(filter.targets.iter().cloned());
                let marks: Vec<String> = (first..=args.len()).map(|i| format!("?{i}")).collect();
                sql += &format!(" AND target IN ({})", marks.join(", "));
            }
            if let Some(before) = filter.before {
                args.push(before.to_string());
                sql += &format!(" AND id < CAST(?{} AS INTEGER)", args.len());
            }
            sql += " ORDER BY id DESC";
            if filter.limit > 0 {
                sql += &format!(" LIMIT {}", filter.limit);
            }
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args), stored)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
        .await?
        .into_iter()
        .map(Stored::delivery)
        .collect()
    }

    async fn replay(&self, which: Replay) -> Result<Vec<i64>, StoreError> {
        let now = self.clock.now();
        self.write(move |conn| replay(conn, &which, now)).await
    }

    async fn queues(&self) -> Result<Vec<QueueStats>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT target, COUNT(*), MIN(created_at) FROM deliveries \
                 WHERE status = 'pending' GROUP BY target",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(QueueStats {
                    target: r.get(0)?,
                    depth: r.get::<_, i64>(1)?.try_into().unwrap_or(0),
                    oldest: r.get::<_, Option<i64>>(2)?.map(timestamp),
                })
            })?;
            rows.collect()
        })
        .await
    }

    /// An empty write through the writer thread: it takes the write lock and commits,
    /// so a stuck writer or a lock another process holds shows here.
    async fn ping(&self) -> Result<(), StoreError> {
        self.write(|_| Ok(())).await
    }

    async fn prune(&self, retention: &Retention, batch: usize) -> Result<Pruned, StoreError> {
        let cutoffs = Cutoffs::at(self.clock.now(), retention);
        let limit = i64::try_from(batch).unwrap_or(i64::MAX);
        self.write(move |conn| Ok(prune::prune(conn, &cutoffs, limit)?))
            .await
    }

    async fn lease(&self, _: &str, owner: &str, _: Duration) -> Result<Option<Fence>, StoreError> {
        Ok(Some(Fence {
            owner: owner.to_string(),
            epoch: 0,
        }))
    }

    async fn heartbeat(&self, _: &str) -> Result<(), StoreError> {
        Ok(())
    }

    async fn release(&self, _: &str, _: &str) -> Result<(), StoreError> {
        Ok(())
    }

    async fn take_send_slot(
        &self,
        target: &str,
        spacing: Duration,
    ) -> Result<Duration, StoreError> {
        Ok(self.pacing.take(target, spacing, self.clock.instant()))
    }

    async fn end_send(&self, target: &str, spacing: Duration) -> Result<(), StoreError> {
        self.pacing.end(target, spacing, self.clock.instant());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn behaves_as_a_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(
            &dir.path().join("nested/outbox.db"),
            Clock::system(),
            Access::Serve,
        )
        .unwrap();
        crate::store::tests::behaves(&store).await;
    }

    #[tokio::test]
    async fn forgets_ids_after_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Clock::manual(crate::store::tests::start());
        let store =
            SqliteStore::open(&dir.path().join("outbox.db"), clock.clone(), Access::Serve).unwrap();
        crate::store::tests::forgets_ids_after_the_window(&store, &clock).await;
    }

    #[tokio::test]
    async fn prunes_only_what_retention_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Clock::manual(crate::store::tests::start());
        let file = dir.path().join("outbox.db");
        let store = SqliteStore::open(&file, clock.clone(), Access::Serve).unwrap();
        crate::store::tests::prunes_only_what_retention_lets_go(&store, &clock).await;
    }

    /// What an earlier version left queued is delivered by this one: its store is
    /// migrated in place, once.
    #[tokio::test]
    async fn a_store_from_the_previous_version_opens_with_its_queue() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("outbox.db");
        let old = Connection::open(&file).unwrap();
        old.execute_batch(&format!("{SCHEMA} PRAGMA user_version = 1;"))
            .unwrap();
        old.execute(
            "INSERT INTO deliveries (seq, event_id, route, target, rule, status, bodies, \
             created_at, since, next_at, updated_at) \
             VALUES (1, 'e1', 'jira', 't', 'rule', 'pending', '[\"{}\"]', 0, 0, 0, 0)",
            [],
        )
        .unwrap();
        drop(old);
        for _ in 0..2 {
            let store = SqliteStore::open(&file, Clock::system(), Access::Serve).unwrap();
            let head = store.head("t").await.unwrap().expect("the queued delivery");
            assert_eq!((head.event_id.as_str(), head.request), ("e1", None));
            assert_eq!(head.last_cause, None);
        }
        let version: usize = Connection::open(&file)
            .unwrap()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() + 1);
    }

    #[tokio::test]
    async fn concurrent_writes_share_commits_and_all_land() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqliteStore::open(
                &dir.path().join("outbox.db"),
                Clock::system(),
                Access::Serve,
            )
            .unwrap(),
        );
        let writes = (0..200).map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let event = NewEvent {
                    id: format!("e{i}"),
                    route: "r".into(),
                    dedup_keys: vec![format!("k{i}")],
                    deliveries: vec![super::super::NewDelivery {
                        target: "t".into(),
                        rule: "rule".into(),
                        bodies: vec!["{}".into()],
                        request: None,
                        stored_only: false,
                    }],
                };
                store.accept(event).await
            })
        });
        // A write that fails inside a batch answers with its own error and undoes
        // nothing of the others.
        let failing = {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.replay(Replay::Ids(vec![9999])).await })
        };
        for write in writes {
            assert_eq!(write.await.unwrap().unwrap(), Accepted::Stored);
        }
        assert!(matches!(
            failing.await.unwrap(),
            Err(StoreError::NotFound(9999))
        ));
        assert_eq!(store.queues().await.unwrap()[0].depth, 200);
    }
}
