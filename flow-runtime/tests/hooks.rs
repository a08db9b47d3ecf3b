//! Step hooks: the flow's own hook and a per-run hook see every run and every step, in
//! the documented order.

#![allow(clippy::unwrap_used)] // reason: test helpers outside #[test] fns; a poisoned lock should fail the test

use core::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use typedflow::prelude::*;
use typedflow::{GraphInfo, NoHook, NodeInfo, RunStart};

#[derive(Default)]
struct Log {
    name: &'static str,
    lines: Mutex<Vec<String>>,
}

impl Log {
    fn named(name: &'static str) -> Self {
        Log {
            name,
            lines: Mutex::default(),
        }
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.lines.lock().unwrap())
    }
}

impl StepHook for &Log {
    fn step<N: Node, F: Future<Output = Result<N::Output, N::Error>>>(
        &self,
        cx: &Context,
        node: &'static NodeInfo,
        call: F,
    ) -> impl Future<Output = F::Output> {
        self.lines
            .lock()
            .unwrap()
            .push(format!("{} step {} {}", self.name, cx.step(), node.name));
        async move {
            let out = call.await;
            self.lines
                .lock()
                .unwrap()
                .push(format!("{} done {}", self.name, node.name));
            out
        }
    }

    fn run<T, F: Future<Output = Result<T, FlowError>>>(
        &self,
        graph: &'static GraphInfo,
        _run_id: RunId,
        run: F,
    ) -> impl Future<Output = F::Output> {
        self.lines
            .lock()
            .unwrap()
            .push(format!("{} run {}", self.name, graph.name));
        async move {
            let out = run.await;
            self.lines
                .lock()
                .unwrap()
                .push(format!("{} end", self.name));
            out
        }
    }
}

#[node]
async fn a(x: u32) -> u32 {
    x + 1
}

#[node]
async fn b(x: u32) -> u32 {
    x * 2
}

graph! {
    Calc(u32) -> u32 {
        START -> a -> b -> END;
    }
}

#[tokio::test]
async fn the_flow_hook_and_a_run_hook_nest() {
    let outer = Log::named("flow");
    let inner = Log::named("run");
    let calc = Calc::new(()).with_hook(&outer);
    assert_eq!(calc.run(1).hook(&inner).await.unwrap(), 4);
    let mut lines = outer.take();
    lines.extend(inner.take());
    assert_eq!(
        lines,
        [
            "flow run Calc",
            "flow step 1 a",
            "flow done a",
            "flow step 2 b",
            "flow done b",
            "flow end",
            "run run Calc",
            "run step 1 a",
            "run done a",
            "run step 2 b",
            "run done b",
            "run end",
        ]
    );
    // Without a run hook only the flow's own hook runs.
    assert_eq!(calc.run(2).await.unwrap(), 6);
    assert_eq!(outer.take().len(), 6);
    assert!(inner.take().is_empty());
}

/// Notes, into a shared list, each step it wraps and the beginning and end of each run.
struct Tag<'a>(&'static str, &'a Mutex<Vec<String>>);

impl StepHook for Tag<'_> {
    fn step<N: Node, F: Future<Output = Result<N::Output, N::Error>>>(
        &self,
        _: &Context,
        _: &'static NodeInfo,
        call: F,
    ) -> impl Future<Output = F::Output> {
        self.1.lock().unwrap().push(format!("{} step", self.0));
        call
    }

    async fn run<T, F: Future<Output = Result<T, FlowError>>>(
        &self,
        _: &'static GraphInfo,
        _: RunId,
        run: F,
    ) -> F::Output {
        self.1.lock().unwrap().push(format!("{} begins", self.0));
        let out = run.await;
        self.1.lock().unwrap().push(format!("{} ends", self.0));
        out
    }
}

#[tokio::test]
async fn the_hook_pair_orders_outer_before_inner() {
    let order = Mutex::new(Vec::new());
    let calc = Calc::new(()).with_hook(Tag("outer", &order));
    calc.run(0).hook(Tag("inner", &order)).await.unwrap();
    // The flow's hook wraps the run's. At each step the inner hook wraps the call first
    // (it is built first), then the outer one.
    assert_eq!(
        *order.lock().unwrap(),
        [
            "outer begins",
            "inner begins",
            "inner step",
            "outer step",
            "inner step",
            "outer step",
            "inner ends",
            "outer ends",
        ]
    );
}

/// Counts the steps of the runs that start while it is on; the other runs go through
/// `NoHook`, as `Traced` does when nobody listens.
#[derive(Default)]
struct Switch {
    on: AtomicBool,
    steps: AtomicU32,
    runs: AtomicU32,
}

impl StepHook for Switch {
    fn step<N: Node, F: Future<Output = Result<N::Output, N::Error>>>(
        &self,
        _: &Context,
        _: &'static NodeInfo,
        call: F,
    ) -> impl Future<Output = F::Output> {
        self.steps.fetch_add(1, Ordering::Relaxed);
        call
    }

    fn run<T, F: Future<Output = Result<T, FlowError>>>(
        &self,
        _: &'static GraphInfo,
        _: RunId,
        run: F,
    ) -> impl Future<Output = F::Output> {
        self.runs.fetch_add(1, Ordering::Relaxed);
        run
    }

    async fn start<T, S: RunStart<T>>(
        &self,
        graph: &'static GraphInfo,
        run_id: RunId,
        start: S,
    ) -> Result<T, FlowError> {
        if self.on.load(Ordering::Relaxed) {
            self.run(graph, run_id, start.start(self)).await
        } else {
            start.start(NoHook).await
        }
    }
}

impl Switch {
    fn seen(&self) -> (u32, u32) {
        (
            self.runs.swap(0, Ordering::Relaxed),
            self.steps.swap(0, Ordering::Relaxed),
        )
    }
}

#[tokio::test]
async fn a_hook_chooses_once_per_run_whether_it_wraps_the_steps() {
    let switch = Switch::default();
    let calc = Calc::new(()).with_hook(&switch);
    assert_eq!(calc.run(1).await.unwrap(), 4);
    assert_eq!(switch.seen(), (0, 0));
    switch.on.store(true, Ordering::Relaxed);
    assert_eq!(calc.run(1).await.unwrap(), 4);
    assert_eq!(switch.seen(), (1, 2));
}

#[tokio::test]
async fn each_hook_of_a_pair_chooses_for_itself() {
    let log = Log::named("log");
    let switch = Switch::default();
    // The switch outside, the log inside, then the other way round.
    let outer = Calc::new(()).with_hook(&switch);
    let inner = Calc::new(()).with_hook(&log);
    for on in [false, true] {
        switch.on.store(on, Ordering::Relaxed);
        let wrapped = if on { (1, 2) } else { (0, 0) };
        assert_eq!(outer.run(1).hook(&log).await.unwrap(), 4);
        assert_eq!(switch.seen(), wrapped);
        assert_eq!(
            log.take().len(),
            6,
            "the log sees its run whatever the switch does"
        );
        assert_eq!(inner.run(1).hook(&switch).await.unwrap(), 4);
        assert_eq!(switch.seen(), wrapped);
        assert_eq!(log.take().len(), 6);
    }
}
