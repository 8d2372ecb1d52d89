//! Send slots in memory: one process per file sends to every target, so the next
//! moment each target may be sent to needs no table.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Default)]
pub(super) struct Pacing {
    next: Mutex<HashMap<String, Instant>>,
}

impl Pacing {
    /// `Duration::ZERO` and the slot, or the wait before asking again.
    pub(super) fn take(&self, target: &str, spacing: Duration, now: Instant) -> Duration {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        match next.get(target) {
            Some(at) if *at > now => *at - now,
            _ => {
                next.insert(target.to_string(), now + spacing);
                Duration::ZERO
            }
        }
    }

    /// No send to `target` before `spacing` from `now`.
    pub(super) fn end(&self, target: &str, spacing: Duration, now: Instant) {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let at = next.entry(target.to_string()).or_insert(now + spacing);
        *at = (*at).max(now + spacing);
    }
}
