//! The per-call cost of policies that are configured but never triggered, beside a bare
//! call of the same node.
//!
//! ```text
//! cargo bench -p typedflow --bench policies -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Each sample awaits the node `iters` times inside one `block_on`, so the runtime's
//! entry cost is not counted. The node succeeds at once: no retry, no timeout, the breaker
//! stays closed and a permit is always free.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "shapes/mod.rs"]
#[allow(dead_code)] // reason: the shapes module also serves the other benchmarks
mod shapes;

use shapes::timed;
use typedflow::Retryable;
use typedflow::policy::{
    Backoff, BreakerPolicy, ConcurrencyLimit, Jitter, NodePolicies, RetryPolicy, TimeoutPolicy,
};

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

impl Retryable for Never {}

/// The node: adds one.
async fn node(x: u64) -> Result<u64, Never> {
    Ok(black_box(x) + 1)
}

/// The output, or 0 for an error that never happens.
fn ok<E>(r: Result<u64, E>) -> u64 {
    r.unwrap_or_default()
}

fn policies(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    let retry = RetryPolicy::new(4)
        .and_then(|p| {
            Ok(p.with_backoff(Backoff::exponential(
                Duration::from_millis(200),
                2.0,
                Duration::from_secs(5),
            )?))
        })
        .expect("valid retry policy")
        .with_jitter(Jitter::Full);
    let timeout = TimeoutPolicy::new(Duration::from_secs(30)).expect("valid timeout");
    let breaker = BreakerPolicy::new(5, Duration::from_secs(30)).expect("valid breaker");
    let limit = ConcurrencyLimit::new(16).expect("valid limit");

    let none = NodePolicies::new("none");
    let retry_only = NodePolicies::new("retry").with_retry(retry);
    let timeout_only = NodePolicies::new("timeout").with_timeout(timeout);
    let breaker_only = NodePolicies::new("breaker").with_breaker(breaker);
    let limit_only = NodePolicies::new("limit").with_concurrency(limit);
    let all = NodePolicies::new("all")
        .with_retry(retry)
        .with_timeout(timeout)
        .with_breaker(breaker)
        .with_concurrency(limit);

    // Borrowed, so each call's `async move` block takes a reference.
    let (none, retry_only, timeout_only) = (&none, &retry_only, &timeout_only);
    let (breaker_only, limit_only, all) = (&breaker_only, &limit_only, &all);
    let mut g = c.benchmark_group("node_call");
    g.bench_function("bare", |b| {
        b.iter_custom(|n| timed(&rt, n, |x| async move { ok(node(x).await) }))
    });
    g.bench_function("no_policies", |b| {
        b.iter_custom(|n| timed(&rt, n, |x| async move { ok(none.call(x, node).await) }))
    });
    g.bench_function("retry", |b| {
        b.iter_custom(|n| {
            timed(
                &rt,
                n,
                |x| async move { ok(retry_only.call(x, node).await) },
            )
        })
    });
    g.bench_function("timeout", |b| {
        b.iter_custom(|n| {
            timed(
                &rt,
                n,
                |x| async move { ok(timeout_only.call(x, node).await) },
            )
        })
    });
    g.bench_function("breaker", |b| {
        b.iter_custom(|n| {
            timed(
                &rt,
                n,
                |x| async move { ok(breaker_only.call(x, node).await) },
            )
        })
    });
    g.bench_function("limit", |b| {
        b.iter_custom(|n| {
            timed(
                &rt,
                n,
                |x| async move { ok(limit_only.call(x, node).await) },
            )
        })
    });
    g.bench_function("all", |b| {
        b.iter_custom(|n| timed(&rt, n, |x| async move { ok(all.call(x, node).await) }))
    });
    g.finish();
}

criterion_group!(benches, policies);
criterion_main!(benches);
