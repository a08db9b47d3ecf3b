//! Per-attempt timeouts and the run deadline, on tokio's paused clock.

#[allow(dead_code)] // reason: each test file uses some of the shared helpers
mod common;
use common::{DropGuard, secs};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use typedflow::policy::{
    AttemptTimedOut, Backoff, ConcurrencyLimit, ConfigError, Jitter, NodePolicies, Observer,
    PolicyError, RetryPolicy, TimeoutPolicy, deadline,
};
use typedflow::{FlowError, Retryable};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[derive(Debug, thiserror::Error)]
#[error("transient")]
struct Transient;

impl Retryable for Transient {}

fn timeout(d: Duration) -> TimeoutPolicy {
    TimeoutPolicy::new(d).expect("positive")
}

fn retry(attempts: u32, delay: Duration) -> RetryPolicy {
    RetryPolicy::new(attempts)
        .expect("attempts > 0")
        .with_backoff(Backoff::constant(delay))
        .with_jitter(Jitter::None)
}

#[tokio::test(start_paused = true)]
async fn a_timeout_fires_at_its_virtual_instant_and_drops_the_attempt() {
    let policies = NodePolicies::new("slow").with_timeout(timeout(secs(3)));
    let dropped_early = AtomicU32::new(0);
    let start = Instant::now();
    let err = policies
        .call((), |()| {
            let dropped_early = &dropped_early;
            async move {
                let mut guard = DropGuard {
                    dropped_early,
                    done: false,
                };
                tokio::time::sleep(secs(10)).await;
                guard.done = true;
                Ok::<_, Transient>(())
            }
        })
        .await
        .expect_err("times out");
    assert_eq!(Instant::now(), start + secs(3));
    assert!(matches!(
        err,
        PolicyError::Timeout {
            timeout,
            attempts: 1
        } if timeout == secs(3)
    ));
    assert!(err.is_timeout());
    assert_eq!(err.to_string(), "attempt 1 timed out after 3s");
    assert_eq!(dropped_early.load(Ordering::Relaxed), 1);
}

#[tokio::test(start_paused = true)]
async fn an_attempt_that_ends_before_its_timeout_is_not_cut() {
    let policies = NodePolicies::new("quick").with_timeout(timeout(secs(3)));
    let start = Instant::now();
    let out = policies
        .call(20, |x: u32| async move {
            tokio::time::sleep(ms(2999)).await;
            Ok::<_, Transient>(x + 1)
        })
        .await;
    assert_eq!(out.expect("in time"), 21);
    assert_eq!(start.elapsed(), ms(2999));
}

#[tokio::test(start_paused = true)]
async fn timeouts_are_retried_each_attempt_with_its_own_timeout() {
    let policies = NodePolicies::new("hangs")
        .with_retry(retry(3, secs(1)))
        .with_timeout(timeout(secs(2)));
    let starts = Mutex::new(Vec::new());
    let t0 = Instant::now();
    let err = policies
        .call((), |()| {
            starts.lock().expect("not poisoned").push(t0.elapsed());
            async {
                std::future::pending::<()>().await;
                Ok::<(), Transient>(())
            }
        })
        .await
        .expect_err("every attempt hangs");
    // Attempts start at 0, 2 + 1 and 5 + 1 s; the last times out at 8 s.
    assert_eq!(
        *starts.lock().expect("not poisoned"),
        [secs(0), secs(3), secs(6)]
    );
    assert!(matches!(err, PolicyError::Timeout { attempts: 3, .. }));
    assert_eq!(t0.elapsed(), secs(8));
}

#[tokio::test(start_paused = true)]
async fn a_hung_attempt_then_a_quick_one_succeeds() {
    let policies = NodePolicies::new("once_hung")
        .with_retry(retry(3, secs(1)))
        .with_timeout(timeout(secs(2)));
    let calls = AtomicU32::new(0);
    let start = Instant::now();
    let out = policies
        .call((), |()| {
            let first = calls.fetch_add(1, Ordering::Relaxed) == 0;
            async move {
                if first {
                    std::future::pending::<()>().await;
                }
                Ok::<_, Transient>("done")
            }
        })
        .await;
    assert_eq!(out.expect("second attempt"), "done");
    assert_eq!(start.elapsed(), secs(3));
}

#[tokio::test(start_paused = true)]
async fn the_timeout_starts_when_the_attempt_gets_its_permit() {
    let policies = Arc::new(
        NodePolicies::new("queued")
            .with_timeout(timeout(secs(2)))
            .with_concurrency(ConcurrencyLimit::new(1).expect("positive")),
    );
    let start = Instant::now();
    let work = |x: u32| async move {
        tokio::time::sleep(ms(1500)).await;
        Ok::<_, Transient>(x)
    };
    let (a, b) = tokio::join!(policies.call(1, work), policies.call(2, work));
    // The second waited 1.5 s for the permit and ran 1.5 s: 3 s in all, 1.5 s timed.
    assert_eq!((a.expect("in time"), b.expect("in time")), (1, 2));
    assert_eq!(start.elapsed(), secs(3));
}

#[derive(Default)]
struct Timeouts(Mutex<Vec<AttemptTimedOut>>);

impl Observer for Timeouts {
    fn on_timeout(&self, event: &AttemptTimedOut) {
        self.0.lock().expect("not poisoned").push(event.clone());
    }
}

#[tokio::test(start_paused = true)]
async fn every_timeout_is_reported_to_the_observer() {
    let observer = Arc::new(Timeouts::default());
    let policies = NodePolicies::new("observed")
        .with_retry(retry(2, ms(10)))
        .with_timeout(timeout(secs(1)))
        .with_observer(Arc::clone(&observer));
    let _ = policies
        .call((), |()| async {
            std::future::pending::<()>().await;
            Ok::<(), Transient>(())
        })
        .await;
    let seen: Vec<_> = observer
        .0
        .lock()
        .expect("not poisoned")
        .iter()
        .map(|e| (e.node, e.attempt, e.timeout))
        .collect();
    assert_eq!(seen, [("observed", 1, secs(1)), ("observed", 2, secs(1))]);
}

#[test]
fn a_zero_timeout_is_a_typed_error() {
    assert_eq!(
        TimeoutPolicy::new(Duration::ZERO),
        Err(ConfigError::ZeroDuration { setting: "timeout" })
    );
}

// -- the run deadline ----------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn the_run_deadline_bounds_everything_including_retries() {
    let policies = NodePolicies::new("write")
        .with_retry(retry(10, secs(1)))
        .with_timeout(timeout(secs(2)));
    let calls = AtomicU32::new(0);
    let start = Instant::now();
    let run = async {
        policies
            .call((), |()| {
                calls.fetch_add(1, Ordering::Relaxed);
                async {
                    std::future::pending::<()>().await;
                    Ok::<(), Transient>(())
                }
            })
            .await
            .map_err(|e| typedflow::__private::node_error("essay", "write", 1, e.attempts(), e))
    };
    let err = deadline("essay", secs(5), run).await.expect_err("too slow");
    // Attempt 1 times out at 2 s, attempt 2 starts at 3 s and is cut at 5 s.
    assert_eq!(start.elapsed(), secs(5));
    assert!(matches!(
        err,
        FlowError::Timeout { flow: "essay", timeout, .. } if timeout == secs(5)
    ));
    tokio::time::sleep(secs(3600)).await;
    assert_eq!(
        calls.load(Ordering::Relaxed),
        2,
        "no attempt after the deadline"
    );
}

#[tokio::test(start_paused = true)]
async fn the_run_deadline_passes_a_finished_run_through() {
    let ok = deadline("quick", secs(5), async {
        tokio::time::sleep(secs(4)).await;
        Ok::<_, FlowError>(7)
    })
    .await;
    assert_eq!(ok.expect("in time"), 7);

    // A node error inside the deadline stays a node error, with its attempts and source.
    let policies = NodePolicies::new("write").with_retry(retry(2, ms(1)));
    let err = deadline("essay", secs(5), async {
        policies
            .call((), |()| async { Err::<(), _>(Transient) })
            .await
            .map_err(|e| typedflow::__private::node_error("essay", "write", 3, e.attempts(), e))
    })
    .await
    .expect_err("fails");
    assert!(matches!(
        err,
        FlowError::Node {
            node: "write",
            attempts: 2,
            ..
        }
    ));
    let cause = err.node_error().expect("a node error");
    assert!(
        cause
            .downcast_ref::<PolicyError<Transient>>()
            .is_some_and(PolicyError::retries_exhausted)
    );
}

/// "No limit" spelled `Duration::MAX` is a timeout that never fires and a retry budget
/// that never runs out, not an overflow panic.
#[tokio::test(start_paused = true)]
async fn duration_max_means_no_limit() {
    let policies = NodePolicies::new("patient")
        .with_timeout(timeout(Duration::MAX))
        .with_retry(
            retry(3, secs(1))
                .with_max_elapsed(Duration::MAX)
                .expect("positive"),
        );
    let calls = AtomicU32::new(0);
    let start = Instant::now();
    let out = policies
        .call(1u32, |x| {
            let calls = &calls;
            async move {
                tokio::time::sleep(secs(3600)).await;
                match calls.fetch_add(1, Ordering::Relaxed) {
                    0 | 1 => Err(Transient),
                    _ => Ok(x + 1),
                }
            }
        })
        .await;
    assert_eq!(out.ok(), Some(2));
    assert_eq!(calls.load(Ordering::Relaxed), 3);
    assert_eq!(Instant::now(), start + secs(3 * 3600 + 2));
}
