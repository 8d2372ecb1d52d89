//! The shared outbox on PostgreSQL, for several gateway replicas behind a load
//! balancer. Schema migrations run at start (refinery, under an advisory lock so that
//! replicas starting together migrate once). Every replica takes events; each
//! target is delivered by one replica at a time, the holder of its lease, which is
//! what keeps the target's order and rate across the fleet.

use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::Pool;
use tokio_postgres::Row;

use super::rows::{
    millis, not_updated, timestamp, Change, Cutoffs, Insert, Stored, COLUMNS, FORMAT,
};
use super::{
    Accepted, Delivery, Fence, Filter, NewEvent, Pruned, QueueStats, Replay, Status, Store,
    StoreError, Update, DEDUP_WINDOW, SILENT_AFTER,
};
use crate::clock::Clock;
use crate::config::Retention;

mod connect;
mod tls;

mod embedded {
    refinery::embed_migrations!("src/store/migrations");
}

/// Any constant both replicas agree on: the key of the migration lock.
const MIGRATION_LOCK: i64 = 0x686f_6f6b_6272_6467;
/// The database's clock, in unix milliseconds.
const NOW_MS: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

pub struct PostgresStore {
    pool: Pool,
    clock: Clock,
}

fn unavailable(err: impl Into<super::Source>) -> StoreError {
    StoreError::unavailable(err)
}

fn delivery(row: &Row) -> Result<Delivery, StoreError> {
    let int = |column: &str| -> Result<i64, StoreError> {
        match row.try_get::<_, i64>(column) {
            Ok(value) => Ok(value),
            // parts_sent and attempts are INTEGER, the times BIGINT.
            Err(_) => Ok(row.try_get::<_, i32>(column).map_err(unavailable)?.into()),
        }
    };
    let text = |column: &str| row.try_get::<_, String>(column).map_err(unavailable);
    let maybe = |column: &str| {
        row.try_get::<_, Option<String>>(column)
            .map_err(unavailable)
    };
    Stored {
        id: int("id")?,
        event_id: text("event_id")?,
        route: text("route")?,
        target: text("target")?,
        rule: text("rule")?,
        status: text("status")?,
        bodies: text("bodies")?,
        parts_sent: int("parts_sent")?,
        attempts: int("attempts")?,
        created_at: int("created_at")?,
        since: int("since")?,
        next_at: int("next_at")?,
        updated_at: int("updated_at")?,
        last_error: maybe("last_error")?,
        last_cause: maybe("last_cause")?,
        request: maybe("request")?,
        format: int("format")?,
    }
    .delivery()
}

/// Claims the event's delivery id on its route; `Some(original event)` when a claim
/// within the dedup window stands.
async fn claim(
    tx: &deadpool_postgres::Transaction<'_>,
    event: &NewEvent,
    key: &str,
    at: jiff::Timestamp,
) -> Result<Option<String>, StoreError> {
    // Two replicas taking the same delivery id at once: the row lock makes
    // one of them wait and then see the other's row.
    let claim = tx
        .prepare_cached(
            "INSERT INTO seen (route, key, event_id, at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (route, key) DO UPDATE SET event_id = EXCLUDED.event_id, at = EXCLUDED.at \
             WHERE seen.at < $5 RETURNING event_id",
        )
        .await
        .map_err(unavailable)?;
    let claimed = tx
        .query_opt(
            &claim,
            &[
                &event.route,
                &key,
                &event.id,
                &millis(at),
                &millis(at - DEDUP_WINDOW),
            ],
        )
        .await
        .map_err(unavailable)?;
    if claimed.is_none() {
        let original: String = tx
            .query_one(
                "SELECT event_id FROM seen WHERE route = $1 AND key = $2",
                &[&event.route, &key],
            )
            .await
            .map_err(unavailable)?
            .get(0);
        return Ok(Some(original));
    }
    Ok(None)
}

#[async_trait]
impl Store for PostgresStore {
    async fn accept(&self, event: NewEvent) -> Result<Accepted, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(unavailable)?;
        let at = self.clock.now();
        let now = millis(at);
        // A duplicate returns before the commit: dropping the transaction undoes the
        // keys this event claimed before the one that stood.
        for key in &event.dedup_keys {
            if let Some(original) = claim(&tx, &event, key, at).await? {
                return Ok(Accepted::Duplicate { original });
            }
        }
        // Cached per pooled connection: a prepare per event would be one more round
        // trip on the path to the 202.
        let insert = tx
            .prepare_cached(
                "INSERT INTO deliveries (seq, event_id, route, target, rule, status, bodies, \
                 parts_sent, created_at, since, next_at, updated_at, request, format) \
                 VALUES (nextval('delivery_seq'), $1, $2, $3, $4, $5, $6, $7, $8, $8, $8, $8, \
                 $9, $10)",
            )
            .await
            .map_err(unavailable)?;
        for d in &event.deliveries {
            let row = Insert::of(d)?;
            let parts_sent = i32::try_from(row.parts_sent).unwrap_or(i32::MAX);
            tx.execute(
                &insert,
                &[
                    &event.id,
                    &event.route,
                    &d.target,
                    &d.rule,
                    &row.status,
                    &row.bodies,
                    &parts_sent,
                    &now,
                    &row.request,
                    &FORMAT,
                ],
            )
            .await
            .map_err(unavailable)?;
        }
        tx.commit().await.map_err(unavailable)?;
        Ok(Accepted::Stored)
    }

    async fn head(&self, target: &str) -> Result<Option<Delivery>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {COLUMNS} FROM deliveries WHERE target = $1 AND status = 'pending' \
                     ORDER BY seq LIMIT 1"
                ),
                &[&target],
            )
            .await
            .map_err(unavailable)?;
        row.as_ref().map(delivery).transpose()
    }

    async fn update(&self, id: i64, update: Update, fence: &Fence) -> Result<(), StoreError> {
        let client = self.client().await?;
        let change = Change::of(&update);
        let statement = client
            .prepare_cached(
                "UPDATE deliveries SET status = $2, parts_sent = $3, attempts = attempts + $4, \
                 next_at = COALESCE($5, next_at), updated_at = $6, \
                 last_error = CASE WHEN $7 THEN last_error ELSE $8 END, \
                 last_cause = CASE WHEN $7 THEN last_cause ELSE $9 END \
                 WHERE id = $1 AND status = 'pending' AND EXISTS (SELECT 1 FROM target_leases l \
                 WHERE l.target = deliveries.target AND l.owner = $10 AND l.epoch = $11)",
            )
            .await
            .map_err(unavailable)?;
        let parts_sent = i32::try_from(change.parts_sent).unwrap_or(i32::MAX);
        let attempted = i32::try_from(change.attempted).unwrap_or(1);
        let changed = client
            .execute(
                &statement,
                &[
                    &id,
                    &change.status,
                    &parts_sent,
                    &attempted,
                    &change.next_at,
                    &millis(self.clock.now()),
                    &change.keep_error,
                    &change.error,
                    &change.cause,
                    &fence.owner,
                    &fence.epoch,
                ],
            )
            .await
            .map_err(unavailable)?;
        if changed == 0 {
            let exists = client
                .query_opt("SELECT 1 FROM deliveries WHERE id = $1", &[&id])
                .await
                .map_err(unavailable)?
                .is_some();
            return Err(not_updated(id, exists));
        }
        Ok(())
    }

    async fn list(&self, filter: &Filter) -> Result<Vec<Delivery>, StoreError> {
        let client = self.client().await?;
        let status = filter.status.map(|s| s.name().to_string());
        let limit = if filter.limit == 0 {
            i64::MAX
        } else {
            filter.limit as i64
        };
        let rows = client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM deliveries \
                     WHERE ($1::text IS NULL OR status = $1) \
                     AND (cardinality($2::text[]) = 0 OR target = ANY($2)) \
                     AND ($4::bigint IS NULL OR id < $4) \
                     ORDER BY id DESC LIMIT $3"
                ),
                &[&status, &filter.targets, &limit, &filter.before],
            )
            .await
            .map_err(unavailable)?;
        rows.iter().map(delivery).collect()
    }

    async fn replay(&self, which: Replay) -> Result<Vec<i64>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(unavailable)?;
        let ids: Vec<i64> = match which {
            Replay::AllDead => tx
                .query(
                    "SELECT id FROM deliveries WHERE status = 'dead' ORDER BY seq FOR UPDATE",
                    &[],
                )
                .await
                .map_err(unavailable)?
                .iter()
                .map(|r| r.get(0))
                .collect(),
            Replay::Ids(ids) => ids,
        };
        let now = millis(self.clock.now());
        for &id in &ids {
            let status: Option<String> = tx
                .query_opt(
                    "SELECT status FROM deliveries WHERE id = $1 FOR UPDATE",
                    &[&id],
                )
                .await
                .map_err(unavailable)?
                .map(|r| r.get(0));
            // As in SQLite: a dead delivery resumes after the parts the target took.
            let keep_parts = match status.as_deref() {
                None => return Err(StoreError::NotFound(id)),
                Some("pending") => return Err(StoreError::StillPending(id)),
                Some(status) => status == "dead",
            };
            tx.execute(
                "UPDATE deliveries SET status = 'pending', seq = nextval('delivery_seq'), \
                 parts_sent = CASE WHEN $2 THEN parts_sent ELSE 0 END, attempts = 0, \
                 since = $3, next_at = $3, updated_at = $3 WHERE id = $1",
                &[&id, &keep_parts, &now],
            )
            .await
            .map_err(unavailable)?;
        }
        tx.commit().await.map_err(unavailable)?;
        Ok(ids)
    }

    async fn queues(&self) -> Result<Vec<QueueStats>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT target, COUNT(*), MIN(created_at) FROM deliveries \
                 WHERE status = 'pending' GROUP BY target",
                &[],
            )
            .await
            .map_err(unavailable)?;
        Ok(rows
            .iter()
            .map(|r| QueueStats {
                target: r.get(0),
                depth: r.get::<_, i64>(1).try_into().unwrap_or(0),
                oldest: r.get::<_, Option<i64>>(2).map(timestamp),
            })
            .collect())
    }

    /// A standby answers reads but takes no write: it is not ready to accept events.
    async fn ping(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        let standby: bool = client
            .query_one("SELECT pg_is_in_recovery()", &[])
            .await
            .map_err(unavailable)?
            .get(0);
        if standby {
            return Err(unavailable("the database is a read-only standby"));
        }
        Ok(())
    }

    async fn prune(&self, retention: &Retention, batch: usize) -> Result<Pruned, StoreError> {
        let cutoffs = Cutoffs::at(self.clock.now(), retention);
        let limit = i64::try_from(batch).unwrap_or(i64::MAX);
        let client = self.client().await?;
        let finished = |status: Status, before: i64| {
            let client = &client;
            async move {
                client
                    .execute(
                        "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries \
                         WHERE status = $1 AND updated_at < $2 ORDER BY id LIMIT $3)",
                        &[&status.name(), &before, &limit],
                    )
                    .await
                    .map_err(unavailable)
            }
        };
        let delivered = finished(Status::Delivered, cutoffs.delivered).await?;
        let dead = finished(Status::Dead, cutoffs.dead).await?;
        let dedup_keys = client
            .execute(
                "DELETE FROM seen WHERE ctid IN (SELECT ctid FROM seen WHERE at < $1 LIMIT $2)",
                &[&cutoffs.seen, &limit],
            )
            .await
            .map_err(unavailable)?;
        Ok(Pruned {
            delivered,
            dead,
            dedup_keys,
        })
    }

    /// Taken when free, expired, or held by a replica that stopped heartbeating; the
    /// epoch moves on whenever the owner changes.
    async fn lease(
        &self,
        target: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<Fence>, StoreError> {
        let client = self.client().await?;
        let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let silent = i64::try_from(SILENT_AFTER.as_millis()).unwrap_or(i64::MAX);
        let granted = client
            .query_opt(
                &format!(
                    "INSERT INTO target_leases (target, owner, until, epoch) VALUES ($1, $2, {NOW_MS} + $3, 1) \
                     ON CONFLICT (target) DO UPDATE SET owner = EXCLUDED.owner, until = EXCLUDED.until, \
                     epoch = CASE WHEN target_leases.owner = EXCLUDED.owner \
                       THEN target_leases.epoch ELSE target_leases.epoch + 1 END \
                     WHERE target_leases.owner = EXCLUDED.owner OR target_leases.until < {NOW_MS} \
                     OR NOT EXISTS (SELECT 1 FROM replicas r WHERE r.owner = target_leases.owner \
                       AND r.seen_at >= {NOW_MS} - $4) \
                     RETURNING epoch"
                ),
                &[&target, &owner, &ttl, &silent],
            )
            .await
            .map_err(unavailable)?;
        Ok(granted.map(|row| Fence {
            owner: owner.to_string(),
            epoch: row.get(0),
        }))
    }

    /// Keeps the epoch: whoever takes the target next moves it on.
    async fn release(&self, target: &str, owner: &str) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE target_leases SET until = 0 WHERE target = $1 AND owner = $2",
                &[&target, &owner],
            )
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Also forgets replicas silent for a day, so the table holds the live fleet.
    async fn heartbeat(&self, owner: &str) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                &format!(
                    "INSERT INTO replicas (owner, seen_at) VALUES ($1, {NOW_MS}) \
                     ON CONFLICT (owner) DO UPDATE SET seen_at = EXCLUDED.seen_at"
                ),
                &[&owner],
            )
            .await
            .map_err(unavailable)?;
        client
            .execute(
                &format!("DELETE FROM replicas WHERE seen_at < {NOW_MS} - 86400000"),
                &[],
            )
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn take_send_slot(
        &self,
        target: &str,
        spacing: Duration,
    ) -> Result<Duration, StoreError> {
        let client = self.client().await?;
        let spacing = i64::try_from(spacing.as_millis()).unwrap_or(i64::MAX);
        // Two replicas asking for a target's first slot at once: the loser's insert
        // waits for the winner's row, but its statement's snapshot predates that row,
        // so it reads no wait at all. It asks again a moment later.
        let wait: i64 = client
            .query_opt(
                &format!(
                    "WITH taken AS ( \
                       INSERT INTO target_pacing (target, next_at) VALUES ($1, {NOW_MS} + $2) \
                       ON CONFLICT (target) DO UPDATE SET next_at = EXCLUDED.next_at \
                       WHERE target_pacing.next_at <= {NOW_MS} RETURNING 0::bigint AS wait) \
                     SELECT wait FROM taken \
                     UNION ALL SELECT GREATEST(next_at - {NOW_MS}, 1) FROM target_pacing \
                     WHERE target = $1 AND NOT EXISTS (SELECT 1 FROM taken)"
                ),
                &[&target, &spacing],
            )
            .await
            .map_err(unavailable)?
            .map_or(1, |row| row.get(0));
        Ok(Duration::from_millis(wait.try_into().unwrap_or(0)))
    }

    async fn end_send(&self, target: &str, spacing: Duration) -> Result<(), StoreError> {
        let client = self.client().await?;
        let spacing = i64::try_from(spacing.as_millis()).unwrap_or(i64::MAX);
        client
            .execute(
                &format!(
                    "INSERT INTO target_pacing (target, next_at) VALUES ($1, {NOW_MS} + $2) \
                     ON CONFLICT (target) DO UPDATE \
                     SET next_at = GREATEST(target_pacing.next_at, EXCLUDED.next_at)"
                ),
                &[&target, &spacing],
            )
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::connect::describe;
    use crate::config::StorePool;
    use crate::store::OpenError;

    use tokio_postgres::NoTls;

    use super::*;

    /// A fresh database on the server HOOKBRIDGE_TEST_PG names, with the name to drop
    /// it by. Without the variable the test is compiled ignored (see build.rs).
    async fn fresh_database() -> (String, String) {
        let server = std::env::var("HOOKBRIDGE_TEST_PG").expect("HOOKBRIDGE_TEST_PG is set");
        let (client, connection) = tokio_postgres::connect(&server, NoTls)
            .await
            .expect("HOOKBRIDGE_TEST_PG names a reachable server");
        tokio::spawn(connection);
        let name = format!("hookbridge_{}", uuid::Uuid::now_v7().simple());
        client
            .execute(&format!("CREATE DATABASE {name}"), &[])
            .await
            .expect("CREATE DATABASE");
        let mut config = tokio_postgres::Config::from_str(&server).unwrap();
        config.dbname(&name);
        let url = format!(
            "postgres://{}@{}/{name}",
            config.get_user().unwrap_or("postgres"),
            describe(&config)
                .rsplit_once('/')
                .map_or("", |(host, _)| host)
        );
        (url, name)
    }

    /// A store on a fresh database, its URL, and the name to drop it by.
    async fn fresh_store(settings: &StorePool, clock: Clock) -> (PostgresStore, String, String) {
        let (url, name) = fresh_database().await;
        let store = PostgresStore::open(&url, settings, clock).await.unwrap();
        (store, url, name)
    }

    async fn drop_database(name: &str) {
        let server = std::env::var("HOOKBRIDGE_TEST_PG").expect("set");
        let (client, connection) = tokio_postgres::connect(&server, NoTls).await.unwrap();
        tokio::spawn(connection);
        client
            .execute(&format!("DROP DATABASE {name} WITH (FORCE)"), &[])
            .await
            .expect("DROP DATABASE");
    }

    /// Replicas started together race to migrate a fresh database: the advisory lock
    /// lets one migrate, and the others find it done.
    #[tokio::test]
    #[cfg_attr(
        no_test_pg,
        ignore = "needs PostgreSQL: set HOOKBRIDGE_TEST_PG=postgres://postgres@127.0.0.1:5432/test (.ci/run does)"
    )]
    async fn replicas_starting_at_once_migrate_once() {
        let (url, name) = fresh_database().await;
        let settings = StorePool::default();
        let open = || PostgresStore::open(&url, &settings, Clock::system());
        let (a, b, c) = tokio::join!(open(), open(), open());
        for store in [a, b, c] {
            store.expect("every replica starts").ping().await.unwrap();
        }
        let (client, connection) = tokio_postgres::connect(&url, NoTls).await.unwrap();
        tokio::spawn(connection);
        let applied: i64 = client
            .query_one("SELECT COUNT(*) FROM refinery_schema_history", &[])
            .await
            .unwrap()
            .get(0);
        let migrations = embedded::migrations::runner().get_migrations().len();
        assert_eq!(usize::try_from(applied).unwrap(), migrations);
        drop(client);
        drop_database(&name).await;
    }

    #[tokio::test]
    #[cfg_attr(
        no_test_pg,
        ignore = "needs PostgreSQL: set HOOKBRIDGE_TEST_PG=postgres://postgres@127.0.0.1:5432/test (.ci/run does)"
    )]
    async fn behaves_as_a_store() {
        let (store, url, name) = fresh_store(&StorePool::default(), Clock::system()).await;
        crate::store::tests::behaves(&store).await;
        let clock = Clock::manual(crate::store::tests::start());
        let store = PostgresStore::open(&url, &StorePool::default(), clock.clone())
            .await
            .unwrap();
        crate::store::tests::forgets_ids_after_the_window(&store, &clock).await;
        // A second replica starting on the same database migrates nothing twice.
        PostgresStore::open(&url, &StorePool::default(), Clock::system())
            .await
            .unwrap();
        drop(store);
        drop_database(&name).await;
    }

    #[tokio::test]
    #[cfg_attr(
        no_test_pg,
        ignore = "needs PostgreSQL: set HOOKBRIDGE_TEST_PG=postgres://postgres@127.0.0.1:5432/test (.ci/run does)"
    )]
    async fn prunes_only_what_retention_lets_go() {
        let clock = Clock::manual(crate::store::tests::start());
        let (store, _, name) = fresh_store(&StorePool::default(), clock.clone()).await;
        crate::store::tests::prunes_only_what_retention_lets_go(&store, &clock).await;
        drop(store);
        drop_database(&name).await;
    }

    /// The errors of a failed open, outermost first, as `hookbridge serve` prints them.
    fn chain(err: &OpenError) -> String {
        let mut text = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        text
    }

    #[tokio::test]
    #[cfg_attr(
        no_test_pg_tls,
        ignore = "needs PostgreSQL with a test certificate for localhost: set HOOKBRIDGE_TEST_PG and HOOKBRIDGE_TEST_PG_CA (.ci/run does)"
    )]
    async fn verify_full_connects_by_the_certificates_name_and_refuses_another() {
        let ca = std::env::var("HOOKBRIDGE_TEST_PG_CA").expect("HOOKBRIDGE_TEST_PG_CA is set");
        let (url, name) = fresh_database().await;
        let with_password = url.replacen("postgres@", "postgres:hunter2-never-shown@", 1);
        let by_address = format!("{with_password}?sslmode=verify-full&sslrootcert={ca}");
        let by_name = by_address.replacen("@127.0.0.1", "@localhost", 1);
        assert_ne!(by_name, by_address, "HOOKBRIDGE_TEST_PG is on 127.0.0.1");

        let store = PostgresStore::open(&by_name, &StorePool::default(), Clock::system())
            .await
            .expect("verify-full by the name the certificate holds");
        let client = store.client().await.unwrap();
        let encrypted: bool = client
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert!(encrypted, "the pool's connections are TLS");
        drop((client, store));

        let refused = PostgresStore::open(&by_address, &StorePool::default(), Clock::system())
            .await
            .err()
            .expect("127.0.0.1 is not a name on the certificate");
        let text = chain(&refused);
        assert!(
            text.contains("cannot reach PostgreSQL at 127.0.0.1"),
            "{text}"
        );
        assert!(text.contains("not valid for name"), "{text}");
        assert!(!text.contains("hunter2"), "the password stays out: {text}");

        let any_name = by_address.replace("verify-full", "verify-ca");
        PostgresStore::open(&any_name, &StorePool::default(), Clock::system())
            .await
            .expect("verify-ca checks the chain, not the name");
        let wrong_ca = by_name.replace(&ca, "/etc/ssl/certs/ca-certificates.crt");
        let untrusted = PostgresStore::open(&wrong_ca, &StorePool::default(), Clock::system())
            .await
            .err()
            .expect("a CA that did not sign the server's certificate");
        assert!(
            chain(&untrusted).contains("UnknownIssuer"),
            "{}",
            chain(&untrusted)
        );
        drop_database(&name).await;
    }

    #[tokio::test]
    #[cfg_attr(
        no_test_pg,
        ignore = "needs PostgreSQL: set HOOKBRIDGE_TEST_PG=postgres://postgres@127.0.0.1:5432/test (.ci/run does)"
    )]
    async fn a_statement_past_statement_timeout_fails_and_the_pool_serves_on() {
        let settings = StorePool {
            size: 1,
            statement_timeout: Duration::from_secs(1),
            ..StorePool::default()
        };
        let (store, _, name) = fresh_store(&settings, Clock::system()).await;
        let client = store.client().await.unwrap();
        let err = client.execute("SELECT pg_sleep(5)", &[]).await.unwrap_err();
        let message = err.as_db_error().map(|db| db.message().to_string());
        assert_eq!(
            message.as_deref(),
            Some("canceling statement due to statement timeout")
        );
        drop(client);
        store.ping().await.expect("the one connection serves on");
        drop(store);
        drop_database(&name).await;
    }

    /// A replica that went quiet loses its target to one that asks; the epoch moves on,
    /// and the first one's updates change nothing when it comes back.
    #[tokio::test]
    #[cfg_attr(
        no_test_pg,
        ignore = "needs PostgreSQL: set HOOKBRIDGE_TEST_PG=postgres://postgres@127.0.0.1:5432/test (.ci/run does)"
    )]
    async fn a_silent_holder_loses_its_target_and_its_late_writes_are_fenced_out() {
        let (store, url, name) = fresh_store(&StorePool::default(), Clock::system()).await;
        let ttl = Duration::from_secs(60);
        store.heartbeat("one").await.unwrap();
        store.heartbeat("two").await.unwrap();
        let first = store.lease("t", "one", ttl).await.unwrap().expect("free");
        assert_eq!(
            store.lease("t", "two", ttl).await.unwrap(),
            None,
            "held, and its holder heartbeats"
        );
        store
            .accept(crate::store::tests::event("e1", None, &["t"]))
            .await
            .unwrap();
        let head = store.head("t").await.unwrap().unwrap();

        // "one" is paused: its last heartbeat ages past SILENT_AFTER.
        let (client, connection) = tokio_postgres::connect(&url, NoTls).await.unwrap();
        tokio::spawn(connection);
        client
            .execute(
                "UPDATE replicas SET seen_at = seen_at - 10000 WHERE owner = 'one'",
                &[],
            )
            .await
            .unwrap();
        let second = store
            .lease("t", "two", ttl)
            .await
            .unwrap()
            .expect("taken over");
        assert_eq!(second.epoch, first.epoch + 1);

        let late = Update::Delivered { parts: 2 };
        assert!(matches!(
            store.update(head.id, late, &first).await,
            Err(StoreError::Stale(id)) if id == head.id
        ));
        assert_eq!(
            store.head("t").await.unwrap().unwrap().id,
            head.id,
            "unchanged"
        );
        store.heartbeat("one").await.unwrap();
        assert_eq!(
            store.lease("t", "one", ttl).await.unwrap(),
            None,
            "back, but not the holder"
        );
        let progress = Update::Progress { parts_sent: 1 };
        store.update(head.id, progress, &second).await.unwrap();

        store.release("t", "two").await.unwrap();
        let third = store
            .lease("t", "one", ttl)
            .await
            .unwrap()
            .expect("released");
        assert_eq!(
            third.epoch,
            second.epoch + 1,
            "a release keeps the count going"
        );
        drop((client, store));
        drop_database(&name).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(
        no_test_pg,
        ignore = "needs PostgreSQL: set HOOKBRIDGE_TEST_PG=postgres://postgres@127.0.0.1:5432/test (.ci/run does)"
    )]
    async fn replicas_asking_for_a_targets_first_slot_at_once_get_one_slot_and_no_error() {
        let (store, _, name) = fresh_store(&StorePool::default(), Clock::system()).await;
        let store = std::sync::Arc::new(store);
        for round in 0..5 {
            let target = format!("first-{round}");
            let askers: Vec<_> = (0..8)
                .map(|_| {
                    let (store, target) = (std::sync::Arc::clone(&store), target.clone());
                    tokio::spawn(async move {
                        store.take_send_slot(&target, Duration::from_secs(60)).await
                    })
                })
                .collect();
            let mut granted = 0;
            for asker in askers {
                let wait = asker.await.unwrap().expect("no asker sees an error");
                granted += usize::from(wait.is_zero());
            }
            assert_eq!(granted, 1, "one slot per spacing, whoever asks");
        }
        drop(store);
        drop_database(&name).await;
    }
}
