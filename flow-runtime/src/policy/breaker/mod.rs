//! The circuit breaker: the policy ([`BreakerPolicy`]), the state shared by all runs of a
//! flow instance ([`CircuitBreaker`]), the error of a refused call ([`CircuitOpen`]), and
//! the mechanism that puts it in a call stack ([`Breaker`]).
//!
//! Failure counting (`failures.rs`), the state machine (`state.rs`) and reporting
//! (`observe.rs`) are apart; this file ties them together with a lock-free path for the
//! closed state.

mod failures;
mod observe;
mod state;

use core::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

pub use state::BreakerState;

use self::failures::ConsecutiveFailures;
use self::state::{Admit, Change, Machine};
use super::observe::{NoObserver, Observer};
use super::{Call, ConfigError, PolicyError};

/// When a circuit breaker opens and how long it stays open.
///
/// The breaker opens after `failures` failed calls in a row (an error or a timeout; a
/// success resets the count). It stays open for `cool_down`, refusing calls at once with
/// [`CircuitOpen`]. Then the next call is let through as a probe while the others are
/// refused: if the probe succeeds the breaker closes, if it fails the breaker opens again
/// for twice the previous cool-down, never more than `max_cool_down`. The cool-down goes
/// back to `cool_down` when the breaker closes.
///
/// # Default
///
/// `failures = 5`, `cool_down = 30 s`, `max_cool_down = 10 × cool_down` (5 min).
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use typedflow::policy::BreakerPolicy;
///
/// let policy = BreakerPolicy::new(3, Duration::from_secs(10))?
///     .with_max_cool_down(Duration::from_secs(60))?;
/// assert_eq!(policy.max_cool_down(), Duration::from_secs(60));
/// # Ok::<(), typedflow::policy::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BreakerPolicy {
    failures: u32,
    cool_down: Duration,
    /// `None`: ten times `cool_down`.
    max_cool_down: Option<Duration>,
}

impl BreakerPolicy {
    /// Opens after `failures` failures in a row, for `cool_down` at first.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroFailures`] if `failures` is 0, [`ConfigError::ZeroDuration`] if
    /// `cool_down` is zero.
    pub const fn new(failures: u32, cool_down: Duration) -> Result<Self, ConfigError> {
        if failures == 0 {
            return Err(ConfigError::ZeroFailures);
        }
        if cool_down.is_zero() {
            return Err(ConfigError::ZeroDuration {
                setting: "cool_down",
            });
        }
        Ok(BreakerPolicy {
            failures,
            cool_down,
            max_cool_down: None,
        })
    }

    /// Sets how many failures in a row open the breaker.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroFailures`] if `failures` is 0.
    pub const fn with_failures(self, failures: u32) -> Result<Self, ConfigError> {
        if failures == 0 {
            return Err(ConfigError::ZeroFailures);
        }
        Ok(BreakerPolicy { failures, ..self })
    }

    /// Sets the first cool-down.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroDuration`] if `cool_down` is zero, [`ConfigError::MaxBelowMin`]
    /// if a `max_cool_down` set before is shorter.
    pub const fn with_cool_down(self, cool_down: Duration) -> Result<Self, ConfigError> {
        if cool_down.is_zero() {
            return Err(ConfigError::ZeroDuration {
                setting: "cool_down",
            });
        }
        if let Some(max) = self.max_cool_down
            && max.as_nanos() < cool_down.as_nanos()
        {
            return Err(ConfigError::MaxBelowMin {
                min_name: "cool_down",
                min: cool_down,
                max_name: "max_cool_down",
                max,
            });
        }
        Ok(BreakerPolicy { cool_down, ..self })
    }

    /// Sets the longest cool-down; equal to `cool_down`, the cool-down never grows.
    ///
    /// # Errors
    ///
    /// [`ConfigError::MaxBelowMin`] if `max_cool_down` is below `cool_down`.
    pub const fn with_max_cool_down(self, max_cool_down: Duration) -> Result<Self, ConfigError> {
        if max_cool_down.as_nanos() < self.cool_down.as_nanos() {
            return Err(ConfigError::MaxBelowMin {
                min_name: "cool_down",
                min: self.cool_down,
                max_name: "max_cool_down",
                max: max_cool_down,
            });
        }
        Ok(BreakerPolicy {
            max_cool_down: Some(max_cool_down),
            ..self
        })
    }

    /// How many failures in a row open the breaker.
    pub const fn failures(&self) -> u32 {
        self.failures
    }

    /// The first cool-down.
    pub const fn cool_down(&self) -> Duration {
        self.cool_down
    }

    /// The longest cool-down.
    pub const fn max_cool_down(&self) -> Duration {
        match self.max_cool_down {
            Some(max) => max,
            None => self.cool_down.saturating_mul(10),
        }
    }
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        BreakerPolicy {
            failures: 5,
            cool_down: Duration::from_secs(30),
            max_cool_down: None,
        }
    }
}

/// A call refused by an open (or half-open and probing) circuit breaker.
///
/// Returned without calling the node; inside a call stack it is the source of
/// [`PolicyError::CircuitOpen`], which an error edge can route, e.g. to a fallback.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the circuit breaker of node `{node}` is {state}")]
pub struct CircuitOpen {
    node: &'static str,
    state: BreakerState,
    retry_in: Option<Duration>,
}

impl CircuitOpen {
    /// The node whose breaker refused the call.
    pub fn node(&self) -> &'static str {
        self.node
    }

    /// The breaker's state when it refused: open, or half-open with a probe in flight.
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// How long the breaker stays open; `None` while half-open (it depends on the probe).
    pub fn retry_in(&self) -> Option<Duration> {
        self.retry_in
    }
}

/// Packs the state and a count of changes into one word, so the closed path reads one
/// atomic and a permit can tell whether the state changed since it was given.
const fn tag(changes: u64, state: BreakerState) -> u64 {
    let code = match state {
        BreakerState::Closed => 0,
        BreakerState::Open => 1,
        BreakerState::HalfOpen => 2,
    };
    (changes << 2) | code
}

const CLOSED: u64 = 0;

/// A circuit breaker: one per node per flow instance, shared by all its runs.
///
/// Use it directly with [`try_acquire`](CircuitBreaker::try_acquire), or put it in a call
/// stack with [`Breaker`]; [`NodePolicies`](super::NodePolicies) does the latter. While
/// closed, admitting a call is one atomic load and recording a success one more; the
/// state machine's lock is taken only when the breaker is not closed or the failure
/// threshold is reached, and never across an `.await`.
///
/// The results of calls admitted before the last change of state are ignored: a slow
/// call that started while closed does not reopen a breaker that has since closed again.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use typedflow::policy::{BreakerPolicy, BreakerState, CircuitBreaker};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let breaker = CircuitBreaker::new("fetch", BreakerPolicy::new(2, Duration::from_secs(5))?);
/// breaker.try_acquire()?.failure();
/// breaker.try_acquire()?.failure();
/// assert_eq!(breaker.state(), BreakerState::Open);
/// let refused = breaker.try_acquire().unwrap_err();
/// assert_eq!(refused.retry_in(), Some(Duration::from_secs(5)));
///
/// tokio::time::sleep(Duration::from_secs(5)).await;
/// let probe = breaker.try_acquire()?;
/// assert!(breaker.try_acquire().is_err(), "one probe at a time");
/// probe.success();
/// assert_eq!(breaker.state(), BreakerState::Closed);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct CircuitBreaker<O = NoObserver> {
    node: &'static str,
    policy: BreakerPolicy,
    tag: AtomicU64,
    failures: ConsecutiveFailures,
    machine: Mutex<Machine>,
    observer: O,
}

impl CircuitBreaker {
    /// A closed breaker for `node`.
    pub fn new(node: &'static str, policy: BreakerPolicy) -> Self {
        CircuitBreaker {
            node,
            policy,
            tag: AtomicU64::new(CLOSED),
            failures: ConsecutiveFailures::new(policy.failures()),
            machine: Mutex::new(Machine::new(&policy, Instant::now())),
            observer: NoObserver,
        }
    }
}

impl<O> CircuitBreaker<O> {
    /// Reports changes of state to `observer` too.
    pub fn with_observer<O2: Observer>(self, observer: O2) -> CircuitBreaker<O2> {
        let CircuitBreaker {
            node,
            policy,
            tag,
            failures,
            machine,
            observer: _,
        } = self;
        CircuitBreaker {
            node,
            policy,
            tag,
            failures,
            machine,
            observer,
        }
    }

    /// The node this breaker guards.
    pub fn node(&self) -> &'static str {
        self.node
    }

    /// The same breaker, guarding the node named `node` (its name in a graph).
    pub(crate) fn named(self, node: &'static str) -> Self {
        CircuitBreaker { node, ..self }
    }

    /// The policy.
    pub fn policy(&self) -> &BreakerPolicy {
        &self.policy
    }

    /// The current state. An open breaker whose cool-down has passed still reads
    /// [`BreakerState::Open`] until the next call turns it half-open.
    pub fn state(&self) -> BreakerState {
        self.lock().state()
    }

    /// Failures in a row counted while closed.
    pub fn consecutive_failures(&self) -> u32 {
        self.failures.get()
    }

    fn lock(&self) -> MutexGuard<'_, Machine> {
        // Nothing panics while the lock is held, and the machine is valid after any of its
        // methods, so a poisoned lock is still safe to use.
        self.machine.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a change made under the lock in the tag. Call with the lock held.
    fn publish(&self, state: BreakerState) {
        let changes = (self.tag.load(Ordering::Relaxed) >> 2).wrapping_add(1);
        self.tag.store(tag(changes, state), Ordering::Release);
        self.failures.reset();
    }
}

impl<O: Observer> CircuitBreaker<O> {
    /// Asks to make a call: a permit to report its outcome with, or the refusal.
    ///
    /// Report the outcome with [`BreakerPermit::success`] or [`BreakerPermit::failure`].
    /// A permit dropped without a report counts as neither; if it was the half-open probe,
    /// the next call becomes the probe.
    ///
    /// # Errors
    ///
    /// [`CircuitOpen`] while the breaker is open, or half-open with its probe in flight.
    #[inline]
    pub fn try_acquire(&self) -> Result<BreakerPermit<'_, O>, CircuitOpen> {
        let tag = self.tag.load(Ordering::Acquire);
        if tag & 3 == CLOSED {
            return Ok(BreakerPermit {
                breaker: self,
                probe: false,
                tag,
                reported: false,
            });
        }
        self.acquire_slow()
    }

    #[cold]
    fn acquire_slow(&self) -> Result<BreakerPermit<'_, O>, CircuitOpen> {
        let mut machine = self.lock();
        let (admit, change) = machine.admit(Instant::now());
        if let Some(change) = change {
            self.publish(change.to);
        }
        let state = machine.state();
        let tag = self.tag.load(Ordering::Relaxed);
        // Reported under the lock: observers see the changes in the order they happened
        // (a gauge set from a stale report would show the wrong state).
        self.report(change);
        drop(machine);
        match admit {
            Admit::Closed | Admit::Probe => Ok(BreakerPermit {
                breaker: self,
                probe: admit == Admit::Probe,
                tag,
                reported: false,
            }),
            Admit::Refuse { retry_in } => {
                observe::refused(self.node, state);
                Err(CircuitOpen {
                    node: self.node,
                    state,
                    retry_in,
                })
            }
        }
    }

    fn closed_outcome(&self, ok: bool, permit_tag: u64) {
        if self.tag.load(Ordering::Acquire) != permit_tag {
            return; // admitted before the last change of state
        }
        if ok {
            self.failures.success();
            return;
        }
        if !self.failures.failure() {
            return;
        }
        let mut machine = self.lock();
        let change = if self.tag.load(Ordering::Relaxed) == permit_tag {
            machine.trip(Instant::now())
        } else {
            None
        };
        if let Some(change) = change {
            self.publish(change.to);
        }
        // Reported under the lock: observers see the changes in the order they happened
        // (a gauge set from a stale report would show the wrong state).
        self.report(change);
        drop(machine);
    }

    fn probe_outcome(&self, outcome: Option<bool>) {
        let mut machine = self.lock();
        let change = match outcome {
            Some(ok) => machine.probe_done(ok, Instant::now()),
            None => {
                machine.probe_dropped();
                None
            }
        };
        if let Some(change) = change {
            self.publish(change.to);
        }
        // Reported under the lock: observers see the changes in the order they happened
        // (a gauge set from a stale report would show the wrong state).
        self.report(change);
        drop(machine);
    }

    fn report(&self, change: Option<Change>) {
        if let Some(change) = change {
            observe::changed(&self.observer, self.node, change);
        }
    }
}

/// Leave to make one call through a [`CircuitBreaker`]; report how the call went.
#[derive(Debug)]
#[must_use = "report the call's outcome with `success` or `failure`"]
pub struct BreakerPermit<'a, O: Observer = NoObserver> {
    breaker: &'a CircuitBreaker<O>,
    probe: bool,
    tag: u64,
    reported: bool,
}

impl<O: Observer> BreakerPermit<'_, O> {
    /// Whether this call is the half-open probe.
    pub fn is_probe(&self) -> bool {
        self.probe
    }

    /// The call succeeded: resets the failure count, or closes a half-open breaker.
    pub fn success(mut self) {
        self.report(true);
    }

    /// The call failed: counts towards opening, or reopens a half-open breaker.
    pub fn failure(mut self) {
        self.report(false);
    }

    fn report(&mut self, ok: bool) {
        self.reported = true;
        if self.probe {
            self.breaker.probe_outcome(Some(ok));
        } else {
            self.breaker.closed_outcome(ok, self.tag);
        }
    }
}

impl<O: Observer> Drop for BreakerPermit<'_, O> {
    fn drop(&mut self) {
        if self.probe && !self.reported {
            self.breaker.probe_outcome(None);
        }
    }
}

/// The circuit breaker as a layer of a call stack.
///
/// Asks the breaker before calling the inner layer and reports the outcome after: a
/// [`PolicyError::Node`] or [`PolicyError::Timeout`] is a failure, `Ok` a success, and
/// any other error (the call was cancelled) is neither. A refusal is
/// [`PolicyError::CircuitOpen`] and does not call the inner layer. With `None`, calls
/// pass through.
#[derive(Debug)]
pub struct Breaker<'a, C, O = NoObserver> {
    inner: C,
    breaker: Option<&'a CircuitBreaker<O>>,
}

impl<'a, C, O> Breaker<'a, C, O> {
    /// Wraps `inner`, guarded by `breaker`.
    pub const fn new(inner: C, breaker: Option<&'a CircuitBreaker<O>>) -> Self {
        Breaker { inner, breaker }
    }
}

impl<I, C: Call<I>, O: Observer> Call<I> for Breaker<'_, C, O> {
    type Output = C::Output;
    type Error = C::Error;

    async fn call(&mut self, input: I) -> Result<C::Output, PolicyError<C::Error>> {
        let Some(breaker) = self.breaker else {
            return self.inner.call(input).await;
        };
        let permit = match breaker.try_acquire() {
            Ok(permit) => permit,
            Err(source) => {
                return Err(PolicyError::CircuitOpen {
                    source,
                    attempts: self.inner.attempts(),
                });
            }
        };
        let result = self.inner.call(input).await;
        match &result {
            Ok(_) => permit.success(),
            Err(PolicyError::Node { .. } | PolicyError::Timeout { .. }) => permit.failure(),
            Err(_) => drop(permit),
        }
        result
    }

    fn attempts(&self) -> u32 {
        self.inner.attempts()
    }
}
