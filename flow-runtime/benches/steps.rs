//! The cost of one transition: generated flows beside hand-written `enum` + `match`
//! loops doing the same work, in the same binary.
//!
//! ```text
//! cargo bench -p typedflow --bench steps
//! scripts/bench-steps.sh        # the same, plus instruction counts with callgrind
//! ```

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[path = "shapes/mod.rs"]
#[allow(dead_code)] // reason: the shapes module also serves the other benchmarks
mod shapes;

use shapes::*;

fn chain(c: &mut Criterion) {
    let mut g = c.benchmark_group("chain10");
    g.throughput(Throughput::Elements(10)); // transitions per run
    let flow = Chain10::new(());
    g.bench_function("flow", |b| {
        b.iter(|| block_on(flow.run(black_box(0)).into_future()).expect("the chain cannot fail"))
    });
    g.bench_function("hand", |b| b.iter(|| block_on(hand_chain10(black_box(0)))));
    g.finish();
}

fn loop2(c: &mut Criterion) {
    let mut g = c.benchmark_group("loop2");
    g.throughput(Throughput::Elements(2 * LAPS)); // transitions per run
    let flow = Loop2::new(());
    g.bench_function("flow", |b| {
        b.iter(|| block_on(flow.run(black_box(0)).into_future()).expect("the loop ends"))
    });
    g.bench_function("hand", |b| b.iter(|| block_on(hand_loop2(black_box(0)))));
    g.finish();
}

fn opaque_loop2(c: &mut Criterion) {
    let mut g = c.benchmark_group("opaque_loop2");
    g.throughput(Throughput::Elements(2 * LAPS));
    let flow = OpaqueLoop2::new(());
    g.bench_function("flow", |b| {
        b.iter(|| block_on(flow.run(black_box(0)).into_future()).expect("the loop ends"))
    });
    g.bench_function("hand", |b| {
        b.iter(|| block_on(hand_opaque_loop2(black_box(0))))
    });
    g.finish();
}

fn fan8(c: &mut Criterion) {
    let mut g = c.benchmark_group("fan8");
    let flow = Fan8::new(());
    g.bench_function("flow", |b| {
        b.iter(|| block_on(flow.run(black_box(0)).into_future()).expect("the fan-out cannot fail"))
    });
    g.bench_function("hand", |b| b.iter(|| block_on(hand_fan8(black_box(0)))));
    g.finish();
}

criterion_group!(benches, chain, loop2, opaque_loop2, fan8);
criterion_main!(benches);
