//! The one place where the generated run loop hands each run and each node call to
//! outside code.

use crate::{Context, FlowError, GraphInfo, Node, NodeInfo, RunId};
use core::future::Future;

/// Wraps every run and every node call of a flow.
///
/// The generated run loop calls `hook.run(graph, run_id, run)` once around a whole run and
/// `hook.step::<N, _>(cx, node, call)` around each node call, with `N` the node's type, so
/// a hook can ask the node about its error ([`Node::error_kind`], [`Node::attempts`]). Every method has a default that does
/// nothing, and [`NoHook`] compiles away entirely; event streams, tracing, metrics,
/// checkpointing or a durable engine wrap a run or a step here without a second code
/// generator.
///
/// A flow has one hook for all its runs (`Flow::with_hook`) and can take another for a
/// single run (`flow.run_with(input, hook)`); the run's hook is the inner one.
///
/// # Example
///
/// ```
/// use core::future::Future;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use flow_runtime::{Context, Node, NodeInfo, StepHook};
///
/// /// Counts the steps of every run.
/// #[derive(Default)]
/// struct CountSteps(AtomicU32);
///
/// impl StepHook for CountSteps {
///     fn step<N: Node, F: Future<Output = Result<N::Output, N::Error>>>(
///         &self,
///         _cx: &Context,
///         _node: &'static NodeInfo,
///         call: F,
///     ) -> impl Future<Output = F::Output> {
///         self.0.fetch_add(1, Ordering::Relaxed);
///         call
///     }
/// }
/// ```
pub trait StepHook {
    /// Wraps the call of `node` (of type `N`) at the step `cx.step()`; the call ends with
    /// the node's output or its error.
    fn step<N: Node, F: Future<Output = Result<N::Output, N::Error>>>(
        &self,
        cx: &Context,
        node: &'static NodeInfo,
        call: F,
    ) -> impl Future<Output = F::Output>;

    /// Wraps a whole run, from before its first step to the flow's output or error.
    ///
    /// # Default
    ///
    /// Returns `run` unchanged.
    #[inline(always)]
    fn run<T, F: Future<Output = Result<T, FlowError>>>(
        &self,
        graph: &'static GraphInfo,
        run_id: RunId,
        run: F,
    ) -> impl Future<Output = F::Output> {
        let _ = (graph, run_id);
        run
    }
}

/// The default hook: does nothing and costs nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHook;

impl StepHook for NoHook {
    #[inline(always)]
    fn step<N: Node, F: Future<Output = Result<N::Output, N::Error>>>(
        &self,
        _cx: &Context,
        _node: &'static NodeInfo,
        call: F,
    ) -> impl Future<Output = F::Output> {
        call
    }
}

impl<H: StepHook + ?Sized> StepHook for &H {
    #[inline(always)]
    fn step<N: Node, F: Future<Output = Result<N::Output, N::Error>>>(
        &self,
        cx: &Context,
        node: &'static NodeInfo,
        call: F,
    ) -> impl Future<Output = F::Output> {
        (**self).step::<N, _>(cx, node, call)
    }

    #[inline(always)]
    fn run<T, F: Future<Output = Result<T, FlowError>>>(
        &self,
        graph: &'static GraphInfo,
        run_id: RunId,
        run: F,
    ) -> impl Future<Output = F::Output> {
        (**self).run(graph, run_id, run)
    }
}

/// Two hooks in one: `.0` wraps `.1`, which wraps the call.
impl<A: StepHook, B: StepHook> StepHook for (A, B) {
    #[inline(always)]
    fn step<N: Node, F: Future<Output = Result<N::Output, N::Error>>>(
        &self,
        cx: &Context,
        node: &'static NodeInfo,
        call: F,
    ) -> impl Future<Output = F::Output> {
        self.0
            .step::<N, _>(cx, node, self.1.step::<N, _>(cx, node, call))
    }

    #[inline(always)]
    fn run<T, F: Future<Output = Result<T, FlowError>>>(
        &self,
        graph: &'static GraphInfo,
        run_id: RunId,
        run: F,
    ) -> impl Future<Output = F::Output> {
        self.0.run(graph, run_id, self.1.run(graph, run_id, run))
    }
}
