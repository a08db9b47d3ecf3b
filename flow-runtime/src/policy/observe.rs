//! What the policies report while they work: a `tracing` event for each retry, timeout
//! and breaker change, and the same facts as typed values to an [`Observer`].
//!
//! The tracing events are always emitted (they cost a branch when no subscriber listens).
//! The observer is the hook a typed event stream or metrics plug into; [`NoObserver`]
//! compiles away.

use std::sync::Arc;
use std::time::Duration;

use super::BreakerState;

/// The target of every tracing event the policies emit.
pub const TRACING_TARGET: &str = "flow::policy";

/// Receives the events of a node's policies, as they happen.
///
/// Every method defaults to doing nothing. Methods are called on the task that runs the
/// call, outside every lock, and must not block.
///
/// # Example
///
/// ```
/// use std::sync::Mutex;
/// use std::time::Duration;
/// use typedflow::policy::{Observer, RetryScheduled};
///
/// /// Keeps every delay a retry waited.
/// #[derive(Default)]
/// struct Delays(Mutex<Vec<Duration>>);
///
/// impl Observer for Delays {
///     fn on_retry(&self, event: &RetryScheduled) {
///         self.0.lock().unwrap().push(event.delay);
///     }
/// }
/// ```
pub trait Observer: Send + Sync {
    /// A failed attempt will be followed by another after `event.delay`.
    fn on_retry(&self, event: &RetryScheduled) {
        let _ = event;
    }

    /// An attempt ran past its per-attempt timeout and was dropped.
    fn on_timeout(&self, event: &AttemptTimedOut) {
        let _ = event;
    }

    /// A call waited for a permit of the node's rate limit.
    fn on_rate_limited(&self, event: &RateLimited) {
        let _ = event;
    }

    /// A circuit breaker changed state.
    ///
    /// Called while the breaker's state is locked, so observers see its changes in the
    /// order they happened, each `from` the previous `to`. Keep it short and do not call
    /// back into the same breaker from it (that would wait on the lock forever).
    fn on_breaker(&self, event: &BreakerTransition) {
        let _ = event;
    }
}

/// The observer that does nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoObserver;

impl Observer for NoObserver {}

impl<O: Observer + ?Sized> Observer for &O {
    fn on_retry(&self, event: &RetryScheduled) {
        (**self).on_retry(event);
    }
    fn on_timeout(&self, event: &AttemptTimedOut) {
        (**self).on_timeout(event);
    }
    fn on_breaker(&self, event: &BreakerTransition) {
        (**self).on_breaker(event);
    }
    fn on_rate_limited(&self, event: &RateLimited) {
        (**self).on_rate_limited(event);
    }
}

impl<O: Observer + ?Sized> Observer for Arc<O> {
    fn on_retry(&self, event: &RetryScheduled) {
        (**self).on_retry(event);
    }
    fn on_timeout(&self, event: &AttemptTimedOut) {
        (**self).on_timeout(event);
    }
    fn on_breaker(&self, event: &BreakerTransition) {
        (**self).on_breaker(event);
    }
    fn on_rate_limited(&self, event: &RateLimited) {
        (**self).on_rate_limited(event);
    }
}

/// Where a mechanism reports its events: the node's name and its observer.
///
/// ```
/// use typedflow::policy::Events;
///
/// let events = Events::node("write");
/// assert_eq!(events.node_name(), "write");
/// ```
#[derive(Debug)]
pub struct Events<'a, O: ?Sized = NoObserver> {
    node: &'static str,
    observer: &'a O,
}

impl Events<'static, NoObserver> {
    /// Events of `node`, reported only as tracing events.
    pub const fn node(node: &'static str) -> Self {
        Events {
            node,
            observer: &NoObserver,
        }
    }
}

impl<'a, O: ?Sized> Events<'a, O> {
    /// Events of `node`, reported as tracing events and to `observer`.
    pub const fn new(node: &'static str, observer: &'a O) -> Self {
        Events { node, observer }
    }

    /// The node's name.
    pub const fn node_name(&self) -> &'static str {
        self.node
    }

    /// The observer.
    pub const fn observer(&self) -> &'a O {
        self.observer
    }
}

impl<O: ?Sized> Clone for Events<'_, O> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<O: ?Sized> Copy for Events<'_, O> {}

/// Why an attempt is being retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryCause {
    /// The node returned a retryable error.
    Error,
    /// The attempt timed out.
    Timeout,
}

/// A retry was scheduled.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryScheduled {
    /// The node.
    pub node: &'static str,
    /// The attempt that failed, counting from 1; the next one is `attempt + 1`.
    pub attempt: u32,
    /// How long the retry waits before the next attempt.
    pub delay: Duration,
    /// Whether the error's retry-after hint set the delay.
    pub from_hint: bool,
    /// Why the attempt failed.
    pub cause: RetryCause,
}

/// A call waited for a permit of its node's rate limit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimited {
    /// The node.
    pub node: &'static str,
    /// How long the call waited.
    pub waited: Duration,
}

/// An attempt timed out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttemptTimedOut {
    /// The node.
    pub node: &'static str,
    /// The attempt that timed out, counting from 1.
    pub attempt: u32,
    /// The per-attempt timeout.
    pub timeout: Duration,
}

/// A circuit breaker changed state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BreakerTransition {
    /// The node whose breaker changed.
    pub node: &'static str,
    /// The state before.
    pub from: BreakerState,
    /// The state after.
    pub to: BreakerState,
    /// For a change to [`BreakerState::Open`]: how long it stays open.
    pub cool_down: Option<Duration>,
}

/// Emits the tracing event of a retry and tells the observer.
pub(crate) fn retry_scheduled<O: Observer + ?Sized>(observer: &O, event: RetryScheduled) {
    tracing::info!(
        target: TRACING_TARGET,
        node = event.node,
        attempt = event.attempt,
        delay = ?event.delay,
        from_hint = event.from_hint,
        cause = ?event.cause,
        "retry scheduled"
    );
    observer.on_retry(&event);
}

/// Emits the tracing event of a wait for a rate-limit permit and tells the observer.
pub(crate) fn rate_limited<O: Observer + ?Sized>(observer: &O, event: RateLimited) {
    tracing::debug!(
        target: TRACING_TARGET,
        node = event.node,
        waited = ?event.waited,
        "waited for a rate-limit permit"
    );
    observer.on_rate_limited(&event);
}

/// Emits the tracing event of a timeout and tells the observer.
pub(crate) fn timed_out<O: Observer + ?Sized>(observer: &O, event: AttemptTimedOut) {
    tracing::warn!(
        target: TRACING_TARGET,
        node = event.node,
        attempt = event.attempt,
        timeout = ?event.timeout,
        "attempt timed out"
    );
    observer.on_timeout(&event);
}
