//! The circuit breaker: its whole state machine through node calls, the single half-open
//! probe under concurrent callers, and how it sits with retries and timeouts.

#[allow(dead_code)] // reason: each test file uses some of the shared helpers
mod common;
use common::secs;
use std::error::Error as _;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use typedflow::Retryable;
use typedflow::policy::{
    Backoff, BreakerPolicy, BreakerState, BreakerTransition, CircuitBreaker, CircuitOpen,
    ConfigError, Jitter, NodePolicies, Observer, PolicyError, RetryPolicy, TimeoutPolicy,
};

#[derive(Debug, thiserror::Error)]
#[error("down")]
struct Down;

impl Retryable for Down {}

fn breaker_policy(failures: u32, cool_down: u64, max: u64) -> BreakerPolicy {
    BreakerPolicy::new(failures, secs(cool_down))
        .and_then(|p| p.with_max_cool_down(secs(max)))
        .expect("valid breaker policy")
}

#[derive(Default)]
struct Transitions(Mutex<Vec<(BreakerState, BreakerState, Option<Duration>)>>);

impl Observer for Transitions {
    fn on_breaker(&self, event: &BreakerTransition) {
        assert_eq!(event.node, "service");
        self.0
            .lock()
            .expect("not poisoned")
            .push((event.from, event.to, event.cool_down));
    }
}

/// A node that fails while `down` is set, and counts its calls.
struct Service {
    down: AtomicBool,
    calls: AtomicU32,
}

impl Service {
    fn new() -> Self {
        Service {
            down: AtomicBool::new(false),
            calls: AtomicU32::new(0),
        }
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::Relaxed);
    }

    fn calls(&self) -> u32 {
        self.calls.load(Ordering::Relaxed)
    }

    async fn call(&self, x: u32) -> Result<u32, Down> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if self.down.load(Ordering::Relaxed) {
            Err(Down)
        } else {
            Ok(x)
        }
    }
}

#[tokio::test(start_paused = true)]
async fn the_whole_state_machine_through_node_calls() {
    use BreakerState::{Closed, HalfOpen, Open};

    let observer = Arc::new(Transitions::default());
    let policies = NodePolicies::new("service")
        .with_observer(Arc::clone(&observer))
        .with_breaker(breaker_policy(3, 10, 25));
    let breaker = policies.breaker().expect("configured");
    let service = Service::new();
    let call = || policies.call(1, |x| service.call(x));

    // Failures must be in a row: a success in between resets the count.
    service.set_down(true);
    assert!(call().await.is_err());
    assert!(call().await.is_err());
    service.set_down(false);
    assert!(call().await.is_ok());
    assert_eq!(breaker.consecutive_failures(), 0);
    service.set_down(true);
    assert!(call().await.is_err());
    assert!(call().await.is_err());
    assert_eq!(breaker.state(), Closed);

    // The third failure in a row opens it.
    assert!(matches!(call().await, Err(PolicyError::Node { .. })));
    assert_eq!(breaker.state(), Open);
    assert_eq!(service.calls(), 6);

    // While open, calls fail fast without calling the node.
    let err = call().await.expect_err("open");
    assert_eq!(service.calls(), 6);
    assert!(err.is_circuit_open());
    assert_eq!(err.attempts(), 0);
    let open = err
        .source()
        .and_then(|s| s.downcast_ref::<CircuitOpen>())
        .expect("the source is the refusal");
    assert_eq!((open.node(), open.state()), ("service", Open));
    assert_eq!(open.retry_in(), Some(secs(10)));
    assert_eq!(
        open.to_string(),
        "the circuit breaker of node `service` is open"
    );
    tokio::time::advance(secs(9)).await;
    let err = call().await.expect_err("still open");
    assert!(matches!(
        &err,
        PolicyError::CircuitOpen { source, .. } if source.retry_in() == Some(secs(1))
    ));

    // After the cool-down, one probe; it fails, and the cool-down doubles: 20 s.
    tokio::time::advance(secs(1)).await;
    assert!(matches!(call().await, Err(PolicyError::Node { .. })));
    assert_eq!(service.calls(), 7);
    assert_eq!(breaker.state(), Open);
    tokio::time::advance(secs(19)).await;
    assert!(call().await.expect_err("open").is_circuit_open());
    tokio::time::advance(secs(1)).await;
    assert!(matches!(call().await, Err(PolicyError::Node { .. })));
    // Then 25 s, the max, and 25 s again.
    tokio::time::advance(secs(25)).await;
    assert!(matches!(call().await, Err(PolicyError::Node { .. })));
    tokio::time::advance(secs(24)).await;
    assert!(call().await.expect_err("open").is_circuit_open());
    tokio::time::advance(secs(1)).await;

    // A successful probe closes it; calls go through again.
    service.set_down(false);
    assert_eq!(call().await.expect("probe succeeds"), 1);
    assert_eq!(breaker.state(), Closed);
    assert_eq!(call().await.expect("closed"), 1);

    // Opening again starts from the first cool-down.
    service.set_down(true);
    for _ in 0..3 {
        assert!(call().await.is_err());
    }
    assert_eq!(breaker.state(), Open);

    let seen = observer.0.lock().expect("not poisoned").clone();
    assert_eq!(
        seen,
        [
            (Closed, Open, Some(secs(10))),
            (Open, HalfOpen, None),
            (HalfOpen, Open, Some(secs(20))),
            (Open, HalfOpen, None),
            (HalfOpen, Open, Some(secs(25))),
            (Open, HalfOpen, None),
            (HalfOpen, Open, Some(secs(25))),
            (Open, HalfOpen, None),
            (HalfOpen, Closed, None),
            (Closed, Open, Some(secs(10))),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn half_open_lets_exactly_one_probe_through_concurrent_callers() {
    let policies = Arc::new(NodePolicies::new("service").with_breaker(breaker_policy(1, 10, 10)));
    let calls = Arc::new(AtomicU32::new(0));
    let slow = {
        let calls = Arc::clone(&calls);
        move |x: u32| {
            let calls = Arc::clone(&calls);
            async move {
                calls.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(secs(1)).await;
                Ok::<_, Down>(x)
            }
        }
    };
    let failed = policies.call(0, |_| async { Err::<u32, _>(Down) }).await;
    assert!(failed.is_err());
    tokio::time::advance(secs(10)).await;

    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let policies = Arc::clone(&policies);
            let slow = slow.clone();
            tokio::spawn(async move { policies.call(i, slow).await })
        })
        .collect();
    let mut probes = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.expect("the task ran") {
            Ok(_) => probes += 1,
            Err(PolicyError::CircuitOpen {
                source,
                attempts: 0,
            }) => {
                assert_eq!(source.state(), BreakerState::HalfOpen);
                assert_eq!(source.retry_in(), None);
                refused += 1;
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((probes, refused), (1, 9));
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    assert_eq!(
        policies.breaker().map(CircuitBreaker::state),
        Some(BreakerState::Closed)
    );
}

#[test]
fn one_probe_among_threads_racing_for_it() {
    // Real parallelism on OS threads; the time is a paused tokio clock that each thread
    // reads through the runtime's handle.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    let breaker = Arc::new(rt.block_on(async {
        let breaker = CircuitBreaker::new("service", breaker_policy(1, 10, 10));
        breaker.try_acquire().expect("closed").failure();
        tokio::time::advance(secs(10)).await;
        breaker
    }));
    let threads = 8;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let breaker = Arc::clone(&breaker);
            let barrier = Arc::clone(&barrier);
            let handle = rt.handle().clone();
            std::thread::spawn(move || {
                let _clock = handle.enter();
                barrier.wait();
                match breaker.try_acquire() {
                    Ok(permit) => {
                        assert!(permit.is_probe());
                        // Hold the probe until every thread has asked.
                        barrier.wait();
                        permit.success();
                        true
                    }
                    Err(_) => {
                        barrier.wait();
                        false
                    }
                }
            })
        })
        .collect();
    let probes = handles
        .into_iter()
        .map(|h| h.join().expect("the thread ran"))
        .filter(|probe| *probe)
        .count();
    assert_eq!(probes, 1);
    assert_eq!(breaker.state(), BreakerState::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_probe_lets_the_next_call_probe() {
    let policies = NodePolicies::new("service").with_breaker(breaker_policy(1, 10, 10));
    let breaker = policies.breaker().expect("configured");
    let _ = policies.call(0, |_| async { Err::<u32, _>(Down) }).await;
    tokio::time::advance(secs(10)).await;

    let hung = policies.call(1, |_| async {
        std::future::pending::<()>().await;
        Ok::<u32, Down>(1)
    });
    assert!(tokio::time::timeout(secs(1), hung).await.is_err());
    assert_eq!(breaker.state(), BreakerState::HalfOpen);

    let out = policies.call(2, |x| async move { Ok::<_, Down>(x) }).await;
    assert_eq!(out.expect("the next call probes"), 2);
    assert_eq!(breaker.state(), BreakerState::Closed);
}

#[tokio::test(start_paused = true)]
async fn timeouts_count_as_failures() {
    let policies = NodePolicies::new("service")
        .with_timeout(TimeoutPolicy::new(secs(1)).expect("positive"))
        .with_breaker(breaker_policy(2, 10, 10));
    for _ in 0..2 {
        let err = policies
            .call((), |()| async {
                std::future::pending::<()>().await;
                Ok::<(), Down>(())
            })
            .await
            .expect_err("times out");
        assert!(err.is_timeout());
    }
    assert_eq!(
        policies.breaker().map(CircuitBreaker::state),
        Some(BreakerState::Open)
    );
}

#[tokio::test(start_paused = true)]
async fn an_open_circuit_ends_the_retries() {
    let retry = RetryPolicy::new(5)
        .expect("attempts > 0")
        .with_backoff(Backoff::constant(secs(1)))
        .with_jitter(Jitter::None);
    let policies = NodePolicies::new("service")
        .with_retry(retry)
        .with_breaker(breaker_policy(2, 60, 60));
    let service = Service::new();
    service.set_down(true);
    let err = policies
        .call(1, |x| service.call(x))
        .await
        .expect_err("refused");
    // Two attempts fail and open the breaker, which refuses the third.
    assert!(matches!(err, PolicyError::CircuitOpen { attempts: 2, .. }));
    assert_eq!(service.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn results_of_calls_admitted_before_a_change_are_ignored() {
    let breaker = CircuitBreaker::new("service", breaker_policy(2, 10, 10));
    let stale = breaker.try_acquire().expect("closed");
    breaker.try_acquire().expect("closed").failure();
    breaker.try_acquire().expect("closed").failure();
    assert_eq!(breaker.state(), BreakerState::Open);
    tokio::time::advance(secs(10)).await;
    breaker.try_acquire().expect("probe").success();
    assert_eq!(breaker.state(), BreakerState::Closed);

    // A failure of a call that started before all this does not count now.
    stale.failure();
    assert_eq!(breaker.consecutive_failures(), 0);
    breaker.try_acquire().expect("closed").failure();
    assert_eq!(breaker.state(), BreakerState::Closed);
}

#[test]
fn invalid_settings_are_typed_errors_and_defaults_are_as_documented() {
    assert_eq!(
        BreakerPolicy::new(0, secs(1)),
        Err(ConfigError::ZeroFailures)
    );
    assert_eq!(
        BreakerPolicy::new(1, Duration::ZERO),
        Err(ConfigError::ZeroDuration {
            setting: "cool_down"
        })
    );
    let policy = BreakerPolicy::new(3, secs(10)).expect("valid");
    assert!(matches!(
        policy.with_max_cool_down(secs(5)),
        Err(ConfigError::MaxBelowMin { .. })
    ));
    assert_eq!(policy.max_cool_down(), secs(100));
    let capped = policy.with_max_cool_down(secs(20)).expect("valid");
    assert!(capped.with_cool_down(secs(21)).is_err());
    assert_eq!(policy.with_failures(0), Err(ConfigError::ZeroFailures));

    let default = BreakerPolicy::default();
    assert_eq!(
        (
            default.failures(),
            default.cool_down(),
            default.max_cool_down()
        ),
        (5, secs(30), secs(300))
    );
}

/// A cool-down of `Duration::MAX` keeps the circuit open, without an overflow panic while
/// the breaker holds its lock.
#[tokio::test(start_paused = true)]
async fn a_cool_down_of_duration_max_stays_open() {
    let policy = BreakerPolicy::new(1, Duration::MAX).expect("valid breaker policy");
    let policies = NodePolicies::new("service").with_breaker(policy);
    let err = policies
        .call((), |()| async { Err::<(), _>(Down) })
        .await
        .expect_err("fails");
    assert!(!err.is_circuit_open());
    tokio::time::advance(Duration::from_secs(86_400 * 365)).await;
    let err = policies
        .call((), |()| async { Ok::<(), Down>(()) })
        .await
        .expect_err("still open a year later");
    assert!(err.is_circuit_open());
}

/// Under contention from many threads, an observer sees each transition start where the
/// previous one ended: the order in which the state changed.
#[test]
fn observers_see_transitions_in_the_order_they_happened() {
    #[derive(Default)]
    struct Chain(Mutex<Vec<(BreakerState, BreakerState)>>);
    impl Observer for Chain {
        fn on_breaker(&self, event: &BreakerTransition) {
            self.0
                .lock()
                .expect("not poisoned")
                .push((event.from, event.to));
        }
    }
    let chain = Arc::new(Chain::default());
    let policy = BreakerPolicy::new(1, Duration::from_nanos(1)).expect("valid breaker policy");
    let breaker =
        Arc::new(CircuitBreaker::new("service", policy).with_observer(Arc::clone(&chain)));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let breaker = Arc::clone(&breaker);
            let handle = rt.handle().clone();
            std::thread::spawn(move || {
                let _clock = handle.enter();
                for i in 0..20_000u32 {
                    if let Ok(permit) = breaker.try_acquire() {
                        // Mostly failures, so the circuit keeps opening and closing.
                        if (i + t) % 3 == 0 {
                            permit.success();
                        } else {
                            permit.failure();
                        }
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("the thread ran");
    }
    let seen = chain.0.lock().expect("not poisoned");
    assert!(
        seen.len() > 100,
        "the circuit changed state often: {}",
        seen.len()
    );
    assert_eq!(seen[0].0, BreakerState::Closed);
    for pair in seen.windows(2) {
        assert_eq!(pair[0].1, pair[1].0, "a transition out of order: {pair:?}");
    }
}
