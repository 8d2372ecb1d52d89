//! Where the outbox lives, and how long it keeps what is finished.

use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use super::{units, Loader};
use crate::diagnostic::Pos;
use crate::yaml::schema::Scalar;
use crate::yaml::{pos, Spanned};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    Sqlite(PathBuf),
    Postgres { url: String, pool: StorePool },
}

/// Each replica's connections to PostgreSQL, and how long any one call may take: a
/// half-dead link ends in an error the worker retries, never in a call that hangs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorePool {
    pub size: usize,
    /// Connecting, and waiting for a free connection.
    pub connect_timeout: Duration,
    /// One statement on the server; also bounds unacknowledged sends on the socket.
    pub statement_timeout: Duration,
    /// A connection unused this long is closed.
    pub idle_timeout: Duration,
    /// TCP keepalive probes after this much silence.
    pub keepalive: Duration,
}

impl Default for StorePool {
    fn default() -> Self {
        Self {
            size: 16,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(600),
            keepalive: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "StorePool")]
pub(super) struct RawStorePool {
    /// Connections per replica, 1 to 1000 (default 16).
    #[schemars(with = "Option<Scalar>")]
    size: Option<Spanned<String>>,
    /// Connecting, and waiting for a free connection: 1s to 5m (default 5s).
    #[schemars(with = "Option<Scalar>")]
    connect_timeout: Option<Spanned<String>>,
    /// The server cancels a longer statement and the worker retries: 1s to 1h
    /// (default 30s).
    #[schemars(with = "Option<Scalar>")]
    statement_timeout: Option<Spanned<String>>,
    /// A connection unused this long is closed: 10s to 1d (default 10m).
    #[schemars(with = "Option<Scalar>")]
    idle_timeout: Option<Spanned<String>>,
    /// TCP keepalive after this much silence: 1s to 1h (default 30s).
    #[schemars(with = "Option<Scalar>")]
    keepalive: Option<Spanned<String>>,
}

fn compile_pool(raw: &RawStorePool, loader: &mut Loader) -> Option<StorePool> {
    let defaults = StorePool::default();
    let second = Duration::from_secs(1);
    let within = |name, min, max| units::duration_within(name, min, max);
    let size = loader.parsed(&raw.size, units::count_within("store_pool.size", 1, 1000));
    let connect = loader.parsed(
        &raw.connect_timeout,
        within("store_pool.connect_timeout", second, second * 300),
    );
    let statement = loader.parsed(
        &raw.statement_timeout,
        within("store_pool.statement_timeout", second, second * 3600),
    );
    let idle = loader.parsed(
        &raw.idle_timeout,
        within("store_pool.idle_timeout", second * 10, DAY),
    );
    let keepalive = loader.parsed(
        &raw.keepalive,
        within("store_pool.keepalive", second, second * 3600),
    );
    Some(StorePool {
        size: size?.unwrap_or(defaults.size),
        connect_timeout: connect?.unwrap_or(defaults.connect_timeout),
        statement_timeout: statement?.unwrap_or(defaults.statement_timeout),
        idle_timeout: idle?.unwrap_or(defaults.idle_timeout),
        keepalive: keepalive?.unwrap_or(defaults.keepalive),
    })
}

/// How long finished deliveries stay listable before they are pruned. Pending rows are
/// never pruned: they are the promise made by a 202.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub delivered: Duration,
    /// Longer by default: a dead delivery waits for someone to read why and replay it.
    pub dead: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            delivered: DAY * 7,
            dead: DAY * 30,
        }
    }
}

const DAY: Duration = Duration::from_secs(86_400);

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Retention")]
pub(super) struct RawRetention {
    /// Delivered rows stay listable this long: 1h to 3650d (default 7d).
    #[schemars(with = "Option<Scalar>")]
    delivered: Option<Spanned<String>>,
    /// Dead rows wait this long for a replay: 1h to 3650d (default 30d).
    #[schemars(with = "Option<Scalar>")]
    dead: Option<Spanned<String>>,
}

pub(super) fn compile_retention(raw: &RawRetention, loader: &mut Loader) -> Option<Retention> {
    let defaults = Retention::default();
    // Under an hour a delivery could vanish before anyone looked at it.
    let range = |name| units::duration_within(name, Duration::from_secs(3600), DAY * 3650);
    let delivered = loader.parsed(&raw.delivered, range("retention.delivered"));
    let dead = loader.parsed(&raw.dead, range("retention.dead"));
    Some(Retention {
        delivered: delivered?.unwrap_or(defaults.delivered),
        dead: dead?.unwrap_or(defaults.dead),
    })
}

/// `store:` and `store_pool:`, which applies to PostgreSQL only.
pub(super) fn compile_store(
    raw: &Option<Spanned<String>>,
    raw_pool: Option<&Spanned<RawStorePool>>,
    base: &Path,
    loader: &mut Loader,
) -> Option<Store> {
    let pool = match raw_pool {
        Some(p) => compile_pool(&p.value, loader),
        None => Some(StorePool::default()),
    };
    let store = super::setting(raw, super::DEFAULT_STORE, loader)
        .and_then(|(text, at)| parse_store(&text, pool.unwrap_or_default(), base, at, loader));
    if let (Some(Store::Sqlite(_)), Some(p)) = (&store, raw_pool) {
        loader.warning(
            pos(p),
            "store_pool applies to PostgreSQL; the SQLite store ignores it",
        );
    }
    pool?;
    store
}

fn parse_store(
    text: &str,
    pool: StorePool,
    base: &Path,
    at: Pos,
    loader: &mut Loader,
) -> Option<Store> {
    if let Some(path) = text.strip_prefix("sqlite://") {
        if path.is_empty() {
            loader.error(
                at,
                "`sqlite://` needs a file path, such as sqlite://data/hookbridge.db",
            );
            return None;
        }
        return Some(Store::Sqlite(base.join(path)));
    }
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        return Some(Store::Postgres {
            url: text.to_string(),
            pool,
        });
    }
    loader.error(
        at,
        format!("store `{text}` is neither sqlite://PATH nor postgres://USER@HOST/DB"),
    );
    None
}
