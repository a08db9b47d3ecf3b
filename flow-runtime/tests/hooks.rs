//! Step hooks: the flow's own hook and a per-run hook see every run and every step, in
//! the documented order.

#![allow(clippy::unwrap_used)] // reason: test helpers outside #[test] fns; a poisoned lock should fail the test

use core::future::Future;
use std::sync::Mutex;

use flow_runtime::prelude::*;
use flow_runtime::{GraphInfo, NodeInfo};

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
    assert_eq!(calc.run_with(1, &inner).await.unwrap(), 4);
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

#[tokio::test]
async fn the_hook_pair_orders_outer_before_inner() {
    let order = Mutex::new(Vec::new());
    struct Tag<'a>(&'static str, &'a Mutex<Vec<&'static str>>);
    impl StepHook for Tag<'_> {
        fn step<N: Node, F: Future<Output = Result<N::Output, N::Error>>>(
            &self,
            _: &Context,
            _: &'static NodeInfo,
            call: F,
        ) -> impl Future<Output = F::Output> {
            self.1.lock().unwrap().push(self.0);
            call
        }
    }
    let calc = Calc::new(()).with_hook(Tag("outer", &order));
    calc.run_with(0, Tag("inner", &order)).await.unwrap();
    // The inner hook wraps the call first (it is built first), then the outer one.
    assert_eq!(*order.lock().unwrap(), ["inner", "outer", "inner", "outer"]);
}
