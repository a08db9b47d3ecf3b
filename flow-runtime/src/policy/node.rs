//! [`NodePolicies`]: a node's policies and their shared state, and the one entry point the
//! generated code calls per node call.

use core::fmt;
use core::future::Future;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::observe::{Events, NoObserver, Observer};
use super::rng::{LazyRng, Seeds};
use super::{
    Breaker, BreakerPolicy, Call, Cancel, CircuitBreaker, ConcurrencyLimit, FnCall, Limit, NoRetry,
    PolicyError, RateLimit, RateLimiter, Retry, RetryPolicy, Timeout, TimeoutPolicy,
};
use crate::Retryable;

/// A node's policies with the state they share across all runs of a flow instance: the
/// node's `Node::State` when it has policies.
///
/// Build it once per flow instance; every call of the node goes through
/// [`call`](NodePolicies::call) (or [`call_cancellable`](NodePolicies::call_cancellable)),
/// which stacks, from the outside in: retry → circuit breaker → rate limit → concurrency
/// limit → per-attempt timeout → the node. So each attempt is counted by the breaker,
/// takes a rate-limit permit, holds a concurrency permit only while it runs, and is timed
/// from when it got its permits.
///
/// The retry policy is a type parameter: `NodePolicies<NoRetry>` (the default) makes one
/// attempt per call and asks nothing of the input or the error; after
/// [`with_retry`](NodePolicies::with_retry) it is `NodePolicies<RetryPolicy>`, whose
/// `call` needs `I: Clone` and `E: Retryable`. A policy not configured costs a branch.
///
/// # Default
///
/// [`NodePolicies::new`] configures nothing: no retry, no timeout, no breaker, no limit,
/// jitter seeded from the process's hash randomness, no observer.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use typedflow::policy::{
///     Backoff, BreakerPolicy, ConcurrencyLimit, Jitter, NodePolicies, PolicyError, RetryPolicy,
///     TimeoutPolicy,
/// };
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let policies = NodePolicies::new("fetch")
///     .with_retry(RetryPolicy::new(3)?.with_backoff(Backoff::constant(Duration::from_millis(10))))
///     .with_timeout(TimeoutPolicy::new(Duration::from_secs(2))?)
///     .with_breaker(BreakerPolicy::new(5, Duration::from_secs(30))?)
///     .with_concurrency(ConcurrencyLimit::new(4)?);
///
/// let len = policies
///     .call("flow".to_string(), |url: String| async move {
///         Ok::<_, std::io::Error>(url.len())
///     })
///     .await?;
/// assert_eq!(len, 4);
/// # Ok(()) }
/// ```
pub struct NodePolicies<R = NoRetry, O = NoObserver> {
    node: &'static str,
    retry: R,
    timeout: Option<TimeoutPolicy>,
    breaker: Option<CircuitBreaker<O>>,
    limit: Option<(ConcurrencyLimit, Semaphore)>,
    rate: Option<(RateLimit, RateLimiter)>,
    seeds: Seeds,
    observer: O,
}

impl NodePolicies {
    /// No policies yet, for the node named `node` (the name in events and errors).
    pub fn new(node: &'static str) -> Self {
        NodePolicies {
            node,
            retry: NoRetry,
            timeout: None,
            breaker: None,
            limit: None,
            rate: None,
            seeds: Seeds::from_entropy(),
            observer: NoObserver,
        }
    }
}

impl<R, O: Observer + Clone> NodePolicies<R, O> {
    /// Retries failed attempts by `policy`.
    pub fn with_retry(self, policy: RetryPolicy) -> NodePolicies<RetryPolicy, O> {
        NodePolicies {
            node: self.node,
            retry: policy,
            timeout: self.timeout,
            breaker: self.breaker,
            limit: self.limit,
            rate: self.rate,
            seeds: self.seeds,
            observer: self.observer,
        }
    }

    /// Bounds each attempt by `policy`.
    #[must_use]
    pub fn with_timeout(self, policy: TimeoutPolicy) -> Self {
        NodePolicies {
            timeout: Some(policy),
            ..self
        }
    }

    /// Guards the node with a circuit breaker (a new, closed one) shared by every call.
    #[must_use]
    pub fn with_breaker(self, policy: BreakerPolicy) -> Self {
        let breaker = CircuitBreaker::new(self.node, policy).with_observer(self.observer.clone());
        NodePolicies {
            breaker: Some(breaker),
            ..self
        }
    }

    /// Allows at most `limit` calls in flight at once.
    #[must_use]
    pub fn with_concurrency(self, limit: ConcurrencyLimit) -> Self {
        NodePolicies {
            limit: Some((limit, limit.semaphore())),
            ..self
        }
    }

    /// Starts at most `limit.count()` calls per `limit.per()`, across every run: each
    /// attempt waits for a permit of one token bucket shared by all calls.
    #[must_use]
    pub fn with_rate_limit(self, limit: RateLimit) -> Self {
        NodePolicies {
            rate: Some((limit, limit.bucket())),
            ..self
        }
    }

    /// Seeds the jitter: the `k`-th call that schedules a retry draws its jitter from
    /// `SplitMix64::new(s)`, with `s` the `k`-th number of `SplitMix64::new(seed)`.
    #[must_use]
    pub fn with_seed(self, seed: u64) -> Self {
        NodePolicies {
            seeds: Seeds::new(seed),
            ..self
        }
    }

    /// The same policies for the node named `node`: the name its events, its errors and
    /// its breaker carry. A flow renames the policies of a node it uses under an alias
    /// (`node a = fetch;`), so that they speak of `a`, as the flow's hooks do.
    ///
    /// ```
    /// use std::time::Duration;
    /// use typedflow::policy::{BreakerPolicy, NodePolicies};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let policies = NodePolicies::new("fetch")
    ///     .with_breaker(BreakerPolicy::new(3, Duration::from_secs(10))?)
    ///     .named("fetch_again");
    /// assert_eq!(policies.node(), "fetch_again");
    /// assert_eq!(policies.breaker().map(|b| b.node()), Some("fetch_again"));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn named(self, node: &'static str) -> Self {
        NodePolicies {
            node,
            breaker: self.breaker.map(|b| b.named(node)),
            ..self
        }
    }

    /// Reports retries, timeouts and breaker changes to `observer` as well as to tracing.
    pub fn with_observer<O2: Observer + Clone>(self, observer: O2) -> NodePolicies<R, O2> {
        NodePolicies {
            node: self.node,
            retry: self.retry,
            timeout: self.timeout,
            breaker: self.breaker.map(|b| b.with_observer(observer.clone())),
            limit: self.limit,
            rate: self.rate,
            seeds: self.seeds,
            observer,
        }
    }
}

impl<R, O> NodePolicies<R, O> {
    /// The node's name.
    pub fn node(&self) -> &'static str {
        self.node
    }

    /// The retry policy: a [`RetryPolicy`] or [`NoRetry`].
    pub fn retry(&self) -> &R {
        &self.retry
    }

    /// The per-attempt timeout, if any.
    pub fn timeout(&self) -> Option<TimeoutPolicy> {
        self.timeout
    }

    /// The circuit breaker shared by all calls, if any, e.g. to read its state.
    pub fn breaker(&self) -> Option<&CircuitBreaker<O>> {
        self.breaker.as_ref()
    }

    /// The concurrency limit, if any.
    pub fn concurrency(&self) -> Option<ConcurrencyLimit> {
        self.limit.as_ref().map(|(limit, _)| *limit)
    }

    /// The rate limit, if there is one.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.rate.as_ref().map(|(limit, _)| *limit)
    }

    /// Calls that may start now without waiting for the concurrency limit, if there is one.
    pub fn available_permits(&self) -> Option<usize> {
        self.limit.as_ref().map(|(_, s)| s.available_permits())
    }

    /// The layers under the retry loop, around `f`.
    #[inline]
    fn stack<F>(&self, f: F) -> Breaker<'_, Limit<'_, Timeout<'_, FnCall<F>, O>, O>, O> {
        let events = Events::new(self.node, &self.observer);
        let timeout = Timeout::new(FnCall::traced(self.node, f), self.timeout, events);
        let limit = Limit::new(timeout, self.limit.as_ref().map(|(_, s)| s))
            .with_rate(self.rate.as_ref().map(|(_, r)| r), events);
        Breaker::new(limit, self.breaker.as_ref())
    }
}

impl<O: Observer> NodePolicies<NoRetry, O> {
    /// Calls the node once through the breaker, limit and timeout: `f(input)` is the
    /// node's future.
    ///
    /// The attempt count for `FlowError::Node { attempts }` is
    /// [`PolicyError::attempts`]; on success it is 1. Dropping the returned future drops
    /// the attempt in progress (and gives back its concurrency permit).
    ///
    /// # Errors
    ///
    /// [`PolicyError::Node`] with the node's error, [`PolicyError::Timeout`],
    /// [`PolicyError::CircuitOpen`].
    pub async fn call<I, T, E, F, Fut>(&self, input: I, f: F) -> Result<T, PolicyError<E>>
    where
        F: FnMut(I) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.stack(f).call(input).await
    }

    /// As [`call`](Self::call), ending with [`PolicyError::Cancelled`] as soon as `token`
    /// is cancelled (at once if it already is).
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call), and [`PolicyError::Cancelled`].
    pub async fn call_cancellable<I, T, E, F, Fut>(
        &self,
        token: &CancellationToken,
        input: I,
        f: F,
    ) -> Result<T, PolicyError<E>>
    where
        F: FnMut(I) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        Cancel::new(self.stack(f), token).call(input).await
    }
}

impl<O: Observer> NodePolicies<RetryPolicy, O> {
    /// Calls the node, retrying by the retry policy: `f` is called once per attempt, with
    /// a clone of `input` (the last attempt gets `input` itself).
    ///
    /// The attempt count for `FlowError::Node { attempts }` is
    /// [`PolicyError::attempts`]. Dropping the returned future drops the attempt in
    /// progress or the backoff wait, and no further attempt starts.
    ///
    /// # Errors
    ///
    /// [`PolicyError::Node`] for a non-retryable error, [`PolicyError::Exhausted`] when
    /// the policy gives up on a retryable one, [`PolicyError::Timeout`] when the last
    /// attempt timed out, [`PolicyError::CircuitOpen`], [`PolicyError::Elapsed`] when
    /// `max_elapsed` passed during an attempt.
    pub async fn call<I, T, E, F, Fut>(&self, input: I, f: F) -> Result<T, PolicyError<E>>
    where
        I: Clone,
        E: Retryable,
        F: FnMut(I) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.retrying(f).call(input).await
    }

    /// As [`call`](Self::call), ending with [`PolicyError::Cancelled`] as soon as `token`
    /// is cancelled (at once if it already is), during an attempt or a backoff wait.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call), and [`PolicyError::Cancelled`].
    pub async fn call_cancellable<I, T, E, F, Fut>(
        &self,
        token: &CancellationToken,
        input: I,
        f: F,
    ) -> Result<T, PolicyError<E>>
    where
        I: Clone,
        E: Retryable,
        F: FnMut(I) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        Cancel::new(self.retrying(f), token).call(input).await
    }

    #[inline]
    #[allow(
        clippy::type_complexity,
        reason = "the stack's type is its documentation"
    )]
    fn retrying<F>(
        &self,
        f: F,
    ) -> Retry<'_, Breaker<'_, Limit<'_, Timeout<'_, FnCall<F>, O>, O>, O>, LazyRng<'_>, O> {
        let events = Events::new(self.node, &self.observer);
        Retry::new(
            self.stack(f),
            &self.retry,
            LazyRng::new(&self.seeds),
            events,
        )
    }
}

impl<R: fmt::Debug, O> fmt::Debug for NodePolicies<R, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodePolicies")
            .field("node", &self.node)
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .field(
                "breaker",
                &self.breaker.as_ref().map(|b| (b.policy(), b.state())),
            )
            .field("concurrency", &self.concurrency())
            .finish_non_exhaustive()
    }
}
