//! The one clock: every stored time comes from [`Clock::now`] and every wait from
//! tokio's clock, so a test can stop and move time for the whole gateway.
//! `clippy.toml` forbids reading the system clock anywhere else.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

/// Wall-clock time for stored rows, retry deadlines and signature windows.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// `None`: the system clock. `Some`: a test's clock, in milliseconds since the
    /// epoch, that moves only when told to; shared by every clone, on any thread.
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock standing at `start` until [`Clock::advance`] moves it.
    pub fn manual(start: Timestamp) -> Self {
        Self {
            manual: Some(Arc::new(AtomicI64::new(start.as_millisecond()))),
        }
    }

    #[allow(clippy::disallowed_methods)] // the one place that reads the system clock
    pub fn now(&self) -> Timestamp {
        match &self.manual {
            None => Timestamp::now(),
            Some(millis) => Timestamp::from_millisecond(millis.load(Ordering::SeqCst))
                .unwrap_or(Timestamp::UNIX_EPOCH),
        }
    }

    /// Moves a manual clock forward; the system clock moves by itself and ignores it.
    pub fn advance(&self, by: Duration) {
        if let Some(millis) = &self.manual {
            let by = SignedDuration::try_from(by).unwrap_or(SignedDuration::MAX);
            millis.fetch_add(
                i64::try_from(by.as_millis()).unwrap_or(i64::MAX),
                Ordering::SeqCst,
            );
        }
    }

    /// A point to wait for: tokio's clock, which `tokio::time::pause` stops in tests.
    pub fn instant(&self) -> tokio::time::Instant {
        tokio::time::Instant::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_every_clone_sees_it() {
        let start = Timestamp::from_second(1_700_000_000).unwrap();
        let clock = Clock::manual(start);
        let other = clock.clone();
        assert_eq!(clock.now(), start);
        other.advance(Duration::from_secs(90));
        assert_eq!(clock.now(), start + SignedDuration::from_secs(90));
    }

    #[test]
    fn the_system_clock_reads_the_time_of_day() {
        let clock = Clock::system();
        clock.advance(Duration::from_secs(3600));
        let drift = clock
            .now()
            .duration_since(Timestamp::from_second(1_700_000_000).unwrap());
        assert!(drift > SignedDuration::ZERO);
    }
}
