//! Retention's deletes: at most `limit` rows of each kind per call, oldest ids first,
//! through the indexes on (status, updated_at) and on `seen.at`.

use rusqlite::{params, Connection};

use crate::store::rows::Cutoffs;
use crate::store::{Pruned, Status};

pub(super) fn prune(conn: &Connection, cutoffs: &Cutoffs, limit: i64) -> rusqlite::Result<Pruned> {
    let finished = |status: Status, before: i64| {
        conn.prepare_cached(
            "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries \
             WHERE status = ?1 AND updated_at < ?2 ORDER BY id LIMIT ?3)",
        )?
        .execute(params![status.name(), before, limit])
    };
    let delivered = finished(Status::Delivered, cutoffs.delivered)?;
    let dead = finished(Status::Dead, cutoffs.dead)?;
    let dedup_keys = conn
        .prepare_cached(
            "DELETE FROM seen WHERE rowid IN (SELECT rowid FROM seen WHERE at < ?1 LIMIT ?2)",
        )?
        .execute(params![cutoffs.seen, limit])?;
    Ok(Pruned {
        delivered: delivered as u64,
        dead: dead as u64,
        dedup_keys: dedup_keys as u64,
    })
}
