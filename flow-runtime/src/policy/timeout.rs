//! The per-attempt timeout: the policy ([`TimeoutPolicy`]) and its mechanism
//! ([`Timeout`]).

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

use super::observe::{self, AttemptTimedOut, Events, NoObserver, Observer};
use super::{Call, ConfigError, PolicyError};

/// How long one attempt of a node may run.
///
/// An attempt still running when its timeout passes is dropped (its future is not polled
/// again) and fails with [`PolicyError::Timeout`], which a retry policy retries. The
/// timeout covers the node's own future only: time spent waiting for a concurrency
/// permit or a backoff delay does not count. Bound a whole call with the retry policy's
/// `max_elapsed`, and a whole run with [`deadline`](super::deadline).
///
/// The clock starts when the attempt first waits (its first poll returns `Pending`), so
/// an attempt that finishes without waiting costs no timer. Work a node does before its
/// first `.await` that waits is not timed; it could not be interrupted anyway.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use typedflow::policy::TimeoutPolicy;
///
/// let t = TimeoutPolicy::new(Duration::from_secs(30))?;
/// assert_eq!(t.duration(), Duration::from_secs(30));
/// assert!(TimeoutPolicy::new(Duration::ZERO).is_err());
/// # Ok::<(), typedflow::policy::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeoutPolicy {
    after: Duration,
}

impl TimeoutPolicy {
    /// A timeout of `after` per attempt.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroDuration`] if `after` is zero.
    pub const fn new(after: Duration) -> Result<Self, ConfigError> {
        if after.is_zero() {
            return Err(ConfigError::ZeroDuration { setting: "timeout" });
        }
        Ok(TimeoutPolicy { after })
    }

    /// The time an attempt may run.
    pub const fn duration(&self) -> Duration {
        self.after
    }
}

/// The per-attempt timeout as a layer of a call stack; with `None`, calls pass through.
///
/// Uses `tokio::time`, so it needs a tokio runtime with the time driver, and a paused
/// clock drives it in tests.
#[derive(Debug)]
pub struct Timeout<'a, C, O: ?Sized = NoObserver> {
    inner: C,
    policy: Option<TimeoutPolicy>,
    events: Events<'a, O>,
}

impl<'a, C, O: ?Sized> Timeout<'a, C, O> {
    /// Wraps `inner`, reporting timeouts to `events`.
    pub const fn new(inner: C, policy: Option<TimeoutPolicy>, events: Events<'a, O>) -> Self {
        Timeout {
            inner,
            policy,
            events,
        }
    }
}

impl<I, C: Call<I>, O: Observer + ?Sized> Call<I> for Timeout<'_, C, O> {
    type Output = C::Output;
    type Error = C::Error;

    async fn call(&mut self, input: I) -> Result<C::Output, PolicyError<C::Error>> {
        let Some(policy) = self.policy else {
            return self.inner.call(input).await;
        };
        let timeout = policy.duration();
        if let Some(result) = Lazy::new(self.inner.call(input), timeout).await {
            return result;
        }
        let attempts = self.inner.attempts();
        observe::timed_out(
            self.events.observer(),
            AttemptTimedOut {
                node: self.events.node_name(),
                attempt: attempts,
                timeout,
            },
        );
        Err(PolicyError::Timeout { timeout, attempts })
    }

    fn attempts(&self) -> u32 {
        self.inner.attempts()
    }
}

pin_project_lite::pin_project! {
    /// `inner` with a timeout whose timer is made only if `inner` has to wait: an attempt
    /// that finishes in its first poll reads no clock and touches no timer.
    ///
    /// The timer is boxed, made with it: an attempt that waits allocates once, next to
    /// registering the timer, and every call's future is a pointer long rather than a
    /// `Sleep` (112 bytes on x86-64) longer, bytes each call moves.
    struct Lazy<F> {
        #[pin]
        inner: F,
        after: Duration,
        sleep: Option<Pin<Box<Sleep>>>,
    }
}

impl<F> Lazy<F> {
    fn new(inner: F, after: Duration) -> Self {
        Lazy {
            inner,
            after,
            sleep: None,
        }
    }
}

impl<F: Future> Future for Lazy<F> {
    /// `None` when the timeout passed first.
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(out) = this.inner.poll(cx) {
            return Poll::Ready(Some(out));
        }
        let after = *this.after;
        let sleep = this.sleep.get_or_insert_with(|| {
            Box::pin(tokio::time::sleep_until(super::instant_after(
                Instant::now(),
                after,
            )))
        });
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}
