//! The per-step cost of observability: the same 10-node chain with no hook, with the
//! tracing and metrics hooks but no subscriber or recorder, with a subscriber at INFO,
//! and while its events are streamed.
//!
//! ```text
//! cargo bench -p typedflow --bench observe -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::StreamExt;
use typedflow::telemetry::{Metered, Traced};

#[path = "shapes/mod.rs"]
#[allow(dead_code)] // reason: the shapes module also serves the steps benchmark
mod shapes;

use shapes::*;

fn observe(c: &mut Criterion) {
    let mut g = c.benchmark_group("observe_chain10");
    g.throughput(Throughput::Elements(10));
    let plain = Chain10::new(());
    g.bench_function("no_hook", |b| {
        b.iter(|| block_on(plain.run(black_box(0)).into_future()).expect("the chain cannot fail"))
    });
    let traced = Chain10::new(()).with_hook(Traced);
    g.bench_function("traced_no_subscriber", |b| {
        b.iter(|| block_on(traced.run(black_box(0)).into_future()).expect("the chain cannot fail"))
    });
    let metered = Chain10::new(()).with_hook(Metered);
    g.bench_function("metered_no_recorder", |b| {
        b.iter(|| block_on(metered.run(black_box(0)).into_future()).expect("the chain cannot fail"))
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    g.bench_function("streamed", |b| {
        b.iter(|| rt.block_on(plain.run(black_box(0)).stream().count().into_future()))
    });
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::sink)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        tracing::callsite::rebuild_interest_cache();
        g.bench_function("traced_info_subscriber", |b| {
            b.iter(|| {
                block_on(traced.run(black_box(0)).into_future()).expect("the chain cannot fail")
            })
        });
    });
    g.finish();
}

criterion_group!(benches, observe);
criterion_main!(benches);
