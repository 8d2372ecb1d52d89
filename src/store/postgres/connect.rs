//! Connecting: the pool, its bounds, and the migration at start.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};

use super::{embedded, tls, unavailable, PostgresStore, MIGRATION_LOCK};
use crate::clock::Clock;
use crate::config::StorePool;
use crate::store::{OpenError, StoreError};

impl PostgresStore {
    /// Connects, migrates, and fails with what to check when the server is not there.
    pub async fn open(url: &str, settings: &StorePool, clock: Clock) -> Result<Self, OpenError> {
        let tls::Connection { config, tls } = tls::connection(url)?;
        let pooled = bounded(config.clone(), settings);
        let manager = Manager::from_config(
            pooled,
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(settings.size)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(settings.connect_timeout))
            .create_timeout(Some(settings.connect_timeout))
            .build()
            .map_err(|e| OpenError::new("cannot set up the connection pool", e))?;
        close_when_idle(&pool, settings.idle_timeout);
        let unreachable = |e| {
            OpenError::new(
                format!("cannot reach PostgreSQL at {}", describe(&config)),
                e,
            )
        };
        let (mut client, connection) = config.connect(tls).await.map_err(unreachable)?;
        let connection = tokio::spawn(connection);
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(unreachable)?;
        let migrated = embedded::migrations::runner()
            .run_async(&mut client)
            .await
            .map_err(|e| OpenError::new("migrating the outbox schema failed", e));
        client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(unreachable)?;
        drop(client);
        let _ = connection.await;
        migrated?;
        Ok(Self { pool, clock })
    }

    pub(super) async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(unavailable)
    }
}

/// The pool's connections: no call outlives `statement_timeout` on the server, and a
/// link that stops answering is dropped by TCP (keepalive when idle, a user timeout
/// for sent data never acknowledged) instead of hanging its caller. The migration at
/// start connects without them: building an index on a large table, or waiting for
/// another replica's migration, may take longer.
fn bounded(mut config: tokio_postgres::Config, settings: &StorePool) -> tokio_postgres::Config {
    let statement_ms = settings.statement_timeout.as_millis();
    let options = match config.get_options() {
        Some(own) => format!("{own} -c statement_timeout={statement_ms}"),
        None => format!("-c statement_timeout={statement_ms}"),
    };
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(settings.connect_timeout);
    }
    config
        .options(options)
        .keepalives(true)
        .keepalives_idle(settings.keepalive)
        .keepalives_interval(settings.keepalive / 3)
        .tcp_user_timeout(settings.statement_timeout + settings.keepalive);
    config
}

/// Closes connections unused for `idle`, until the pool is dropped.
fn close_when_idle(pool: &Pool, idle: Duration) {
    let pool = pool.weak();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(idle / 2).await;
            let Some(pool) = pool.upgrade() else { return };
            pool.retain(|_, metrics| metrics.last_used() < idle);
        }
    });
}

/// Where the store is, without the password.
pub(super) fn describe(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map_or("localhost".to_string(), |h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        });
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or("(default database)");
    format!("{host}:{port}/{db}")
}
