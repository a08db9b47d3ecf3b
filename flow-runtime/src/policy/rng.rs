//! The random numbers jitter draws: a small trait so tests can inject their own, and
//! SplitMix64 as the default.
//!
//! Jitter needs a few unpredictable-looking numbers per retry, not cryptographic ones, and
//! tests need to replay them exactly. SplitMix64 (Steele, Lea and Flood, "Fast splittable
//! pseudorandom number generators", 2014) is a dozen lines, passes BigCrush, and its state
//! is a counter, so a shared stream of seeds is one atomic add. That is less code to
//! audit than `rand` + `rand_chacha` for this one use, and adds no dependency.

use core::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A source of random 64-bit numbers for jitter.
///
/// Implement it to inject numbers in tests; [`SplitMix64`] is the default.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use typedflow::policy::{Backoff, Jitter, JitterRng, RetryPolicy};
///
/// /// Always draws the largest number: full jitter then waits the whole delay.
/// struct Highest;
/// impl JitterRng for Highest {
///     fn next_u64(&mut self) -> u64 {
///         u64::MAX
///     }
/// }
///
/// let policy = RetryPolicy::new(3)?
///     .with_backoff(Backoff::constant(Duration::from_secs(1)))
///     .with_jitter(Jitter::Full);
/// let delays: Vec<_> = policy.schedule(Highest).collect();
/// assert_eq!(delays, [Duration::from_secs(1); 2]);
/// # Ok::<(), typedflow::policy::ConfigError>(())
/// ```
pub trait JitterRng {
    /// The next number; every value equally likely.
    fn next_u64(&mut self) -> u64;
}

impl<R: JitterRng + ?Sized> JitterRng for &mut R {
    fn next_u64(&mut self) -> u64 {
        (**self).next_u64()
    }
}

/// The golden-ratio increment of SplitMix64.
const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's output function: a bijective mix of the counter.
const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The SplitMix64 generator: seedable, fast, and the same numbers on every platform.
///
/// ```
/// use typedflow::policy::{JitterRng, SplitMix64};
///
/// let mut rng = SplitMix64::new(0);
/// assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator that starts from `seed`; the same seed gives the same numbers.
    pub const fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// A generator seeded from the process's hash randomness (the source `HashMap` uses).
    pub fn from_entropy() -> Self {
        SplitMix64::new(entropy())
    }
}

impl JitterRng for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix(self.state)
    }
}

/// A seed that differs between processes and between calls.
fn entropy() -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(0x6a69_7474_6572_u64)
}

/// A stream of seeds shared by all calls of one node: call `k` that needs jitter gets
/// the `k`-th number of `SplitMix64::new(seed)` as the seed of its own generator.
///
/// The stream is SplitMix64 with its counter in an atomic, so drawing a seed is one
/// `fetch_add` and never blocks.
#[derive(Debug)]
pub(crate) struct Seeds(AtomicU64);

impl Seeds {
    pub(crate) fn new(seed: u64) -> Self {
        Seeds(AtomicU64::new(seed))
    }

    pub(crate) fn from_entropy() -> Self {
        Seeds::new(entropy())
    }

    /// The next seed: the same number `SplitMix64::new(seed).next_u64()` would give.
    pub(crate) fn next(&self) -> u64 {
        mix(self
            .0
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA))
    }
}

/// A generator that takes its seed from a shared [`Seeds`] stream on first use, so a call
/// that never retries draws nothing.
#[derive(Debug)]
pub(crate) struct LazyRng<'a> {
    seeds: &'a Seeds,
    rng: Option<SplitMix64>,
}

impl<'a> LazyRng<'a> {
    pub(crate) fn new(seeds: &'a Seeds) -> Self {
        LazyRng { seeds, rng: None }
    }
}

impl JitterRng for LazyRng<'_> {
    fn next_u64(&mut self) -> u64 {
        let seeds = self.seeds;
        self.rng
            .get_or_insert_with(|| SplitMix64::new(seeds.next()))
            .next_u64()
    }
}

/// A duration drawn uniformly from `lo..=hi` (in nanoseconds), by a fixed-point multiply
/// of the random number, so `0` draws `lo` and `u64::MAX` draws `hi`.
pub(crate) fn uniform(rng: &mut impl JitterRng, lo: Duration, hi: Duration) -> Duration {
    let lo = nanos(lo);
    let hi = nanos(hi);
    if hi <= lo {
        return Duration::from_nanos(lo);
    }
    let span = u128::from(hi - lo) + 1;
    // `r * span < 2^64 * span`, so the shifted product is below `span` and fits in u64.
    let offset = ((u128::from(rng.next_u64()) * span) >> 64) as u64;
    Duration::from_nanos(lo + offset)
}

/// A duration in whole nanoseconds, saturating at about 584 years.
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_the_reference_outputs() {
        // The first outputs of the reference C implementation for seed 0 and for seed
        // 1234567.
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        let mut rng = SplitMix64::new(1234567);
        assert_eq!(rng.next_u64(), 6457827717110365317);
        assert_eq!(rng.next_u64(), 3203168211198807973);
    }

    #[test]
    fn shared_seeds_follow_the_plain_generator() {
        let seeds = Seeds::new(42);
        let mut plain = SplitMix64::new(42);
        for _ in 0..5 {
            assert_eq!(seeds.next(), plain.next_u64());
        }
    }

    #[test]
    fn uniform_spans_its_bounds() {
        struct Fixed(u64);
        impl JitterRng for Fixed {
            fn next_u64(&mut self) -> u64 {
                self.0
            }
        }
        let lo = Duration::from_millis(10);
        let hi = Duration::from_millis(30);
        assert_eq!(uniform(&mut Fixed(0), lo, hi), lo);
        assert_eq!(uniform(&mut Fixed(u64::MAX), lo, hi), hi);
        assert_eq!(
            uniform(&mut Fixed(1 << 63), lo, hi),
            Duration::from_nanos(20_000_000)
        );
        assert_eq!(uniform(&mut Fixed(7), hi, lo), hi);
    }
}
