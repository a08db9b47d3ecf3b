//! How long to wait before each retry: the backoff curve, the jitter applied to it, and
//! the schedule that combines them into an iterator of delays.
//!
//! Everything here is plain arithmetic on `Duration`s and random numbers: no clock, so the
//! schedule is tested by collecting it.

use core::iter::FusedIterator;
use std::time::Duration;

use super::ConfigError;
use super::rng::{JitterRng, nanos, uniform};

/// The delay before each retry, before jitter.
///
/// Retry `n` (counting from 0 for the first retry, which follows the first attempt)
/// waits:
///
/// | backoff | delay before retry `n` |
/// |---|---|
/// | `constant(d)` | `d` |
/// | `linear(d, step)` | `d + n * step` |
/// | `exponential(d, factor, max)` | `min(d * factor^n, max)` |
///
/// Delays are computed in whole nanoseconds (exponential ones rounded to the nearest) and
/// saturate instead of overflowing.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use typedflow::policy::Backoff;
///
/// let ms = Duration::from_millis;
/// let b = Backoff::exponential(ms(100), 2.0, ms(500))?;
/// assert_eq!([b.delay(0), b.delay(1), b.delay(2), b.delay(3)], [ms(100), ms(200), ms(400), ms(500)]);
/// # Ok::<(), typedflow::policy::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Backoff {
    /// The same delay before every retry.
    #[non_exhaustive]
    Constant {
        /// The delay.
        delay: Duration,
    },
    /// A delay that grows by `step` with each retry.
    #[non_exhaustive]
    Linear {
        /// The delay before the first retry.
        initial: Duration,
        /// Added for each further retry.
        step: Duration,
    },
    /// A delay multiplied by `factor` with each retry, up to `max`.
    #[non_exhaustive]
    Exponential {
        /// The delay before the first retry.
        initial: Duration,
        /// The growth per retry, at least 1.
        factor: f64,
        /// The longest delay.
        max: Duration,
    },
}

impl Backoff {
    /// The same `delay` before every retry (zero retries at once).
    pub const fn constant(delay: Duration) -> Backoff {
        Backoff::Constant { delay }
    }

    /// `initial` before the first retry, then `step` more before each further one.
    pub const fn linear(initial: Duration, step: Duration) -> Backoff {
        Backoff::Linear { initial, step }
    }

    /// `initial` before the first retry, multiplied by `factor` for each further one, never
    /// more than `max`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::BadFactor`] if `factor` is below 1, infinite or NaN;
    /// [`ConfigError::MaxBelowMin`] if `max` is below `initial`.
    pub const fn exponential(
        initial: Duration,
        factor: f64,
        max: Duration,
    ) -> Result<Backoff, ConfigError> {
        if !(factor.is_finite() && factor >= 1.0) {
            return Err(ConfigError::BadFactor { factor });
        }
        if max.as_nanos() < initial.as_nanos() {
            return Err(ConfigError::MaxBelowMin {
                min_name: "initial",
                min: initial,
                max_name: "max",
                max,
            });
        }
        Ok(Backoff::Exponential {
            initial,
            factor,
            max,
        })
    }

    /// The delay before retry `n`, counting from 0, without jitter.
    pub fn delay(&self, n: u32) -> Duration {
        match *self {
            Backoff::Constant { delay } => delay,
            Backoff::Linear { initial, step } => initial.saturating_add(step.saturating_mul(n)),
            Backoff::Exponential {
                initial,
                factor,
                max,
            } => {
                let exp = i32::try_from(n).unwrap_or(i32::MAX);
                let d = nanos(initial) as f64 * factor.powi(exp);
                if d.is_finite() && d < nanos(max) as f64 {
                    // `0 <= d < u64::MAX`, so the cast neither saturates nor wraps.
                    Duration::from_nanos(d.round() as u64).min(max)
                } else {
                    max
                }
            }
        }
    }

    /// The longest delay this backoff ever asks for, if it has one: an exponential
    /// backoff's `max`.
    pub fn max_delay(&self) -> Option<Duration> {
        match *self {
            Backoff::Exponential { max, .. } => Some(max),
            Backoff::Constant { .. } | Backoff::Linear { .. } => None,
        }
    }
}

/// How each backoff delay is randomized, so callers that failed together do not retry
/// together (Marc Brooker, "Exponential Backoff and Jitter", AWS Architecture Blog, 2015).
///
/// With `d` the backoff's delay before retry `n`, the delay waited is:
///
/// | jitter | delay waited |
/// |---|---|
/// | `None` | `d` |
/// | `Full` | uniform in `0..=d` |
/// | `Equal` | `d/2` plus uniform in `0..=d - d/2`, so in `d/2..=d` |
/// | `Decorrelated` | uniform in `base..=max(base, 3 * previous)`, then at most `cap` |
///
/// For `Decorrelated`, `base` is the backoff's first delay, `previous` the delay waited
/// before the previous retry (`base` before the first), and `cap` the backoff's `max` for
/// an exponential backoff and `d` otherwise.
///
/// Draws are uniform over whole nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Jitter {
    /// No randomness: wait exactly the backoff's delay.
    None,
    /// Anywhere between zero and the backoff's delay.
    Full,
    /// At least half the backoff's delay, at most all of it.
    Equal,
    /// Between the first delay and three times the previous one, capped.
    Decorrelated,
}

/// The delays before each retry of one call: an iterator that ends (`None`) when the
/// retry policy gives up.
///
/// Made by [`RetryPolicy::schedule`](super::RetryPolicy::schedule); it yields
/// `attempts - 1` delays. Reading it needs no clock, so a schedule is tested by
/// collecting it.
///
/// ```
/// use std::time::Duration;
/// use typedflow::policy::{Backoff, Jitter, RetryPolicy, SplitMix64};
///
/// let policy = RetryPolicy::new(4)?
///     .with_backoff(Backoff::linear(Duration::from_secs(1), Duration::from_secs(2)))
///     .with_jitter(Jitter::None);
/// let delays: Vec<u64> = policy.schedule(SplitMix64::new(7)).map(|d| d.as_secs()).collect();
/// assert_eq!(delays, [1, 3, 5]);
/// # Ok::<(), typedflow::policy::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Schedule<G> {
    backoff: Backoff,
    jitter: Jitter,
    /// Retries made so far: the `n` of the next delay.
    n: u32,
    /// Retries left.
    left: u32,
    /// The previous delay, for decorrelated jitter; `None` before the first retry, which
    /// then starts from the backoff's first delay. Not computed up front: a call that
    /// succeeds at once makes a schedule it never reads, and an exponential backoff's
    /// delay costs a `powi` and a `round` (about 130 instructions a call).
    previous: Option<Duration>,
    rng: G,
}

impl<G: JitterRng> Schedule<G> {
    pub(crate) fn new(backoff: Backoff, jitter: Jitter, retries: u32, rng: G) -> Self {
        Schedule {
            backoff,
            jitter,
            n: 0,
            left: retries,
            previous: None,
            rng,
        }
    }
}

impl<G: JitterRng> Iterator for Schedule<G> {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let d = self.backoff.delay(self.n);
        self.n = self.n.saturating_add(1);
        let waited = match self.jitter {
            Jitter::None => d,
            Jitter::Full => uniform(&mut self.rng, Duration::ZERO, d),
            Jitter::Equal => {
                let half = d / 2;
                half + uniform(&mut self.rng, Duration::ZERO, d - half)
            }
            Jitter::Decorrelated => {
                let base = self.backoff.delay(0);
                let cap = self.backoff.max_delay().unwrap_or(d);
                let hi = self.previous.unwrap_or(base).saturating_mul(3).max(base);
                uniform(&mut self.rng, base, hi).min(cap)
            }
        };
        self.previous = Some(waited);
        Some(waited)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = usize::try_from(self.left).unwrap_or(usize::MAX);
        (left, Some(left))
    }
}

impl<G: JitterRng> ExactSizeIterator for Schedule<G> {}

impl<G: JitterRng> FusedIterator for Schedule<G> {}
