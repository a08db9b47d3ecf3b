//! The breaker's state machine: Closed → Open → HalfOpen → Closed or Open again.
//!
//! Pure transitions on a value, given the current instant: no lock, no clock, no events.
//! The caller (`CircuitBreaker`) holds the lock, reads the clock, and reports the
//! returned [`Change`] after unlocking.

use core::fmt;
use std::time::Duration;

use tokio::time::Instant;

use super::BreakerPolicy;

/// The state of a circuit breaker.
///
/// ```text
///            N failures in a row          cool-down passed, next call
///  Closed ───────────────────────► Open ─────────────────────────────► HalfOpen
///    ▲                              ▲          (that call is the probe)    │
///    │      probe succeeded         │   probe failed: cool-down doubled    │
///    └──────────────────────────────┼──────────────────────────────────────┤
///                                   └──────────────────────────────────────┘
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BreakerState {
    /// Calls go through; failures in a row are counted.
    Closed,
    /// Calls fail fast until the cool-down has passed.
    Open,
    /// One probe call is let through; the others fail fast until it ends.
    HalfOpen,
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        })
    }
}

/// A change of state, to be reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) from: BreakerState,
    pub(crate) to: BreakerState,
    /// How long the breaker stays open, for a change to `Open`.
    pub(crate) cool_down: Option<Duration>,
}

/// What the breaker says to a call that asks to go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Go through; the breaker is closed.
    Closed,
    /// Go through as the half-open probe.
    Probe,
    /// Fail fast; `retry_in` is the time left in the cool-down, `None` while a probe runs.
    Refuse { retry_in: Option<Duration> },
}

/// The state with what each state needs.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    state: BreakerState,
    /// While open: when the cool-down ends.
    until: Instant,
    /// The cool-down of the current (or next) open period.
    cool_down: Duration,
    /// While half-open: whether the probe is in flight.
    probing: bool,
    base: Duration,
    max: Duration,
}

impl Machine {
    pub(crate) fn new(policy: &BreakerPolicy, now: Instant) -> Self {
        Machine {
            state: BreakerState::Closed,
            until: now,
            cool_down: policy.cool_down(),
            probing: false,
            base: policy.cool_down(),
            max: policy.max_cool_down(),
        }
    }

    pub(crate) fn state(&self) -> BreakerState {
        self.state
    }

    /// The failures threshold was reached while closed: open for the base cool-down.
    pub(crate) fn trip(&mut self, now: Instant) -> Option<Change> {
        if self.state != BreakerState::Closed {
            return None;
        }
        Some(self.open(now, BreakerState::Closed))
    }

    /// A call asks to go through.
    pub(crate) fn admit(&mut self, now: Instant) -> (Admit, Option<Change>) {
        match self.state {
            BreakerState::Closed => (Admit::Closed, None),
            BreakerState::Open if now >= self.until => {
                self.state = BreakerState::HalfOpen;
                self.probing = true;
                let change = Change {
                    from: BreakerState::Open,
                    to: BreakerState::HalfOpen,
                    cool_down: None,
                };
                (Admit::Probe, Some(change))
            }
            BreakerState::Open => (
                Admit::Refuse {
                    retry_in: Some(self.until - now),
                },
                None,
            ),
            BreakerState::HalfOpen if !self.probing => {
                // The previous probe was dropped before it ended: this call probes.
                self.probing = true;
                (Admit::Probe, None)
            }
            BreakerState::HalfOpen => (Admit::Refuse { retry_in: None }, None),
        }
    }

    /// The probe ended: close on success, open again with a longer cool-down on failure.
    pub(crate) fn probe_done(&mut self, ok: bool, now: Instant) -> Option<Change> {
        if self.state != BreakerState::HalfOpen {
            return None;
        }
        self.probing = false;
        if ok {
            self.state = BreakerState::Closed;
            self.cool_down = self.base;
            Some(Change {
                from: BreakerState::HalfOpen,
                to: BreakerState::Closed,
                cool_down: None,
            })
        } else {
            self.cool_down = self.cool_down.saturating_mul(2).min(self.max);
            Some(self.open(now, BreakerState::HalfOpen))
        }
    }

    /// The probe was dropped (its call cancelled) before it ended: it says nothing about
    /// the node's health, so the next call probes instead.
    pub(crate) fn probe_dropped(&mut self) {
        if self.state == BreakerState::HalfOpen {
            self.probing = false;
        }
    }

    fn open(&mut self, now: Instant, from: BreakerState) -> Change {
        self.state = BreakerState::Open;
        self.until = crate::policy::instant_after(now, self.cool_down);
        Change {
            from,
            to: BreakerState::Open,
            cool_down: Some(self.cool_down),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine() -> (Machine, Instant) {
        let policy = BreakerPolicy::new(3, Duration::from_secs(10))
            .and_then(|p| p.with_max_cool_down(Duration::from_secs(25)))
            .expect("valid policy");
        let now = Instant::now();
        (Machine::new(&policy, now), now)
    }

    #[test]
    fn every_transition_with_a_growing_cool_down() {
        let s = Duration::from_secs;
        let (mut m, t0) = machine();
        assert_eq!(m.admit(t0), (Admit::Closed, None));
        let change = m.trip(t0).expect("closed trips");
        assert_eq!(
            (change.to, change.cool_down),
            (BreakerState::Open, Some(s(10)))
        );
        assert_eq!(m.trip(t0), None, "an open breaker does not trip again");
        assert_eq!(
            m.admit(t0 + s(4)).0,
            Admit::Refuse {
                retry_in: Some(s(6))
            }
        );
        // The cool-down has passed: one probe, then refusals without a deadline.
        let (admit, change) = m.admit(t0 + s(10));
        assert_eq!(admit, Admit::Probe);
        assert_eq!(change.map(|c| c.to), Some(BreakerState::HalfOpen));
        assert_eq!(m.admit(t0 + s(10)).0, Admit::Refuse { retry_in: None });
        // Failed probe: open for 20 s, then 25 s (the max), never more.
        let change = m.probe_done(false, t0 + s(11)).expect("half-open reopens");
        assert_eq!(change.cool_down, Some(s(20)));
        assert_eq!(m.admit(t0 + s(31)).0, Admit::Probe);
        let change = m.probe_done(false, t0 + s(31)).expect("half-open reopens");
        assert_eq!(change.cool_down, Some(s(25)));
        assert_eq!(m.admit(t0 + s(56)).0, Admit::Probe);
        let change = m.probe_done(false, t0 + s(56)).expect("half-open reopens");
        assert_eq!(change.cool_down, Some(s(25)));
        // A successful probe closes and resets the cool-down.
        assert_eq!(m.admit(t0 + s(81)).0, Admit::Probe);
        let change = m.probe_done(true, t0 + s(81)).expect("half-open closes");
        assert_eq!(
            (change.from, change.to),
            (BreakerState::HalfOpen, BreakerState::Closed)
        );
        assert_eq!(m.trip(t0 + s(90)).and_then(|c| c.cool_down), Some(s(10)));
    }

    #[test]
    fn a_dropped_probe_lets_the_next_call_probe() {
        let (mut m, t0) = machine();
        m.trip(t0);
        let t = t0 + Duration::from_secs(10);
        assert_eq!(m.admit(t).0, Admit::Probe);
        m.probe_dropped();
        assert_eq!(m.state(), BreakerState::HalfOpen);
        assert_eq!(m.admit(t), (Admit::Probe, None));
        assert_eq!(m.admit(t).0, Admit::Refuse { retry_in: None });
    }
}
