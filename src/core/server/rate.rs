//! A rate with a burst, kept as one timestamp (the generic cell rate algorithm, a token bucket without
//! the tokens): flood control per connection, failed logins and registrations per address all use it.
//!
//! `tat` ("theoretical arrival time") is when the bucket would be full again. An event conforms if
//! `tat` is at most `(burst - 1)` intervals ahead of now; taking it moves `tat` one interval on. So `burst`
//! events may come at once, then one per interval. Intervals are kept in microseconds, so rates above
//! a thousand a second (a per-address budget for bookkeeping lines) are what they say; the times it
//! answers are the core's milliseconds, rounded up (never early).

use crate::time::Timestamp;

/// A rate: `burst` at once, then one every `interval_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rate {
    pub(crate) burst: u32,
    pub(crate) interval_us: u64,
}

impl Rate {
    /// `per_sec` a second with a burst of `burst`; `None` for no limit (`per_sec` 0).
    pub(crate) fn per_sec(per_sec: u32, burst: u32) -> Option<Rate> {
        (per_sec > 0).then(|| Rate {
            burst: burst.max(1),
            interval_us: (1_000_000 / u64::from(per_sec)).max(1),
        })
    }

    /// One every `secs` seconds with a burst of `burst`; `None` for no limit (`burst` 0).
    pub(crate) fn every_secs(secs: u64, burst: u32) -> Option<Rate> {
        (burst > 0).then(|| Rate {
            burst,
            interval_us: secs.saturating_mul(1_000_000).max(1),
        })
    }

    fn tolerance_us(self) -> u64 {
        u64::from(self.burst - 1).saturating_mul(self.interval_us)
    }
}

fn micros(t: Timestamp) -> u64 {
    t.as_millis().saturating_mul(1000)
}

/// The millisecond at or after `us`.
fn millis_ceil(us: u64) -> Timestamp {
    Timestamp::from_millis(us.div_ceil(1000))
}

/// Where one limited stream of events stands.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Gcra {
    /// In microseconds since the epoch.
    tat_us: u64,
}

impl Gcra {
    /// Takes one event at `now` if it conforms; otherwise returns when the next one will.
    pub(crate) fn take(&mut self, rate: Rate, now: Timestamp) -> Result<(), Timestamp> {
        let now_us = micros(now);
        let tat = self.tat_us.max(now_us);
        let ready = tat.saturating_sub(rate.tolerance_us());
        if ready > now_us {
            return Err(millis_ceil(ready));
        }
        self.tat_us = tat.saturating_add(rate.interval_us);
        Ok(())
    }

    /// Gives back one event taken with `rate` (one that did not happen after all: a registration
    /// whose account the server could not make). Exactly as if it had not been taken: the time it
    /// moved on is moved back, and a bucket already full by then stays full.
    pub(crate) fn give_back(&mut self, rate: Rate) {
        self.tat_us = self.tat_us.saturating_sub(rate.interval_us);
    }

    /// When the next event would conform (`now` or earlier if it would now), without taking one.
    pub(crate) fn ready_at(&self, rate: Rate, now: Timestamp) -> Timestamp {
        millis_ceil(
            self.tat_us
                .max(micros(now))
                .saturating_sub(rate.tolerance_us()),
        )
    }

    /// Whether the bucket is full again at `now`: nothing to remember any more.
    pub(crate) fn is_idle(&self, now: Timestamp) -> bool {
        self.tat_us <= micros(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_per_interval() {
        let rate = Rate::per_sec(10, 3).unwrap();
        let mut g = Gcra::default();
        let t = Timestamp::from_millis(1_000);
        for _ in 0..3 {
            assert_eq!(g.take(rate, t), Ok(()));
        }
        let next = g.take(rate, t).unwrap_err();
        assert_eq!(next, t.plus_millis(100));
        assert_eq!(g.take(rate, next), Ok(()));
        assert!(g.take(rate, next).is_err());
        // Quiet for a while, the whole burst is back, and no more.
        let later = next.plus_millis(10_000);
        assert!(g.is_idle(later));
        for _ in 0..3 {
            assert_eq!(g.take(rate, later), Ok(()));
        }
        assert!(g.take(rate, later).is_err());
    }

    #[test]
    fn an_event_given_back_is_as_if_never_taken() {
        let rate = Rate::every_secs(60, 2).unwrap();
        let t = Timestamp::from_millis(5_000);
        for later in [0, 30_000, 120_000] {
            let mut g = Gcra::default();
            g.take(rate, t).unwrap();
            let mut same = g;
            g.take(rate, t).unwrap();
            g.give_back(rate);
            let at = t.plus_millis(later);
            assert_eq!(g.ready_at(rate, at), same.ready_at(rate, at), "{later}");
            assert_eq!(g.is_idle(at), same.is_idle(at), "{later}");
            assert_eq!(g.take(rate, at), same.take(rate, at), "{later}");
            assert_eq!(g.take(rate, at), same.take(rate, at), "{later}");
        }
    }

    #[test]
    fn rates_above_a_thousand_a_second_are_kept() {
        let rate = Rate::per_sec(2500, 10).unwrap();
        let mut g = Gcra::default();
        let t = Timestamp::from_millis(1_000);
        let mut taken = 0;
        let mut at = t;
        while at < t.plus_millis(1000) {
            match g.take(rate, at) {
                Ok(()) => taken += 1,
                Err(ready) => at = ready,
            }
        }
        // The burst, then 2,500 a second (at whole milliseconds, a rate in milliseconds would give 1,000).
        assert!((2500..=2510).contains(&taken), "{taken}");
    }

    #[test]
    fn no_limit_is_none() {
        assert_eq!(Rate::per_sec(0, 5), None);
        assert_eq!(Rate::every_secs(30, 0), None);
        let slow = Rate::every_secs(30, 2).unwrap();
        let mut g = Gcra::default();
        let t = Timestamp::from_millis(0);
        assert!(g.take(slow, t).is_ok() && g.take(slow, t).is_ok());
        assert_eq!(g.take(slow, t), Err(t.plus_millis(30_000)));
    }
}
