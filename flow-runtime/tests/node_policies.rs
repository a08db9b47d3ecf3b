//! `#[node(retry(..), timeout = .., circuit_breaker(..), concurrency = N)]` end to end,
//! on tokio's paused clock.

#![allow(clippy::unwrap_used)] // reason: test helpers outside #[test] fns

use std::error::Error as _;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::time::{Instant, sleep};
use typedflow::Failed;
use typedflow::policy::PolicyError;
use typedflow::prelude::*;

#[derive(Default)]
struct Counters {
    calls: AtomicU32,
    fail_first: AtomicU32,
    now: AtomicU32,
    max: AtomicU32,
}

#[derive(Deps, Default)]
struct D {
    counters: Counters,
}

/// Fails with a retryable error while `fail_first` is above zero.
#[node(retry(attempts = 3, backoff = constant(1s), jitter = none))]
async fn flaky(x: u32, counters: &Counters) -> Result<u32, std::io::Error> {
    counters.calls.fetch_add(1, Ordering::SeqCst);
    let left = counters.fail_first.load(Ordering::SeqCst);
    if left > 0 {
        counters.fail_first.store(left - 1, Ordering::SeqCst);
        return Err(std::io::Error::from(std::io::ErrorKind::TimedOut));
    }
    Ok(x + 1)
}

#[flow(deps = D)]
graph! {
    Retrying(u32) -> u32 {
        START -> flaky -> END;
    }
}

fn deps(fail_first: u32) -> D {
    let d = D::default();
    d.counters.fail_first.store(fail_first, Ordering::SeqCst);
    d
}

#[tokio::test(start_paused = true)]
async fn a_node_retries_by_its_attribute() {
    let flow = Retrying::new(deps(2));
    let begin = Instant::now();
    assert_eq!(flow.run(1).await.unwrap(), 2);
    assert_eq!(
        begin.elapsed(),
        Duration::from_secs(2),
        "two constant 1 s waits"
    );
    assert_eq!(flow.deps().counters.calls.load(Ordering::SeqCst), 3);
}

/// The same node retried at once: a zero backoff is allowed.
#[node(retry(attempts = 3, backoff = constant(0ms)))]
async fn eager(x: u32, counters: &Counters) -> Result<u32, std::io::Error> {
    flaky(x, counters).await
}

#[flow(deps = D)]
graph! {
    RetryingAtOnce(u32) -> u32 {
        START -> eager -> END;
    }
}

#[tokio::test(start_paused = true)]
async fn a_zero_backoff_retries_at_once() {
    let flow = RetryingAtOnce::new(deps(2));
    let begin = Instant::now();
    assert_eq!(flow.run(1).await.unwrap(), 2);
    assert_eq!(begin.elapsed(), Duration::ZERO);
    assert_eq!(flow.deps().counters.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn exhausted_retries_name_the_attempts() {
    let flow = Retrying::new(deps(10));
    let err = flow.run(1).await.unwrap_err();
    assert!(
        matches!(err, FlowError::Node { attempts: 3, .. }),
        "{err:?}"
    );
    assert!(err.to_string().ends_with("after 3 attempt(s)"), "{err}");
    let policy = err
        .source()
        .unwrap()
        .downcast_ref::<PolicyError<std::io::Error>>()
        .unwrap();
    assert!(policy.retries_exhausted());
}

#[node(timeout = 1s)]
async fn slow(x: u32) -> u32 {
    sleep(Duration::from_secs(5)).await;
    x
}

graph! {
    TimesOut(u32) -> u32 {
        START -> slow -> END;
    }
}

#[tokio::test(start_paused = true)]
async fn a_node_times_out_at_its_virtual_instant() {
    let begin = Instant::now();
    let err = TimesOut::new(()).run(1).await.unwrap_err();
    assert_eq!(begin.elapsed(), Duration::from_secs(1));
    let policy = err
        .node_error()
        .unwrap()
        .downcast_ref::<PolicyError<std::convert::Infallible>>()
        .unwrap();
    assert!(policy.is_timeout());
}

#[node(circuit_breaker(failures = 2, cool_down = 10s))]
async fn guarded(x: u32, counters: &Counters) -> Result<u32, std::io::Error> {
    counters.calls.fetch_add(1, Ordering::SeqCst);
    if counters.fail_first.load(Ordering::SeqCst) > 0 {
        return Err(std::io::Error::other("down"));
    }
    Ok(x)
}

#[node]
async fn fallback(failed: Failed<u32, PolicyError<std::io::Error>>) -> u32 {
    if failed.error.is_circuit_open() {
        1000 + failed.input
    } else {
        2000 + failed.input
    }
}

#[flow(deps = D)]
graph! {
    Guarded(u32) -> u32 {
        START -> guarded -> END;
        guarded !-> fallback;
        fallback -> END;
    }
}

#[tokio::test(start_paused = true)]
async fn the_breaker_is_shared_by_runs_and_its_error_is_routable() {
    let flow = Guarded::new(deps(1));
    // Two failures in a row, in two runs, open the breaker...
    assert_eq!(flow.run(1).await.unwrap(), 2001);
    assert_eq!(flow.run(2).await.unwrap(), 2002);
    // ...so the third run fails fast, without calling the node.
    assert_eq!(flow.run(3).await.unwrap(), 1003);
    assert_eq!(flow.deps().counters.calls.load(Ordering::SeqCst), 2);
    // After the cool-down one probe goes through; it succeeds and closes the breaker.
    flow.deps().counters.fail_first.store(0, Ordering::SeqCst);
    sleep(Duration::from_secs(10)).await;
    assert_eq!(flow.run(4).await.unwrap(), 4);
    assert_eq!(flow.run(5).await.unwrap(), 5);
    assert_eq!(flow.deps().counters.calls.load(Ordering::SeqCst), 4);
}

#[node(concurrency = 2)]
async fn limited(x: u32, counters: &Counters) -> u32 {
    let now = counters.now.fetch_add(1, Ordering::SeqCst) + 1;
    counters.max.fetch_max(now, Ordering::SeqCst);
    sleep(Duration::from_secs(1)).await;
    counters.now.fetch_sub(1, Ordering::SeqCst);
    x
}

#[flow(deps = D)]
graph! {
    Limited(u32) -> u32 {
        START -> limited -> END;
    }
}

#[tokio::test(start_paused = true)]
async fn concurrency_caps_calls_across_runs() {
    let flow = Limited::new(D::default());
    let begin = Instant::now();
    let runs: Vec<u32> = futures_util::future::join_all((0..6).map(|i| flow.run(i).into_future()))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(runs, [0, 1, 2, 3, 4, 5]);
    assert_eq!(flow.deps().counters.max.load(Ordering::SeqCst), 2);
    assert_eq!(
        begin.elapsed(),
        Duration::from_secs(3),
        "6 calls, 2 at a time, 1 s each"
    );
}

/// At most 2 calls per second, across every run of the flow instance.
#[node(rate_limit = 2/s)]
async fn metered(x: u32) -> u32 {
    x
}

graph! {
    Metered(u32) -> u32 {
        START -> metered -> END;
    }
}

#[tokio::test(start_paused = true)]
async fn a_rate_limit_is_shared_by_the_runs_and_streamed_as_events() {
    use futures_util::StreamExt as _;
    let flow = Metered::new(());
    let begin = Instant::now();
    let (a, b, c) = tokio::join!(flow.run(1), flow.run(2), flow.run(3));
    assert_eq!((a.unwrap(), b.unwrap(), c.unwrap()), (1, 2, 3));
    assert_eq!(
        begin.elapsed(),
        Duration::from_millis(500),
        "the third run waited"
    );
    // The bucket is empty again after two immediate runs: the next one waits, and says so.
    flow.run(4).await.unwrap();
    let events: Vec<_> = flow.run(5).stream().collect().await;
    let waited: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            typedflow::events::Event::RateLimited { node, waited, .. } => Some((*node, *waited)),
            _ => None,
        })
        .collect();
    assert_eq!(waited, [("metered", Duration::from_millis(500))]);
}

/// A rate-limited API's error: retryable, asking to wait `after` seconds.
#[derive(Debug, thiserror::Error)]
#[error("slow down")]
struct SlowDown {
    after: u64,
}

impl typedflow::Retryable for SlowDown {
    fn is_retryable(&self) -> bool {
        true
    }
    fn retry_after(&self) -> Option<Duration> {
        Some(Duration::from_secs(self.after))
    }
}

/// Asks to wait `x` seconds once, then answers.
#[node(retry(attempts = 3, backoff = constant(0ms), jitter = none, max_retry_after = 5s))]
async fn throttled(x: u64, counters: &Counters) -> Result<u64, SlowDown> {
    if counters.calls.fetch_add(1, Ordering::SeqCst) == 0 {
        return Err(SlowDown { after: x });
    }
    Ok(x)
}

#[flow(deps = D)]
graph! {
    Throttled(u64) -> u64 {
        START -> throttled -> END;
    }
}

#[tokio::test(start_paused = true)]
async fn max_retry_after_in_the_attribute_bounds_the_hints_waited_for() {
    // A 4 s hint is under the node's 5 s: waited in full, then the retry answers.
    let flow = Throttled::new(D::default());
    let begin = Instant::now();
    assert_eq!(flow.run(4).await.unwrap(), 4);
    assert_eq!(begin.elapsed(), Duration::from_secs(4));

    // A 9 s hint is over it: the call ends at once, after one attempt.
    let flow = Throttled::new(D::default());
    let begin = Instant::now();
    let err = flow.run(9).await.unwrap_err();
    assert_eq!(begin.elapsed(), Duration::ZERO);
    assert_eq!(flow.deps().counters.calls.load(Ordering::SeqCst), 1);
    assert!(err.to_string().contains("throttled"), "{err}");
}
