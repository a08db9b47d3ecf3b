//! The rate limit: the policy ([`RateLimit`]) and its mechanism, a token bucket of the
//! `governor` crate read on tokio's clock, so `tokio::time::pause` drives it in tests.

use std::num::NonZeroU32;
use std::sync::OnceLock;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter as Bucket};

use super::ConfigError;
use super::observe::{self, Events, Observer, RateLimited};

/// At most `count` calls of a node per `per`, across all runs of a flow instance: a token
/// bucket that holds `count` permits and refills one every `per / count`.
///
/// A call waits (without polling the node) until a permit is free; every attempt of a
/// retried call takes one. Unlike [`ConcurrencyLimit`](super::ConcurrencyLimit), which
/// bounds calls in flight, this bounds how many start in a period: what providers bill
/// and throttle by.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use typedflow::policy::RateLimit;
///
/// let limit = RateLimit::new(10, Duration::from_secs(1))?;
/// assert_eq!((limit.count(), limit.per()), (10, Duration::from_secs(1)));
/// assert!(RateLimit::new(0, Duration::from_secs(1)).is_err());
/// # Ok::<(), typedflow::policy::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimit {
    count: NonZeroU32,
    per: Duration,
}

impl RateLimit {
    /// At most `count` calls per `per`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroRate`] if `count` is 0, [`ConfigError::ZeroDuration`] if `per`
    /// is zero.
    pub const fn new(count: u32, per: Duration) -> Result<Self, ConfigError> {
        let Some(count) = NonZeroU32::new(count) else {
            return Err(ConfigError::ZeroRate);
        };
        if per.is_zero() {
            return Err(ConfigError::ZeroDuration {
                setting: "rate_limit",
            });
        }
        Ok(RateLimit { count, per })
    }

    /// How many calls a period allows.
    pub const fn count(&self) -> u32 {
        self.count.get()
    }

    /// The period.
    pub const fn per(&self) -> Duration {
        self.per
    }

    /// The bucket to share between all runs, full.
    pub(crate) fn bucket(&self) -> RateLimiter {
        // `per / count` is at least 1 ns, so the quota exists.
        let period = (self.per / self.count.get()).max(Duration::from_nanos(1));
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(self.count))
            .allow_burst(self.count);
        let clock = TokioClock::default();
        RateLimiter {
            bucket: Bucket::direct_with_clock(quota, clock.clone()),
            clock,
        }
    }
}

/// Tokio's clock as a `governor` clock: the time since the clock was first read, so a
/// bucket built outside a runtime reads the runtime's (maybe paused) clock once used.
#[derive(Debug, Clone, Default)]
struct TokioClock {
    start: std::sync::Arc<OnceLock<tokio::time::Instant>>,
}

impl Clock for TokioClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        let now = tokio::time::Instant::now();
        now.saturating_duration_since(*self.start.get_or_init(|| now))
    }
}

/// A [`RateLimit`]'s bucket, shared by every call of the node.
pub(crate) struct RateLimiter {
    bucket: Bucket<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Duration>>,
    clock: TokioClock,
}

impl core::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RateLimiter").finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// Waits for a permit; reports the wait, if there was one.
    pub(crate) async fn acquire<O: Observer + ?Sized>(&self, events: Events<'_, O>) {
        let mut waited = Duration::ZERO;
        loop {
            match self.bucket.check() {
                Ok(()) => break,
                Err(not_until) => {
                    let wait = not_until.wait_time_from(self.clock.now());
                    waited += wait;
                    // Boxed: the future of every call through the limit would
                    // otherwise hold a timer (112 bytes on x86-64) inline.
                    Box::pin(tokio::time::sleep(wait)).await;
                }
            }
        }
        if !waited.is_zero() {
            observe::rate_limited(
                events.observer(),
                RateLimited {
                    node: events.node_name(),
                    waited,
                },
            );
        }
    }
}
