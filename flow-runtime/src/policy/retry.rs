//! Retries: the policy ([`RetryPolicy`]), its absence ([`NoRetry`]), and the mechanism
//! ([`Retry`]) that runs the attempt loop.

use std::time::Duration;

use tokio::time::Instant;

use super::backoff::{Backoff, Jitter, Schedule};
use super::observe::{self, Events, NoObserver, Observer, RetryCause, RetryScheduled};
use super::rng::JitterRng;
use super::{Call, ConfigError, PolicyError};
use crate::Retryable;

/// When and how often a failed node call is tried again.
///
/// A call makes at most `attempts` attempts. After a failed attempt it retries only if:
///
/// - the failure is retryable: a node error whose [`Retryable::is_retryable`] is `true`,
///   or a per-attempt timeout (an open circuit, a cancellation or a non-retryable error
///   end the call at once);
/// - attempts are left;
/// - the error's [`Retryable::retry_after`] hint, if any, is at most `max_retry_after`
///   (a server that asks for a longer wait is not waited for: the call ends);
/// - the wait ends before `max_elapsed` (counted from the start of the call), if set.
///
/// It then waits the next delay of its [`Schedule`] (the backoff's delay with jitter), or
/// the retry-after hint if that is longer, and calls the node again with a clone of the
/// input (the last attempt gets the input itself). When `max_elapsed` passes during an
/// attempt, that attempt is dropped and the call fails with [`PolicyError::Elapsed`].
///
/// # Default
///
/// `attempts = 3`, `backoff = exponential(100 ms, 2.0, max = 10 s)`, `jitter = Full`,
/// `max_elapsed = None` (no limit), `max_retry_after = 60 s`.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use typedflow::policy::{Backoff, Jitter, RetryPolicy};
///
/// let ms = Duration::from_millis;
/// let policy = RetryPolicy::new(4)?
///     .with_backoff(Backoff::exponential(ms(200), 2.0, Duration::from_secs(5))?)
///     .with_jitter(Jitter::Equal)
///     .with_max_elapsed(Duration::from_secs(30))?;
/// assert_eq!(policy.attempts(), 4);
/// # Ok::<(), typedflow::policy::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    attempts: u32,
    backoff: Backoff,
    jitter: Jitter,
    max_elapsed: Option<Duration>,
    max_retry_after: Duration,
}

impl RetryPolicy {
    /// The defaults, with `attempts` attempts in all (the first call included).
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroAttempts`] if `attempts` is 0.
    pub const fn new(attempts: u32) -> Result<Self, ConfigError> {
        if attempts == 0 {
            return Err(ConfigError::ZeroAttempts);
        }
        Ok(RetryPolicy {
            attempts,
            ..DEFAULT
        })
    }

    /// Sets the number of attempts, the first call included.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroAttempts`] if `attempts` is 0.
    pub const fn with_attempts(self, attempts: u32) -> Result<Self, ConfigError> {
        if attempts == 0 {
            return Err(ConfigError::ZeroAttempts);
        }
        Ok(RetryPolicy { attempts, ..self })
    }

    /// Sets the backoff curve.
    #[must_use]
    pub const fn with_backoff(self, backoff: Backoff) -> Self {
        RetryPolicy { backoff, ..self }
    }

    /// Sets the jitter.
    #[must_use]
    pub const fn with_jitter(self, jitter: Jitter) -> Self {
        RetryPolicy { jitter, ..self }
    }

    /// Bounds a whole call, all attempts and waits included.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroDuration`] if `max_elapsed` is zero.
    pub const fn with_max_elapsed(self, max_elapsed: Duration) -> Result<Self, ConfigError> {
        if max_elapsed.is_zero() {
            return Err(ConfigError::ZeroDuration {
                setting: "max_elapsed",
            });
        }
        Ok(RetryPolicy {
            max_elapsed: Some(max_elapsed),
            ..self
        })
    }

    /// Sets the longest retry-after hint that is waited for; a longer one ends the call.
    #[must_use]
    pub const fn with_max_retry_after(self, max_retry_after: Duration) -> Self {
        RetryPolicy {
            max_retry_after,
            ..self
        }
    }

    /// The number of attempts, the first call included.
    pub const fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The backoff curve.
    pub const fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// The jitter.
    pub const fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// The bound on a whole call, if any.
    pub const fn max_elapsed(&self) -> Option<Duration> {
        self.max_elapsed
    }

    /// The longest retry-after hint waited for.
    pub const fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    /// The delays before each retry of one call, drawing jitter from `rng`: `attempts - 1`
    /// delays, then `None`.
    pub fn schedule<G: JitterRng>(&self, rng: G) -> Schedule<G> {
        Schedule::new(
            self.backoff,
            self.jitter,
            self.attempts.saturating_sub(1),
            rng,
        )
    }
}

/// The documented defaults (see `# Default` on [`RetryPolicy`]).
const DEFAULT: RetryPolicy = RetryPolicy {
    attempts: 3,
    backoff: Backoff::Exponential {
        initial: Duration::from_millis(100),
        factor: 2.0,
        max: Duration::from_secs(10),
    },
    jitter: Jitter::Full,
    max_elapsed: None,
    max_retry_after: Duration::from_secs(60),
};

impl Default for RetryPolicy {
    fn default() -> Self {
        DEFAULT
    }
}

/// No retry policy: each call makes one attempt, and the node's error type need not
/// implement [`Retryable`] nor its input `Clone`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct NoRetry;

/// The retry loop as a layer of a call stack.
///
/// Put it outside the layers it repeats (timeout, breaker, limit). It needs the input to
/// be `Clone` and the node's error to be [`Retryable`].
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use typedflow::policy::{Backoff, Call, Events, FnCall, Jitter, Retry, RetryPolicy, SplitMix64};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let policy = RetryPolicy::new(3)?
///     .with_backoff(Backoff::constant(Duration::from_secs(1)))
///     .with_jitter(Jitter::None);
/// let mut calls = 0;
/// let flaky = FnCall::new(|x: u32| {
///     calls += 1;
///     let ok = calls == 3;
///     async move { if ok { Ok(x) } else { Err(std::io::Error::from(std::io::ErrorKind::TimedOut)) } }
/// });
/// let mut retry = Retry::new(flaky, &policy, SplitMix64::new(1), Events::node("flaky"));
/// let start = tokio::time::Instant::now();
/// assert_eq!(retry.call(7).await?, 7);
/// assert_eq!(retry.attempts(), 3);
/// assert_eq!(start.elapsed(), Duration::from_secs(2));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Retry<'a, C, G, O: ?Sized = NoObserver> {
    inner: C,
    policy: &'a RetryPolicy,
    rng: G,
    events: Events<'a, O>,
}

impl<'a, C, G, O: ?Sized> Retry<'a, C, G, O> {
    /// Wraps `inner`, retried by `policy` with jitter drawn from `rng`.
    pub const fn new(inner: C, policy: &'a RetryPolicy, rng: G, events: Events<'a, O>) -> Self {
        Retry {
            inner,
            policy,
            rng,
            events,
        }
    }
}

impl<I, C, G, O> Call<I> for Retry<'_, C, G, O>
where
    I: Clone,
    C: Call<I>,
    C::Error: Retryable,
    G: JitterRng,
    O: Observer + ?Sized,
{
    type Output = C::Output;
    type Error = C::Error;

    async fn call(&mut self, input: I) -> Result<C::Output, PolicyError<C::Error>> {
        let Retry {
            inner,
            policy,
            rng,
            events,
        } = self;
        // Read the clock only when a bound needs it.
        let deadline = policy
            .max_elapsed
            .map(|d| (super::instant_after(Instant::now(), d), d));
        let mut schedule = policy.schedule(rng);
        let mut tries: u32 = 1;
        loop {
            if tries >= policy.attempts {
                // The last attempt takes the input itself.
                let result = attempt(inner, input, deadline).await;
                return result.map_err(exhausted);
            }
            let err = match attempt(inner, input.clone(), deadline).await {
                Ok(out) => return Ok(out),
                Err(err) => err,
            };
            let (cause, hint) = match &err {
                PolicyError::Node { source, .. } if source.is_retryable() => {
                    (RetryCause::Error, source.retry_after())
                }
                PolicyError::Timeout { .. } => (RetryCause::Timeout, None),
                _ => return Err(err),
            };
            let Some(scheduled) = schedule.next() else {
                return Err(exhausted(err));
            };
            let delay = match hint {
                Some(hint) if hint > policy.max_retry_after => return Err(exhausted(err)),
                Some(hint) => hint.max(scheduled),
                None => scheduled,
            };
            if let Some((deadline, _)) = deadline
                && super::instant_after(Instant::now(), delay) >= deadline
            {
                return Err(exhausted(err));
            }
            observe::retry_scheduled(
                events.observer(),
                RetryScheduled {
                    node: events.node_name(),
                    attempt: tries,
                    delay,
                    from_hint: hint.is_some_and(|h| h >= scheduled),
                    cause,
                },
            );
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            tries += 1;
        }
    }

    fn attempts(&self) -> u32 {
        self.inner.attempts()
    }
}

/// One attempt, cut at the call's deadline if it has one.
async fn attempt<I, C: Call<I>>(
    inner: &mut C,
    input: I,
    deadline: Option<(Instant, Duration)>,
) -> Result<C::Output, PolicyError<C::Error>> {
    let Some((at, max_elapsed)) = deadline else {
        return inner.call(input).await;
    };
    match tokio::time::timeout_at(at, inner.call(input)).await {
        Ok(result) => result,
        Err(_) => Err(PolicyError::Elapsed {
            max_elapsed,
            attempts: inner.attempts(),
        }),
    }
}

/// The retry policy gives up on `err`: a retryable node error becomes `Exhausted`.
fn exhausted<E: Retryable>(err: PolicyError<E>) -> PolicyError<E> {
    match err {
        PolicyError::Node { source, attempts } if source.is_retryable() => {
            PolicyError::Exhausted { source, attempts }
        }
        other => other,
    }
}
