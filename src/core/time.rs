//! Time as a plain value.
//!
//! The protocol cores never read a clock: every call takes a [`Timestamp`] from the caller. That is what
//! lets tests and the simulator drive a virtual clock, jump it past a lockout or an idle deadline, and get the
//! same run from the same seed. Milliseconds since the Unix epoch (rather than a process-local `Instant`) so
//! that login history keeps its meaning across restarts.

use std::fmt;

/// Milliseconds since the Unix epoch.
#[derive(
    serde::Serialize,
    serde::Deserialize,
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
)]
pub struct Timestamp(pub u64);

/// An optional [`Timestamp`] in 8 bytes, where `Option<Timestamp>` takes 16: the last instant
/// there is (`u64::MAX` ms, reached only by a saturating deadline, which is never due) stands for
/// none. For what every open connection keeps (its deadline, when its idle warning was given).
/// Written and read as `Option<Timestamp>` is, so stored state keeps its form.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct MaybeTime(u64);

impl MaybeTime {
    /// No time.
    pub const NONE: MaybeTime = MaybeTime(u64::MAX);

    /// `at`, or none (`None`, or the end of time).
    pub const fn new(at: Option<Timestamp>) -> Self {
        match at {
            Some(t) => MaybeTime(t.0),
            None => Self::NONE,
        }
    }

    /// The time, if there is one.
    pub const fn get(self) -> Option<Timestamp> {
        if self.0 == u64::MAX {
            None
        } else {
            Some(Timestamp(self.0))
        }
    }
}

impl Default for MaybeTime {
    fn default() -> Self {
        Self::NONE
    }
}

impl fmt::Debug for MaybeTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}

impl serde::Serialize for MaybeTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.get().serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for MaybeTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<Timestamp>::deserialize(d).map(MaybeTime::new)
    }
}

impl Timestamp {
    /// The epoch itself; handy as a simulator's starting point.
    pub const ZERO: Timestamp = Timestamp(0);

    /// The instant `ms` milliseconds after the Unix epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Timestamp(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + ms`, saturating rather than wrapping: a deadline past the end of time is "never".
    pub const fn plus_millis(self, ms: u64) -> Self {
        Timestamp(self.0.saturating_add(ms))
    }

    /// `self + secs` seconds, saturating.
    pub const fn plus_secs(self, secs: u64) -> Self {
        self.plus_millis(secs.saturating_mul(1000))
    }

    /// `self - ms`, saturating at the epoch.
    pub const fn minus_millis(self, ms: u64) -> Self {
        Timestamp(self.0.saturating_sub(ms))
    }

    /// Milliseconds from `earlier` to `self`, zero if `earlier` is later.
    pub const fn millis_since(self, earlier: Timestamp) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    /// Whole seconds from `self` until `later`, rounded up, so that "try again in N s" never says 0 while
    /// the wait is still running.
    pub const fn secs_until_ceil(self, later: Timestamp) -> u64 {
        later.0.saturating_sub(self.0).div_ceil(1000)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

/// A time for the operator: UTC, ISO 8601, to the second (`2023-11-14T22:13:20Z`).
pub fn utc(t: Timestamp) -> String {
    let secs = i64::try_from(t.as_millis() / 1000).unwrap_or(i64::MAX);
    ::time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|d| {
            d.format(&::time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{} ms after 1970 (UTC)", t.as_millis()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_left_round_up() {
        let t = Timestamp(10_000);
        assert_eq!(t.secs_until_ceil(Timestamp(10_001)), 1);
        assert_eq!(t.secs_until_ceil(Timestamp(11_000)), 1);
        assert_eq!(t.secs_until_ceil(Timestamp(11_001)), 2);
        assert_eq!(t.secs_until_ceil(Timestamp(9_000)), 0);
    }

    #[test]
    fn times_are_utc_iso_8601() {
        assert_eq!(utc(Timestamp(1_700_000_000_999)), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(Timestamp(u64::MAX).plus_secs(5), Timestamp(u64::MAX));
        assert_eq!(Timestamp(5).minus_millis(10), Timestamp::ZERO);
    }
}
