//! The shells' clock: the one place natter reads the time of day.
//!
//! The cores take time as a [`Timestamp`] passed in, so the harness and the simulator can drive a
//! virtual clock; the shells read the real one here and hand it on.

use natter_core::time::Timestamp;

/// The current wall-clock time, as the cores count it (milliseconds since the Unix epoch).
pub fn wall_now() -> Timestamp {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_millis(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

/// A clock for shells: wall time read once at start, then advanced by a monotonic clock, so a wall-clock
/// step (NTP, a user changing the date) can neither fire every idle timer at once nor stall them.
#[derive(Clone, Copy, Debug)]
pub struct ShellClock {
    base_wall: Timestamp,
    base_mono: std::time::Instant,
}

impl ShellClock {
    /// Reads the wall clock once; every [`now`](Self::now) after adds the monotonic time elapsed since.
    pub fn start() -> Self {
        ShellClock {
            base_wall: wall_now(),
            base_mono: std::time::Instant::now(),
        }
    }

    /// The wall time at [`start`](Self::start) plus the monotonic time elapsed since: it never goes
    /// backwards.
    pub fn now(&self) -> Timestamp {
        let elapsed = self.base_mono.elapsed().as_millis();
        self.base_wall
            .plus_millis(u64::try_from(elapsed).unwrap_or(u64::MAX))
    }

    /// The monotonic instant at which this clock reads `at`; used to arm the shell's one timer.
    pub fn instant_at(&self, at: Timestamp) -> std::time::Instant {
        let offset = std::time::Duration::from_millis(at.millis_since(self.base_wall));
        self.base_mono
            .checked_add(offset)
            .unwrap_or_else(|| self.base_mono + std::time::Duration::from_secs(86_400 * 365))
    }
}
