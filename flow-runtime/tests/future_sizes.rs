//! The size of a run's future, pinned: what a task that awaits or spawns a run holds, and
//! moves when it is spawned. The generated run once kept its arguments twice in its
//! future (an `async fn` does, rust-lang/rust#62958): Chain3 was 176 bytes and Fan2 264.
//! These bounds catch a change that brings that back; lower them when a change shrinks
//! the futures.
//!
//! Sizes depend on the compiler (pinned by `rust-toolchain.toml`) and on the target's
//! pointer width: checked on 64-bit targets only. The debug and the release build give the
//! same sizes. `cargo run --release -p typedflow --example count_steps sizes` prints the
//! benchmark shapes' sizes beside their hand-written twins'.

#![cfg(target_pointer_width = "64")]

use core::future::IntoFuture;

use typedflow::prelude::*;

#[node]
async fn a(x: u64) -> u64 {
    x + 1
}

#[node]
async fn b(x: u64) -> u64 {
    x + 2
}

#[node]
async fn c(x: u64) -> u64 {
    x + 3
}

graph! {
    Chain3(u64) -> u64 {
        START -> a -> b -> c -> END;
    }
}

#[node]
async fn pair((x, y): (u64, u64)) -> u64 {
    x + y
}

graph! {
    Fan2(u64) -> u64 {
        START -> a -> (b, c) -> pair -> END;
    }
}

/// The size of the future of `run`.
fn size_of_run<R: IntoFuture>(run: R) -> usize {
    size_of_val(&run.into_future())
}

#[test]
fn a_run_that_sets_nothing_keeps_its_arguments_once() {
    let chain = Chain3::new(());
    let size = size_of_run(chain.run(1));
    println!("Chain3: {size} bytes");
    assert!(
        size <= CHAIN3,
        "a run of Chain3 is {size} bytes, more than {CHAIN3}"
    );
}

#[test]
fn a_run_with_settings_keeps_them_once() {
    let chain = Chain3::new(());
    let size = size_of_run(chain.run(1).max_steps(5));
    println!("Chain3 with max_steps: {size} bytes");
    assert!(
        size <= CHAIN3_LIMITED,
        "a run of Chain3 with max_steps is {size} bytes, more than {CHAIN3_LIMITED}"
    );
}

#[test]
fn a_flow_with_a_hook_keeps_what_starts_its_run_once() {
    let chain = Chain3::new(()).with_hook(typedflow::telemetry::Traced);
    let size = size_of_run(chain.run(1));
    println!("Chain3 with Traced: {size} bytes");
    assert!(
        size <= CHAIN3_TRACED,
        "a run of Chain3 with Traced is {size} bytes, more than {CHAIN3_TRACED}"
    );
}

#[test]
fn a_fan_out_keeps_its_arguments_once() {
    let fan = Fan2::new(());
    let size = size_of_run(fan.run(1));
    println!("Fan2: {size} bytes");
    assert!(
        size <= FAN2,
        "a run of Fan2 is {size} bytes, more than {FAN2}"
    );
}

/// A run of `Chain3` that sets nothing (was 176 bytes, then 112 while an `async` block
/// around the run loop kept the flow and the input until the first poll; `NoHook` now
/// begins the run at once, `StepHook::begin`).
const CHAIN3: usize = 88;
/// A run of `Chain3` with a step limit of its own (was 208 bytes, then 216 while the start
/// of every run was an `async` block of its own around the one that keeps the run's
/// settings, and which kept the hook, the graph, the run's id and its start besides).
const CHAIN3_LIMITED: usize = 136;
/// A run of `Fan2` (was 264 bytes, then 200).
const FAN2: usize = 176;
/// A run of `Chain3` with `Traced` as the flow's hook, which begins the run when it is
/// first polled: until then the future keeps the closure that starts it (the flow and the
/// input), after it those beside the started run (as when a run began in an `async`
/// block of its own; 128 bytes while `StepHook::begin` kept the hook and the graph too).
const CHAIN3_TRACED: usize = 112;
