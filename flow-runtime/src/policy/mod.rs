//! Resilience policies: retry with backoff and jitter, per-attempt timeouts, a circuit
//! breaker, a concurrency limit, cancellation and a run deadline.
//!
//! Policy apart from mechanism:
//!
//! - **Policies** are plain `Clone + Debug` data, checked once when built (a
//!   [`ConfigError`], never a panic): [`RetryPolicy`] with its [`Backoff`] and [`Jitter`],
//!   [`TimeoutPolicy`], [`BreakerPolicy`], [`ConcurrencyLimit`]. Their constructors are
//!   `const fn`, so generated code can build them in `const` items.
//! - **Mechanisms** are small generic wrappers implementing one [`Call`] trait, so they
//!   stack like tower layers: [`Retry`], [`Breaker`], [`Limit`], [`Timeout`] around an
//!   [`FnCall`], with [`Cancel`] outermost.
//! - **State** shared by all runs of a flow instance (the [`CircuitBreaker`], the
//!   semaphore of a limit, the jitter seeds) lives in [`NodePolicies`], a node's
//!   `Node::State`, whose [`call`](NodePolicies::call) is the one entry point for a node
//!   call with policies.
//! - [`deadline`] bounds a whole run.
//!
//! Time comes from `tokio::time` only, so `#[tokio::test(start_paused = true)]` drives
//! every delay. Every retry, timeout and breaker change is a `tracing` event (target
//! [`TRACING_TARGET`]) and goes to an [`Observer`], a no-op unless one is set.
//!
//! The guide with the exact semantics of each policy is [`guide`].

mod backoff;
mod breaker;
mod call;
mod deadline;
mod error;
mod limit;
mod node;
mod observe;
mod rate;
mod retry;
mod rng;
mod timeout;

pub use backoff::{Backoff, Jitter, Schedule};
pub use breaker::{
    Breaker, BreakerPermit, BreakerPolicy, BreakerState, CircuitBreaker, CircuitOpen,
};
pub use call::{Call, Cancel, FnCall};
pub use deadline::deadline;
pub use error::{ConfigError, PolicyError};
pub use limit::{ConcurrencyLimit, Limit};
pub use node::NodePolicies;
pub use observe::{
    AttemptTimedOut, BreakerTransition, Events, NoObserver, Observer, RateLimited, RetryCause,
    RetryScheduled, TRACING_TARGET,
};
pub use rate::RateLimit;
pub(crate) use rate::RateLimiter;
pub use retry::{NoRetry, Retry, RetryPolicy};
pub use rng::{JitterRng, SplitMix64};
pub use timeout::{Timeout, TimeoutPolicy};

/// `now + d`, or a point about 30 years ahead when that overflows: a huge duration
/// (`Duration::MAX`) means "no limit", never a panic.
pub(crate) fn instant_after(
    now: tokio::time::Instant,
    d: std::time::Duration,
) -> tokio::time::Instant {
    const FAR: std::time::Duration = std::time::Duration::from_secs(86_400 * 365 * 30);
    now.checked_add(d.min(FAR)).unwrap_or(now)
}

/// The policies chapter of the guide (`docs/policies.md`), compiled here so its examples
/// are tested.
#[doc = include_str!("../../docs/policies.md")]
pub mod guide {}
