//! The concurrency limit: the policy ([`ConcurrencyLimit`]) and its mechanism
//! ([`Limit`]), on a tokio [`Semaphore`].

use tokio::sync::Semaphore;

use super::observe::{Events, NoObserver, Observer};
use super::{Call, ConfigError, PolicyError, RateLimiter};

/// At most this many calls of a node in flight at once, across all runs of a flow
/// instance.
///
/// A call beyond the limit waits (without polling the node) until a call in flight ends;
/// waiting calls go through in the order they arrived. A permit is held for one attempt,
/// not across a retry's backoff delay, and is given back when the attempt ends, fails or
/// is dropped. Waiting is bounded only by the deadlines around it (a retry policy's
/// `max_elapsed`, a run's deadline) or by cancellation.
///
/// # Example
///
/// ```
/// use typedflow::policy::ConcurrencyLimit;
///
/// let limit = ConcurrencyLimit::new(4)?;
/// assert_eq!(limit.get(), 4);
/// assert_eq!(limit.semaphore().available_permits(), 4);
/// assert!(ConcurrencyLimit::new(0).is_err());
/// # Ok::<(), typedflow::policy::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConcurrencyLimit {
    limit: usize,
}

impl ConcurrencyLimit {
    /// At most `limit` calls in flight.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroConcurrency`] if `limit` is 0,
    /// [`ConfigError::ConcurrencyTooHigh`] above [`Semaphore::MAX_PERMITS`].
    pub const fn new(limit: usize) -> Result<Self, ConfigError> {
        if limit == 0 {
            return Err(ConfigError::ZeroConcurrency);
        }
        if limit > Semaphore::MAX_PERMITS {
            return Err(ConfigError::ConcurrencyTooHigh {
                limit,
                max: Semaphore::MAX_PERMITS,
            });
        }
        Ok(ConcurrencyLimit { limit })
    }

    /// The limit.
    pub const fn get(&self) -> usize {
        self.limit
    }

    /// A semaphore with one permit per call allowed in flight: the state to share
    /// between all runs.
    pub fn semaphore(&self) -> Semaphore {
        Semaphore::new(self.limit)
    }
}

/// The concurrency limit as a layer of a call stack; with `None`, calls pass through.
#[derive(Debug)]
pub struct Limit<'a, C, O: ?Sized = NoObserver> {
    inner: C,
    semaphore: Option<&'a Semaphore>,
    rate: Option<&'a RateLimiter>,
    events: Events<'a, O>,
}

impl<'a, C> Limit<'a, C> {
    /// Wraps `inner`: each call holds a permit of `semaphore` while it runs.
    pub const fn new(inner: C, semaphore: Option<&'a Semaphore>) -> Self {
        Limit {
            inner,
            semaphore,
            rate: None,
            events: Events::node(""),
        }
    }
}

impl<'a, C, O: ?Sized> Limit<'a, C, O> {
    /// Also waits, before each call, for a permit of the node's rate limit, reporting a
    /// wait to `events`.
    pub(crate) fn with_rate<O2: ?Sized>(
        self,
        rate: Option<&'a RateLimiter>,
        events: Events<'a, O2>,
    ) -> Limit<'a, C, O2> {
        Limit {
            inner: self.inner,
            semaphore: self.semaphore,
            rate,
            events,
        }
    }
}

impl<I, C: Call<I>, O: Observer + ?Sized> Call<I> for Limit<'_, C, O> {
    type Output = C::Output;
    type Error = C::Error;

    async fn call(&mut self, input: I) -> Result<C::Output, PolicyError<C::Error>> {
        // A rate-limit permit first: a call waiting for one holds no concurrency permit.
        if let Some(rate) = self.rate {
            rate.acquire(self.events).await;
        }
        // A free permit is taken with one compare-and-swap; waiting builds a queue entry.
        // Permits are handed to waiters as they are released, so a free permit means no
        // one is queued and taking it keeps the order of arrival. `acquire` fails only on
        // a closed semaphore: nothing here closes it, but if its owner did, the call goes
        // through unlimited rather than failing.
        let _permit = match self.semaphore {
            None => None,
            Some(semaphore) => match semaphore.try_acquire() {
                Ok(permit) => Some(permit),
                Err(_) => semaphore.acquire().await.ok(),
            },
        };
        // The inner call in one place, inlined once into this layer's future.
        self.inner.call(input).await
    }

    fn attempts(&self) -> u32 {
        self.inner.attempts()
    }
}
