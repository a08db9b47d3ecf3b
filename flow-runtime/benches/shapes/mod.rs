//! The graphs measured by `benches/steps.rs` and `examples/count_steps.rs`, each beside
//! the hand-written `enum` + `match` loop that does the same work.
//!
//! Every node adds one, so the work per transition is one addition and the cost measured
//! is the transition itself. Except in the plain 2-node loop (`Loop2`), each node passes
//! its value through `black_box` on both sides, so the optimizer cannot fold the work
//! away, as it cannot with real nodes.

#![allow(missing_docs)] // reason: benchmark fixtures, not API

use core::future::Future;
use core::pin::pin;
use core::task::{Context as TaskContext, Poll, Waker};
use std::hint::black_box;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use typedflow::prelude::*;

/// Polls a future that never waits to completion, with no runtime around it, so both
/// sides of a comparison pay the same (zero) executor cost.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = TaskContext::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// Times `iters` calls of `call`, each awaited after the other inside one `block_on` of
/// `rt`: the way a task of a service awaits its runs, without the runtime's entry cost
/// per call. Each call gets `black_box(0)` as input (the loops count laps from there) and
/// its output goes to `black_box`.
///
/// The clock is the wall clock, or with `FLOW_BENCH_CLOCK=cpu` the CPU time of the thread
/// that polls (`block_on` polls on the calling thread, on both runtimes): on a machine
/// shared with other work, that leaves out the time the thread waited for a core.
pub fn timed<F, Fut>(rt: &tokio::runtime::Runtime, iters: u64, mut call: F) -> Duration
where
    F: FnMut(u64) -> Fut,
    Fut: IntoFuture,
{
    rt.block_on(async {
        let clock = Clock::start();
        for _ in 0..iters {
            black_box(call(black_box(0)).await);
        }
        clock.elapsed()
    })
}

/// The clock of [`timed`], started.
enum Clock {
    Wall(Instant),
    Cpu(cpu_time::ThreadTime),
}

impl Clock {
    fn start() -> Self {
        static CPU: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        if *CPU.get_or_init(|| std::env::var("FLOW_BENCH_CLOCK").is_ok_and(|v| v == "cpu")) {
            Clock::Cpu(cpu_time::ThreadTime::now())
        } else {
            Clock::Wall(Instant::now())
        }
    }

    fn elapsed(&self) -> Duration {
        match self {
            Clock::Wall(start) => start.elapsed(),
            Clock::Cpu(start) => start.elapsed(),
        }
    }
}

// -- a chain of 10 nodes ---------------------------------------------------------

#[node]
pub async fn n0(x: u64) -> u64 {
    black_box(x) + 1
}
#[node]
pub async fn n1(x: u64) -> u64 {
    black_box(x) + 1
}
#[node]
pub async fn n2(x: u64) -> u64 {
    black_box(x) + 1
}
#[node]
pub async fn n3(x: u64) -> u64 {
    black_box(x) + 1
}
#[node]
pub async fn n4(x: u64) -> u64 {
    black_box(x) + 1
}
#[node]
pub async fn n5(x: u64) -> u64 {
    black_box(x) + 1
}
#[node]
pub async fn n6(x: u64) -> u64 {
    black_box(x) + 1
}
#[node]
pub async fn n7(x: u64) -> u64 {
    black_box(x) + 1
}
#[node]
pub async fn n8(x: u64) -> u64 {
    black_box(x) + 1
}
#[node]
pub async fn n9(x: u64) -> u64 {
    black_box(x) + 1
}

graph! {
    pub Chain10(u64) -> u64 {
        START -> n0 -> n1 -> n2 -> n3 -> n4 -> n5 -> n6 -> n7 -> n8 -> n9 -> END;
    }
}

graph! {
    /// `Chain10` called as one node of another flow (a subgraph), after one node: what a
    /// subgraph call costs when nobody hooks the run.
    pub Nested11(u64) -> u64 {
        START -> n0 -> Chain10 -> END;
    }
}

#[cfg(feature = "durable")]
graph! {
    /// `Chain10`, durable: run without a store, it must cost what `Chain10` costs.
    #[flow(durable)]
    pub DurableChain10(u64) -> u64 {
        START -> n0 -> n1 -> n2 -> n3 -> n4 -> n5 -> n6 -> n7 -> n8 -> n9 -> END;
    }
}

async fn inc(x: u64) -> u64 {
    x + 1
}

/// A node's work the optimizer cannot see through, as it cannot with real nodes.
pub async fn opaque_inc(x: u64) -> u64 {
    black_box(x) + 1
}

pub enum Hand10 {
    N0(u64),
    N1(u64),
    N2(u64),
    N3(u64),
    N4(u64),
    N5(u64),
    N6(u64),
    N7(u64),
    N8(u64),
    N9(u64),
}

/// The hand-written chain: the same ten steps as `Chain10`.
pub async fn hand_chain10(input: u64) -> u64 {
    let mut state = Hand10::N0(input);
    loop {
        state = match state {
            Hand10::N0(x) => Hand10::N1(opaque_inc(x).await),
            Hand10::N1(x) => Hand10::N2(opaque_inc(x).await),
            Hand10::N2(x) => Hand10::N3(opaque_inc(x).await),
            Hand10::N3(x) => Hand10::N4(opaque_inc(x).await),
            Hand10::N4(x) => Hand10::N5(opaque_inc(x).await),
            Hand10::N5(x) => Hand10::N6(opaque_inc(x).await),
            Hand10::N6(x) => Hand10::N7(opaque_inc(x).await),
            Hand10::N7(x) => Hand10::N8(opaque_inc(x).await),
            Hand10::N8(x) => Hand10::N9(opaque_inc(x).await),
            Hand10::N9(x) => return opaque_inc(x).await,
        }
    }
}

// -- a 2-node loop ----------------------------------------------------------------

/// How many times the loop goes round.
pub const LAPS: u64 = 1_000;

pub enum Lap {
    Again(u64),
    Done(u64),
}

#[node]
pub async fn step(x: u64) -> u64 {
    x + 1
}

#[node]
pub async fn check(x: u64) -> Lap {
    if x < LAPS {
        Lap::Again(x)
    } else {
        Lap::Done(x)
    }
}

graph! {
    #[flow(max_steps = 10_000)]
    pub Loop2(u64) -> u64 {
        START -> step -> check;
        check => {
            Lap::Again -> step,
            Lap::Done -> END,
        }
    }
}

async fn check_fn(x: u64) -> Lap {
    if x < LAPS {
        Lap::Again(x)
    } else {
        Lap::Done(x)
    }
}

enum HandLoop {
    Step(u64),
    Check(u64),
}

/// The hand-written loop: the same two steps as `Loop2`, with the same step limit.
pub async fn hand_loop2(input: u64) -> u64 {
    let mut state = HandLoop::Step(input);
    let mut steps = 0u32;
    loop {
        if steps == 10_000 {
            return u64::MAX;
        }
        steps += 1;
        state = match state {
            HandLoop::Step(x) => HandLoop::Check(inc(x).await),
            HandLoop::Check(x) => match check_fn(x).await {
                Lap::Again(x) => HandLoop::Step(x),
                Lap::Done(x) => return x,
            },
        }
    }
}

// -- the same loop with work the optimizer cannot see through ---------------------
//
// LLVM reduces the hand-written loop above to almost nothing (its arithmetic has a
// closed form). Real nodes do opaque work; here each one passes its value through
// `black_box`, on both sides, to measure the transition as a real flow would pay it.

#[node]
pub async fn opaque_step(x: u64) -> u64 {
    black_box(x) + 1
}

#[node]
pub async fn opaque_check(x: u64) -> Lap {
    if black_box(x) < LAPS {
        Lap::Again(x)
    } else {
        Lap::Done(x)
    }
}

graph! {
    #[flow(max_steps = 10_000)]
    pub OpaqueLoop2(u64) -> u64 {
        START -> opaque_step -> opaque_check;
        opaque_check => {
            Lap::Again -> opaque_step,
            Lap::Done -> END,
        }
    }
}

async fn opaque_check_fn(x: u64) -> Lap {
    if black_box(x) < LAPS {
        Lap::Again(x)
    } else {
        Lap::Done(x)
    }
}

/// The hand-written counterpart of `OpaqueLoop2`.
pub async fn hand_opaque_loop2(input: u64) -> u64 {
    let mut state = HandLoop::Step(input);
    let mut steps = 0u32;
    loop {
        if steps == 10_000 {
            return u64::MAX;
        }
        steps += 1;
        state = match state {
            HandLoop::Step(x) => HandLoop::Check(opaque_inc(x).await),
            HandLoop::Check(x) => match opaque_check_fn(x).await {
                Lap::Again(x) => HandLoop::Step(x),
                Lap::Done(x) => return x,
            },
        }
    }
}

// -- fan-out to 8 branches and join --------------------------------------------------

#[node]
pub async fn fan_in(x: u64) -> u64 {
    black_box(x) + 1
}

#[node]
pub async fn b0(x: u64) -> u64 {
    black_box(x) + 1
}
#[node]
pub async fn b1(x: u64) -> u64 {
    black_box(x) + 1
}
#[node]
pub async fn b2(x: u64) -> u64 {
    black_box(x) + 1
}
#[node]
pub async fn b3(x: u64) -> u64 {
    black_box(x) + 1
}
#[node]
pub async fn b4(x: u64) -> u64 {
    black_box(x) + 1
}
#[node]
pub async fn b5(x: u64) -> u64 {
    black_box(x) + 1
}
#[node]
pub async fn b6(x: u64) -> u64 {
    black_box(x) + 1
}
#[node]
pub async fn b7(x: u64) -> u64 {
    black_box(x) + 1
}

type Eight = (u64, u64, u64, u64, u64, u64, u64, u64);

fn sum8(values: Eight) -> u64 {
    let (a, b, c, d, e, f, g, h) = black_box(values);
    a + b + c + d + e + f + g + h
}

#[node]
pub async fn fan_out(values: Eight) -> u64 {
    sum8(values)
}

graph! {
    pub Fan8(u64) -> u64 {
        START -> fan_in -> (b0, b1, b2, b3, b4, b5, b6, b7) -> fan_out -> END;
    }
}

/// The hand-written counterpart of `Fan8`: the same step, `tokio::join!` over the same
/// eight futures, the same join.
pub async fn hand_fan8(input: u64) -> u64 {
    let x = opaque_inc(input).await;
    let joined = tokio::join!(
        opaque_inc(x),
        opaque_inc(x),
        opaque_inc(x),
        opaque_inc(x),
        opaque_inc(x),
        opaque_inc(x),
        opaque_inc(x),
        opaque_inc(x)
    );
    sum8(joined)
}

// -- policies configured, never triggered ----------------------------------------------
//
// Three nodes, each with a retry, a per-attempt timeout and a circuit breaker that never
// act: what the policies cost a call that succeeds at once.

/// Nodes with a retry, a per-attempt timeout and a circuit breaker, one function each
/// (as real nodes are: each inlined where it is called).
macro_rules! policed_nodes {
    ($($name:ident)*) => {$(
        #[node(
            retry(attempts = 4, backoff = exponential(200ms, 2.0, max = 5s), jitter = full),
            timeout = 30s,
            circuit_breaker(failures = 5, cool_down = 30s)
        )]
        pub async fn $name(x: u64) -> Result<u64, std::io::Error> {
            Ok(black_box(x) + 1)
        }
    )*};
}

policed_nodes!(p0 p1 p2);

graph! {
    pub Policies3(u64) -> u64 {
        START -> p0 -> p1 -> p2 -> END;
    }
}

/// The node of the hand-written twin.
async fn fallible_inc(x: u64) -> Result<u64, std::io::Error> {
    Ok(black_box(x) + 1)
}

/// The policies written by hand: up to 4 attempts with an exponential backoff, each
/// within 30 s, behind a breaker that opens after 5 failures in a row (its cool-down is
/// left out: it is never reached here).
#[derive(Default)]
pub struct HandGuard {
    failures: AtomicU32,
}

impl HandGuard {
    async fn call(&self, x: u64) -> Result<u64, std::io::Error> {
        let mut attempt = 1;
        loop {
            if self.failures.load(Ordering::Acquire) >= 5 {
                return Err(std::io::Error::other("circuit open"));
            }
            let failed = match tokio::time::timeout(Duration::from_secs(30), fallible_inc(x)).await
            {
                Ok(Ok(out)) => {
                    if self.failures.load(Ordering::Relaxed) != 0 {
                        self.failures.store(0, Ordering::Relaxed);
                    }
                    return Ok(out);
                }
                Ok(Err(err)) => err,
                Err(elapsed) => std::io::Error::other(elapsed),
            };
            self.failures.fetch_add(1, Ordering::AcqRel);
            if attempt == 4 {
                return Err(failed);
            }
            let backoff = Duration::from_millis(200 << (attempt - 1)).min(Duration::from_secs(5));
            tokio::time::sleep(backoff).await;
            attempt += 1;
        }
    }
}

pub enum Hand3 {
    P0(u64),
    P1(u64),
    P2(u64),
}

/// The hand-written twin of `Policies3`.
pub async fn hand_policies3(guards: &[HandGuard; 3], input: u64) -> Result<u64, std::io::Error> {
    let mut state = Hand3::P0(input);
    loop {
        state = match state {
            Hand3::P0(x) => Hand3::P1(guards[0].call(x).await?),
            Hand3::P1(x) => Hand3::P2(guards[1].call(x).await?),
            Hand3::P2(x) => return guards[2].call(x).await,
        }
    }
}
