//! Retry: backoff and jitter schedules (no clock), the attempt loop on tokio's paused
//! clock, retry-after hints, `max_elapsed`, and cancellation.

#[allow(dead_code)] // reason: each test file uses some of the shared helpers
mod common;
use common::{DropGuard, secs};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use typedflow::Retryable;
use typedflow::policy::{
    Backoff, ConfigError, Jitter, JitterRng, NodePolicies, Observer, PolicyError, RetryCause,
    RetryPolicy, RetryScheduled, SplitMix64,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The node error of these tests.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
enum Fault {
    #[error("transient")]
    Transient,
    #[error("permanent")]
    Permanent,
    #[error("busy, retry in {0:?}")]
    Busy(Duration),
}

impl Retryable for Fault {
    fn is_retryable(&self) -> bool {
        !matches!(self, Fault::Permanent)
    }
    fn retry_after(&self) -> Option<Duration> {
        match self {
            Fault::Busy(d) => Some(*d),
            _ => None,
        }
    }
}

/// A random source that always draws the same number.
struct Fixed(u64);

impl JitterRng for Fixed {
    fn next_u64(&mut self) -> u64 {
        self.0
    }
}

fn policy(attempts: u32, backoff: Backoff, jitter: Jitter) -> RetryPolicy {
    RetryPolicy::new(attempts)
        .expect("attempts > 0")
        .with_backoff(backoff)
        .with_jitter(jitter)
}

fn exp(initial: Duration, factor: f64, max: Duration) -> Backoff {
    Backoff::exponential(initial, factor, max).expect("valid exponential backoff")
}

/// The delays of one call's schedule, in milliseconds.
fn delays_ms(policy: &RetryPolicy, rng: impl JitterRng) -> Vec<u64> {
    policy
        .schedule(rng)
        .map(|d| u64::try_from(d.as_millis()).expect("small"))
        .collect()
}

// -- schedules, without a clock -------------------------------------------------------

#[test]
fn constant_backoff_waits_the_same_delay_attempts_minus_one_times() {
    let p = policy(4, Backoff::constant(ms(250)), Jitter::None);
    assert_eq!(delays_ms(&p, Fixed(0)), [250, 250, 250]);
    let single = policy(1, Backoff::constant(ms(250)), Jitter::None);
    assert_eq!(
        single.schedule(Fixed(0)).next(),
        None,
        "one attempt, no retry"
    );
}

#[test]
fn linear_backoff_adds_its_step() {
    let p = policy(5, Backoff::linear(ms(100), ms(50)), Jitter::None);
    assert_eq!(delays_ms(&p, Fixed(0)), [100, 150, 200, 250]);
}

#[test]
fn exponential_backoff_multiplies_up_to_its_max() {
    let p = policy(7, exp(ms(100), 2.0, secs(1)), Jitter::None);
    assert_eq!(delays_ms(&p, Fixed(0)), [100, 200, 400, 800, 1000, 1000]);
    let p = policy(5, exp(ms(100), 1.5, secs(60)), Jitter::None);
    let nanos: Vec<u128> = p.schedule(Fixed(0)).map(|d| d.as_nanos()).collect();
    assert_eq!(nanos, [100_000_000, 150_000_000, 225_000_000, 337_500_000]);
    // A huge exponent saturates at the max instead of overflowing.
    assert_eq!(exp(ms(1), 10.0, secs(3)).delay(u32::MAX), secs(3));
}

#[test]
fn jitter_bounds_with_injected_numbers() {
    let b = exp(ms(100), 2.0, secs(1));
    // Full: the lowest draw waits nothing, the highest the whole delay.
    assert_eq!(delays_ms(&policy(4, b, Jitter::Full), Fixed(0)), [0, 0, 0]);
    assert_eq!(
        delays_ms(&policy(4, b, Jitter::Full), Fixed(u64::MAX)),
        [100, 200, 400]
    );
    // Equal: between half and all of it.
    assert_eq!(
        delays_ms(&policy(4, b, Jitter::Equal), Fixed(0)),
        [50, 100, 200]
    );
    assert_eq!(
        delays_ms(&policy(4, b, Jitter::Equal), Fixed(u64::MAX)),
        [100, 200, 400]
    );
    // Decorrelated: base..=3 * previous, capped at the max.
    assert_eq!(
        delays_ms(&policy(5, b, Jitter::Decorrelated), Fixed(0)),
        [100, 100, 100, 100]
    );
    assert_eq!(
        delays_ms(&policy(5, b, Jitter::Decorrelated), Fixed(u64::MAX)),
        [300, 900, 1000, 1000]
    );
    // With a linear backoff the cap is each retry's own delay.
    let linear = Backoff::linear(ms(100), ms(100));
    assert_eq!(
        delays_ms(&policy(4, linear, Jitter::Decorrelated), Fixed(u64::MAX)),
        [100, 200, 300]
    );
}

/// `lo + floor(r * (hi - lo + 1) / 2^64)` in nanoseconds: the documented draw.
fn draw(r: u64, lo: Duration, hi: Duration) -> Duration {
    let (lo, hi) = (lo.as_nanos(), hi.as_nanos());
    let off = (u128::from(r) * (hi - lo + 1)) >> 64;
    Duration::from_nanos(u64::try_from(lo + off).expect("small"))
}

#[test]
fn seeded_jitter_gives_the_exact_sequence() {
    let b = exp(ms(100), 2.0, secs(2));
    let nominal = [ms(100), ms(200), ms(400), ms(800), ms(1600)];
    let seed = 2024;
    let numbers: Vec<u64> = {
        let mut rng = SplitMix64::new(seed);
        (0..5).map(|_| rng.next_u64()).collect()
    };

    let full: Vec<Duration> = policy(6, b, Jitter::Full)
        .schedule(SplitMix64::new(seed))
        .collect();
    let expected: Vec<Duration> = (0..5)
        .map(|i| draw(numbers[i], Duration::ZERO, nominal[i]))
        .collect();
    assert_eq!(full, expected);
    // Pinned, so a change of generator or formula shows up here.
    assert_eq!(
        full.iter().map(Duration::as_nanos).collect::<Vec<_>>(),
        PINNED_FULL
    );

    let equal: Vec<Duration> = policy(6, b, Jitter::Equal)
        .schedule(SplitMix64::new(seed))
        .collect();
    let expected: Vec<Duration> = (0..5)
        .map(|i| nominal[i] / 2 + draw(numbers[i], Duration::ZERO, nominal[i] / 2))
        .collect();
    assert_eq!(equal, expected);

    let decorrelated: Vec<Duration> = policy(6, b, Jitter::Decorrelated)
        .schedule(SplitMix64::new(seed))
        .collect();
    let mut previous = ms(100);
    let expected: Vec<Duration> = numbers
        .iter()
        .map(|&r| {
            previous = draw(r, ms(100), (previous * 3).max(ms(100))).min(secs(2));
            previous
        })
        .collect();
    assert_eq!(decorrelated, expected);
    assert!(decorrelated.iter().all(|d| *d >= ms(100) && *d <= secs(2)));

    // The same seed, the same delays.
    let again: Vec<Duration> = policy(6, b, Jitter::Full)
        .schedule(SplitMix64::new(seed))
        .collect();
    assert_eq!(again, full);
}

const PINNED_FULL: [u128; 5] = [62276554, 19446381, 119430464, 92949384, 1328924694];

#[test]
fn invalid_settings_are_typed_errors() {
    assert_eq!(RetryPolicy::new(0), Err(ConfigError::ZeroAttempts));
    assert_eq!(
        RetryPolicy::default().with_attempts(0),
        Err(ConfigError::ZeroAttempts)
    );
    for factor in [0.5, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            Backoff::exponential(ms(100), factor, secs(1)),
            Err(ConfigError::BadFactor { .. })
        ));
    }
    assert!(matches!(
        Backoff::exponential(secs(2), 2.0, secs(1)),
        Err(ConfigError::MaxBelowMin { .. })
    ));
    assert_eq!(
        RetryPolicy::default().with_max_elapsed(Duration::ZERO),
        Err(ConfigError::ZeroDuration {
            setting: "max_elapsed"
        })
    );
    let err = Backoff::exponential(ms(100), 0.5, secs(1)).expect_err("factor below 1");
    assert_eq!(
        err.to_string(),
        "the factor of an exponential backoff must be a finite number of at least 1.0, not 0.5"
    );
}

#[test]
fn defaults_are_as_documented() {
    let p = RetryPolicy::default();
    assert_eq!(p.attempts(), 3);
    assert_eq!(p.backoff(), exp(ms(100), 2.0, secs(10)));
    assert_eq!(p.jitter(), Jitter::Full);
    assert_eq!(p.max_elapsed(), None);
    assert_eq!(p.max_retry_after(), secs(60));
    assert_eq!(RetryPolicy::new(3), Ok(p));
}

// -- the attempt loop on the paused clock ---------------------------------------------

/// A node that records the instant of each call and answers from a script (the last
/// answer repeats).
#[derive(Clone, Default)]
struct Script {
    calls: Arc<Mutex<Vec<Instant>>>,
}

impl Script {
    fn node(
        &self,
        answers: Vec<Result<u32, Fault>>,
    ) -> impl FnMut(u32) -> std::future::Ready<Result<u32, Fault>> + use<> {
        let calls = Arc::clone(&self.calls);
        move |_input| {
            let mut calls = calls.lock().expect("not poisoned");
            let i = calls.len().min(answers.len() - 1);
            calls.push(Instant::now());
            std::future::ready(answers[i].clone())
        }
    }

    fn count(&self) -> usize {
        self.calls.lock().expect("not poisoned").len()
    }

    /// The time between consecutive calls.
    fn gaps(&self) -> Vec<Duration> {
        let calls = self.calls.lock().expect("not poisoned");
        calls.windows(2).map(|w| w[1] - w[0]).collect()
    }
}

fn ceil_ms(d: Duration) -> Duration {
    ms(u64::try_from(d.as_nanos().div_ceil(1_000_000)).expect("small"))
}

#[tokio::test(start_paused = true)]
async fn the_loop_waits_the_seeded_schedule_on_the_virtual_clock() {
    let p = policy(5, exp(ms(100), 2.0, secs(5)), Jitter::Full);
    let policies = NodePolicies::new("flaky").with_retry(p).with_seed(99);
    let script = Script::default();
    let start = Instant::now();

    let err = policies
        .call(1, script.node(vec![Err(Fault::Transient)]))
        .await
        .expect_err("always fails");

    assert!(matches!(
        err,
        PolicyError::Exhausted {
            source: Fault::Transient,
            attempts: 5
        }
    ));
    // The first call that retries draws from the first seed of the stream.
    let expected: Vec<Duration> = p
        .schedule(SplitMix64::new(SplitMix64::new(99).next_u64()))
        .collect();
    assert_eq!(expected.len(), 4);
    // tokio's timer wakes on whole milliseconds, so each wait ends at the scheduled
    // instant rounded up to the next millisecond.
    let waited: Vec<Duration> = expected.iter().map(|d| ceil_ms(*d)).collect();
    assert_eq!(script.gaps(), waited);
    assert_eq!(start.elapsed(), waited.iter().sum::<Duration>());
}

#[tokio::test(start_paused = true)]
async fn success_after_failures_returns_the_output() {
    let p = policy(4, Backoff::constant(secs(1)), Jitter::None);
    let policies = NodePolicies::new("flaky").with_retry(p);
    let script = Script::default();
    let start = Instant::now();
    let out = policies
        .call(
            1,
            script.node(vec![Err(Fault::Transient), Err(Fault::Transient), Ok(7)]),
        )
        .await;
    assert_eq!(out.expect("third attempt succeeds"), 7);
    assert_eq!(script.count(), 3);
    assert_eq!(start.elapsed(), secs(2));
}

#[tokio::test(start_paused = true)]
async fn non_retryable_errors_are_not_retried() {
    let policies =
        NodePolicies::new("strict").with_retry(policy(5, Backoff::constant(secs(1)), Jitter::None));
    let script = Script::default();
    let start = Instant::now();
    let err = policies
        .call(1, script.node(vec![Err(Fault::Permanent)]))
        .await
        .expect_err("fails");
    assert!(matches!(
        err,
        PolicyError::Node {
            source: Fault::Permanent,
            attempts: 1
        }
    ));
    assert!(!err.retries_exhausted());
    assert_eq!(script.count(), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn without_a_retry_policy_one_attempt_and_no_retryable_bound() {
    /// An error that does not implement `Retryable`.
    #[derive(Debug, thiserror::Error)]
    #[error("plain")]
    struct Plain;

    let policies = NodePolicies::new("plain");
    let calls = AtomicU32::new(0);
    let err = policies
        .call((), |()| {
            calls.fetch_add(1, Ordering::Relaxed);
            async { Err::<(), _>(Plain) }
        })
        .await
        .expect_err("fails");
    assert_eq!(err.attempts(), 1);
    assert!(err.node_error().is_some());
    assert_eq!(calls.load(Ordering::Relaxed), 1);
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_hint_longer_than_the_backoff_sets_the_delay() {
    let p = policy(3, Backoff::constant(secs(1)), Jitter::None);
    let policies = NodePolicies::new("rate_limited").with_retry(p);
    let script = Script::default();
    let out = policies
        .call(
            1,
            script.node(vec![
                Err(Fault::Busy(secs(7))),
                Err(Fault::Busy(ms(100))),
                Ok(3),
            ]),
        )
        .await;
    assert_eq!(out.expect("third attempt succeeds"), 3);
    // 7 s as asked; then the backoff's 1 s, which is longer than the 100 ms asked.
    assert_eq!(script.gaps(), [secs(7), secs(1)]);
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_hint_above_the_cap_stops_without_waiting() {
    let p = policy(5, Backoff::constant(secs(1)), Jitter::None).with_max_retry_after(secs(60));
    let policies = NodePolicies::new("rate_limited").with_retry(p);
    let script = Script::default();
    let start = Instant::now();
    let err = policies
        .call(1, script.node(vec![Err(Fault::Busy(secs(61)))]))
        .await
        .expect_err("gives up");
    assert!(matches!(
        err,
        PolicyError::Exhausted {
            source: Fault::Busy(_),
            attempts: 1
        }
    ));
    assert_eq!(script.count(), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);

    // At the cap exactly, the hint is honoured.
    let script = Script::default();
    let out = policies
        .call(1, script.node(vec![Err(Fault::Busy(secs(60))), Ok(1)]))
        .await;
    assert_eq!(out.expect("second attempt succeeds"), 1);
    assert_eq!(script.gaps(), [secs(60)]);
}

#[tokio::test(start_paused = true)]
async fn max_elapsed_stops_scheduling_retries_that_would_end_after_it() {
    let p = policy(10, Backoff::constant(secs(4)), Jitter::None)
        .with_max_elapsed(secs(10))
        .expect("positive");
    let policies = NodePolicies::new("bounded").with_retry(p);
    let script = Script::default();
    let start = Instant::now();
    let err = policies
        .call(1, script.node(vec![Err(Fault::Transient)]))
        .await
        .expect_err("gives up");
    // Calls at 0, 4 and 8 s; a wait to 12 s would pass the 10 s bound.
    assert!(matches!(err, PolicyError::Exhausted { attempts: 3, .. }));
    assert_eq!(script.gaps(), [secs(4), secs(4)]);
    assert_eq!(start.elapsed(), secs(8));
}

#[tokio::test(start_paused = true)]
async fn max_elapsed_cuts_the_attempt_in_progress() {
    let p = policy(3, Backoff::constant(secs(1)), Jitter::None)
        .with_max_elapsed(secs(10))
        .expect("positive");
    let policies = NodePolicies::new("slow").with_retry(p);
    let start = Instant::now();
    let err = policies
        .call(1, |_| async {
            tokio::time::sleep(secs(3600)).await;
            Ok::<u32, Fault>(1)
        })
        .await
        .expect_err("cut");
    assert!(matches!(
        err,
        PolicyError::Elapsed {
            max_elapsed,
            attempts: 1
        } if max_elapsed == secs(10)
    ));
    assert!(err.retries_exhausted());
    assert_eq!(start.elapsed(), secs(10));
}

/// An input that counts its clones.
#[derive(Debug)]
struct Counted(Arc<AtomicU32>);

impl Clone for Counted {
    fn clone(&self) -> Self {
        self.0.fetch_add(1, Ordering::Relaxed);
        Counted(Arc::clone(&self.0))
    }
}

#[tokio::test(start_paused = true)]
async fn each_attempt_but_the_last_gets_a_clone_of_the_input() {
    let p = policy(4, Backoff::constant(ms(1)), Jitter::None);
    let policies = NodePolicies::new("clones").with_retry(p);
    let clones = Arc::new(AtomicU32::new(0));
    let err = policies
        .call(Counted(Arc::clone(&clones)), |_input: Counted| async {
            Err::<(), _>(Fault::Transient)
        })
        .await
        .expect_err("fails");
    assert_eq!(err.attempts(), 4);
    assert_eq!(clones.load(Ordering::Relaxed), 3);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_call_stops_further_attempts() {
    // Each attempt takes 1 s and fails; the backoff is 1 s: attempts run 0-1, 2-3, 4-5 s.
    let p = policy(5, Backoff::constant(secs(1)), Jitter::None);
    let policies = NodePolicies::new("dropped").with_retry(p);
    let calls = AtomicU32::new(0);
    let dropped_early = AtomicU32::new(0);
    let node = |_: u32| {
        calls.fetch_add(1, Ordering::Relaxed);
        let dropped_early = &dropped_early;
        async move {
            let mut guard = DropGuard {
                dropped_early,
                done: false,
            };
            tokio::time::sleep(secs(1)).await;
            guard.done = true;
            Err::<u32, _>(Fault::Transient)
        }
    };

    // Dropped during the backoff wait after the first attempt.
    let cut = tokio::time::timeout(ms(1500), policies.call(1, node)).await;
    assert!(cut.is_err(), "the timeout dropped the call");
    tokio::time::sleep(secs(3600)).await;
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    assert_eq!(dropped_early.load(Ordering::Relaxed), 0);

    // Dropped during the second attempt: that attempt's future is dropped too.
    calls.store(0, Ordering::Relaxed);
    let cut = tokio::time::timeout(ms(2500), policies.call(1, node)).await;
    assert!(cut.is_err(), "the timeout dropped the call");
    tokio::time::sleep(secs(3600)).await;
    assert_eq!(calls.load(Ordering::Relaxed), 2);
    assert_eq!(dropped_early.load(Ordering::Relaxed), 1);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_token_ends_the_call_and_no_attempt_follows() {
    let p = policy(5, Backoff::constant(secs(1)), Jitter::None);
    let policies = NodePolicies::new("cancelled").with_retry(p);
    let calls = AtomicU32::new(0);
    let node = |_: u32| {
        calls.fetch_add(1, Ordering::Relaxed);
        async {
            tokio::time::sleep(secs(1)).await;
            Err::<u32, _>(Fault::Transient)
        }
    };

    let token = CancellationToken::new();
    let canceller = {
        let token = token.clone();
        tokio::spawn(async move {
            tokio::time::sleep(ms(2500)).await;
            token.cancel();
        })
    };
    let start = Instant::now();
    let err = policies
        .call_cancellable(&token, 1, node)
        .await
        .expect_err("cancelled");
    assert!(matches!(err, PolicyError::Cancelled { attempts: 2 }));
    assert_eq!(start.elapsed(), ms(2500));
    canceller.await.expect("the canceller ran");
    tokio::time::sleep(secs(3600)).await;
    assert_eq!(calls.load(Ordering::Relaxed), 2);

    // A token cancelled before the call: the node is not called.
    let err = policies
        .call_cancellable(&token, 1, node)
        .await
        .expect_err("cancelled");
    assert!(matches!(err, PolicyError::Cancelled { attempts: 0 }));
    assert_eq!(calls.load(Ordering::Relaxed), 2);
}

#[derive(Default)]
struct Retries(Mutex<Vec<RetryScheduled>>);

impl Observer for Retries {
    fn on_retry(&self, event: &RetryScheduled) {
        self.0.lock().expect("not poisoned").push(event.clone());
    }
}

#[tokio::test(start_paused = true)]
async fn every_retry_is_reported_to_the_observer() {
    let observer = Arc::new(Retries::default());
    let p = policy(3, Backoff::linear(secs(1), secs(1)), Jitter::None);
    let policies = NodePolicies::new("observed")
        .with_retry(p)
        .with_observer(Arc::clone(&observer));
    let script = Script::default();
    let _ = policies
        .call(
            1,
            script.node(vec![Err(Fault::Transient), Err(Fault::Busy(secs(5)))]),
        )
        .await;
    let events = observer.0.lock().expect("not poisoned");
    let seen: Vec<_> = events
        .iter()
        .map(|e| (e.node, e.attempt, e.delay, e.from_hint, e.cause))
        .collect();
    assert_eq!(
        seen,
        [
            ("observed", 1, secs(1), false, RetryCause::Error),
            ("observed", 2, secs(5), true, RetryCause::Error),
        ]
    );
}

#[test]
fn the_call_future_is_send_when_the_node_future_is() {
    fn assert_send<T: Send>(_: &T) {}
    let policies = NodePolicies::new("send").with_retry(RetryPolicy::default());
    let fut = policies.call(
        String::new(),
        |s: String| async move { Ok::<_, Fault>(s.len()) },
    );
    assert_send(&fut);
    let token = CancellationToken::new();
    let plain = NodePolicies::new("send");
    let fut = plain.call_cancellable(&token, 1u8, |x| async move { Ok::<_, std::io::Error>(x) });
    assert_send(&fut);
}
