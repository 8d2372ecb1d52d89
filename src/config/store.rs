//! Where the outbox lives, and how long it keeps what is finished.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{units, Loader};
use crate::diagnostic::Pos;
use crate::yaml::Spanned;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    Sqlite(PathBuf),
    Postgres(String),
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRetention {
    delivered: Option<Spanned<String>>,
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

pub(super) fn parse_store(text: &str, base: &Path, at: Pos, loader: &mut Loader) -> Option<Store> {
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
        return Some(Store::Postgres(text.to_string()));
    }
    loader.error(
        at,
        format!("store `{text}` is neither sqlite://PATH nor postgres://USER@HOST/DB"),
    );
    None
}
