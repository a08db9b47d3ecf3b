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
/// A flow has one hook for all its runs (`Flow::with_hook`) and can take more for a
/// single run (`flow.run(input).hook(h)`); the run's hooks are inside the flow's.
///
/// # Example
///
/// ```
/// use core::future::Future;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use typedflow::{Context, Node, NodeInfo, StepHook};
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
    /// Whether [`step`](StepHook::step) (or [`waiting`](StepHook::waiting)) may read the
    /// step number of the [`Context`] it is given ([`Context::step`],
    /// [`Context::idempotency_key`]). A hook that leaves it `true` always sees the current
    /// number; one that sets it to `false` may see a stale one in a flow whose steps are
    /// numbered in advance (see [`Node::READS_STEP`]), where the run loop then skips
    /// writing the number for nodes that do not read it either.
    ///
    /// # Default
    ///
    /// `true`. [`NoHook`] sets it to `false`, and a pair of hooks or a reference to one
    /// says what its parts say.
    const READS_STEP: bool = true;

    /// Wraps the call of `node` (of type `N`) at the step `cx.step()`; the call ends with
    /// the node's output or its error.
    ///
    /// # Default
    ///
    /// Returns `call` unchanged: a hook that only wraps whole runs need not write it.
    #[inline(always)]
    fn step<N: Node, F: Future<Output = Result<N::Output, N::Error>>>(
        &self,
        cx: &Context,
        node: &'static NodeInfo,
        call: F,
    ) -> impl Future<Output = F::Output> {
        let _ = (cx, node);
        call
    }

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

    /// The run stopped at the interrupt `interrupt`, asking a `question` (its type as the
    /// graph writes it), and is saved waiting for the answer: called by a checkpointed run
    /// of a durable flow, after the save. The run then ends (its `run` gives the waiting
    /// outcome, not an error).
    ///
    /// # Default
    ///
    /// Nothing.
    #[inline(always)]
    fn waiting(
        &self,
        cx: &Context,
        interrupt: &'static NodeInfo,
        question: &'static str,
    ) -> impl Future<Output = ()> {
        let _ = (cx, interrupt, question);
        core::future::ready(())
    }

    /// A step limit this hook sets for the run, tighter than the flow's own (the lower of
    /// the two applies): how [`Run::max_steps`](crate::Run::max_steps) reaches the run
    /// loop. The loop asks once per run, after the hooks have started it.
    ///
    /// # Default
    ///
    /// `None`: no limit of its own. For a hook that does not override it, the check
    /// compiles away.
    #[inline(always)]
    fn step_limit(&self) -> Option<u32> {
        None
    }

    /// Starts a run and wraps it: the generated `run` calls this once per run, with the
    /// run ready to [`start`](RunStart::start) with whichever hook its steps go through.
    ///
    /// A hook that can tell at the start of a run that it has nothing to do for that run
    /// (as [`Traced`](crate::telemetry::Traced) when no subscriber wants the run) overrides
    /// this to start the run with [`NoHook`], so that its steps cost what they cost in a
    /// flow without the hook. The choice is made once per run, not at every step.
    ///
    /// # Default
    ///
    /// `self.run(graph, run_id, start.start(self))`: every step goes through this hook.
    ///
    /// # Example
    ///
    /// A hook that counts the steps of runs only while it is switched on; when it is off,
    /// a run pays nothing for it:
    ///
    /// ```
    /// use core::future::Future;
    /// use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    /// use typedflow::{Context, FlowError, GraphInfo, NoHook, Node, NodeInfo, RunId, RunStart, StepHook};
    ///
    /// #[derive(Default)]
    /// struct CountSteps {
    ///     on: AtomicBool,
    ///     steps: AtomicU32,
    /// }
    ///
    /// impl StepHook for CountSteps {
    ///     fn step<N: Node, F: Future<Output = Result<N::Output, N::Error>>>(
    ///         &self,
    ///         _cx: &Context,
    ///         _node: &'static NodeInfo,
    ///         call: F,
    ///     ) -> impl Future<Output = F::Output> {
    ///         self.steps.fetch_add(1, Ordering::Relaxed);
    ///         call
    ///     }
    ///
    ///     async fn start<T, S: RunStart<T>>(
    ///         &self,
    ///         _graph: &'static GraphInfo,
    ///         _run_id: RunId,
    ///         start: S,
    ///     ) -> Result<T, FlowError> {
    ///         if self.on.load(Ordering::Relaxed) {
    ///             start.start(self).await
    ///         } else {
    ///             start.start(NoHook).await
    ///         }
    ///     }
    /// }
    /// ```
    #[inline(always)]
    fn start<T, S: RunStart<T>>(
        &self,
        graph: &'static GraphInfo,
        run_id: RunId,
        start: S,
    ) -> impl Future<Output = Result<T, FlowError>> {
        self.run(graph, run_id, start.start(self))
    }

    /// Starts the run that `begin` makes: `begin` returns the flow's hook (this one), the
    /// graph, the run's id and what [`start`](StepHook::start) starts. What a run that
    /// sets nothing of its own runs; generated code calls it, and a hook has nothing to
    /// override.
    ///
    /// # Default
    ///
    /// Calls `begin` and [`start`](StepHook::start) when the run is first polled, so that
    /// the hook's `start` and [`run`](StepHook::run) begin when the run does, not when its
    /// future is made. Until then the future keeps `begin` only, and after it `begin`'s
    /// captures (the flow and the input) beside the started run. [`NoHook`], which has no
    /// `start` of its own to run, calls them at once: its run's future is the run loop's
    /// own.
    #[doc(hidden)]
    #[inline(always)]
    fn begin<'a, T, S: RunStart<T>>(
        begin: impl FnOnce() -> (&'a Self, &'static GraphInfo, RunId, S),
    ) -> impl Future<Output = Result<T, FlowError>>
    where
        Self: 'a,
    {
        async move {
            let (hook, graph, run_id, start) = begin();
            hook.start(graph, run_id, start).await
        }
    }

    /// Starts the run of a flow used as a node (a subgraph) at a step of a flow with this
    /// hook, choosing the hook that the subgraph's nodes go through: what the generated
    /// [`NodeFn::call_hooked`](crate::NodeFn::call_hooked) of a subgraph calls. `nested[i]`
    /// describes the `i`-th node the subgraph runs ([`Node::NESTED`]) as the calling flow
    /// names it: by its path from there, such as `Write/draft`.
    ///
    /// The choice is made by the hook's type, as [`start`](StepHook::start) makes it once
    /// per run: [`NoHook`] starts the subgraph with `NoHook`, so that a subgraph called
    /// with no hook set runs the very loop of its own run, with nothing kept or checked at
    /// its steps for a hook.
    ///
    /// # Default
    ///
    /// `start.start(..)` with this hook, each inner node named by its description in
    /// `nested`: every node call inside the subgraph goes through [`step`](StepHook::step).
    /// A hook overrides it to leave a subgraph's nodes out (start it with [`NoHook`]), and
    /// a hook that forwards to another hook forwards it too.
    ///
    /// # Example
    ///
    /// A hook that counts the steps of a flow but not those inside its subgraphs:
    ///
    /// ```
    /// use core::future::Future;
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use typedflow::{Context, FlowError, NoHook, Node, NodeInfo, RunStart, StepHook};
    ///
    /// #[derive(Default)]
    /// struct CountOuterSteps(AtomicU32);
    ///
    /// impl StepHook for CountOuterSteps {
    ///     fn step<N: Node, F: Future<Output = Result<N::Output, N::Error>>>(
    ///         &self,
    ///         _cx: &Context,
    ///         _node: &'static NodeInfo,
    ///         call: F,
    ///     ) -> impl Future<Output = F::Output> {
    ///         self.0.fetch_add(1, Ordering::Relaxed);
    ///         call
    ///     }
    ///
    ///     fn start_nested<T, S: RunStart<T>>(
    ///         &self,
    ///         _nested: &'static [NodeInfo],
    ///         start: S,
    ///     ) -> impl Future<Output = Result<T, FlowError>> {
    ///         start.start(NoHook)
    ///     }
    /// }
    /// ```
    #[inline(always)]
    fn start_nested<T, S: RunStart<T>>(
        &self,
        nested: &'static [NodeInfo],
        start: S,
    ) -> impl Future<Output = Result<T, FlowError>> {
        start.start(SubHook { hook: self, nested })
    }
}

/// A run ready to start: what the generated `run` hands to [`StepHook::start`], which
/// chooses the hook that wraps the run's node calls.
pub trait RunStart<T> {
    /// Starts the run, with `hook` around each node call.
    fn start<K: StepHook>(self, hook: K) -> impl Future<Output = Result<T, FlowError>>;
}

/// The default hook: does nothing and costs nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHook;

impl StepHook for NoHook {
    const READS_STEP: bool = false;

    /// At once: `NoHook` begins nothing of its own, so the run's id is drawn when its
    /// future is made, and the future is the run loop's own.
    #[inline(always)]
    fn begin<'a, T, S: RunStart<T>>(
        begin: impl FnOnce() -> (&'a Self, &'static GraphInfo, RunId, S),
    ) -> impl Future<Output = Result<T, FlowError>> {
        let (hook, graph, run_id, start) = begin();
        hook.start(graph, run_id, start)
    }

    /// No hook for the inner nodes either: a subgraph called under `NoHook` runs as it
    /// runs on its own.
    #[inline(always)]
    fn start_nested<T, S: RunStart<T>>(
        &self,
        nested: &'static [NodeInfo],
        start: S,
    ) -> impl Future<Output = Result<T, FlowError>> {
        let _ = nested;
        start.start(NoHook)
    }
}

impl<H: StepHook + ?Sized> StepHook for &H {
    const READS_STEP: bool = H::READS_STEP;

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

    #[inline(always)]
    fn waiting(
        &self,
        cx: &Context,
        interrupt: &'static NodeInfo,
        question: &'static str,
    ) -> impl Future<Output = ()> {
        (**self).waiting(cx, interrupt, question)
    }

    #[inline(always)]
    fn step_limit(&self) -> Option<u32> {
        (**self).step_limit()
    }

    #[inline(always)]
    fn start<T, S: RunStart<T>>(
        &self,
        graph: &'static GraphInfo,
        run_id: RunId,
        start: S,
    ) -> impl Future<Output = Result<T, FlowError>> {
        (**self).start(graph, run_id, start)
    }

    #[inline(always)]
    fn begin<'b, T, S: RunStart<T>>(
        begin: impl FnOnce() -> (&'b Self, &'static GraphInfo, RunId, S),
    ) -> impl Future<Output = Result<T, FlowError>>
    where
        Self: 'b,
    {
        H::begin(move || {
            let (hook, graph, run_id, start) = begin();
            (*hook, graph, run_id, start)
        })
    }

    #[inline(always)]
    fn start_nested<T, S: RunStart<T>>(
        &self,
        nested: &'static [NodeInfo],
        start: S,
    ) -> impl Future<Output = Result<T, FlowError>> {
        (**self).start_nested(nested, start)
    }
}

/// Two hooks in one: `.0` wraps `.1`, which wraps the call.
impl<A: StepHook, B: StepHook> StepHook for (A, B) {
    const READS_STEP: bool = A::READS_STEP || B::READS_STEP;

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

    /// `.0` hears of it, then `.1`.
    #[inline(always)]
    async fn waiting(&self, cx: &Context, interrupt: &'static NodeInfo, question: &'static str) {
        self.0.waiting(cx, interrupt, question).await;
        self.1.waiting(cx, interrupt, question).await;
    }

    /// The lower of the two hooks' limits.
    #[inline(always)]
    fn step_limit(&self) -> Option<u32> {
        match (self.0.step_limit(), self.1.step_limit()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Each hook chooses for itself: `.0` starts the run with itself or with [`NoHook`],
    /// then `.1` does, and the steps go through the pair of their choices.
    #[inline(always)]
    fn start<T, S: RunStart<T>>(
        &self,
        graph: &'static GraphInfo,
        run_id: RunId,
        start: S,
    ) -> impl Future<Output = Result<T, FlowError>> {
        let inner = StartInner {
            hook: &self.1,
            choice: (graph, run_id),
            start,
        };
        self.0.start(graph, run_id, inner)
    }

    /// Each hook chooses for itself, as in [`start`](StepHook::start): the subgraph's
    /// steps go through the pair of their choices.
    #[inline(always)]
    fn start_nested<T, S: RunStart<T>>(
        &self,
        nested: &'static [NodeInfo],
        start: S,
    ) -> impl Future<Output = Result<T, FlowError>> {
        let inner = StartInner {
            hook: &self.1,
            choice: nested,
            start,
        };
        self.0.start_nested(nested, inner)
    }
}

/// What a hook chooses a hook for: a run ([`StepHook::start`], with the run's graph and
/// id) or a subgraph's run at a step ([`StepHook::start_nested`], with the subgraph's
/// nodes as the calling flow names them).
trait Choice: Copy {
    /// Has `hook` choose, and start `start` with its choice.
    fn choose<T, H: StepHook, S: RunStart<T>>(
        self,
        hook: &H,
        start: S,
    ) -> impl Future<Output = Result<T, FlowError>>;
}

impl Choice for (&'static GraphInfo, RunId) {
    #[inline(always)]
    fn choose<T, H: StepHook, S: RunStart<T>>(
        self,
        hook: &H,
        start: S,
    ) -> impl Future<Output = Result<T, FlowError>> {
        hook.start(self.0, self.1, start)
    }
}

impl Choice for &'static [NodeInfo] {
    #[inline(always)]
    fn choose<T, H: StepHook, S: RunStart<T>>(
        self,
        hook: &H,
        start: S,
    ) -> impl Future<Output = Result<T, FlowError>> {
        hook.start_nested(self, start)
    }
}

/// A start as the outer hook of a pair hands it on: the inner hook chooses next.
struct StartInner<'a, B, C, S> {
    hook: &'a B,
    choice: C,
    start: S,
}

impl<T, B: StepHook, C: Choice, S: RunStart<T>> RunStart<T> for StartInner<'_, B, C, S> {
    #[inline(always)]
    fn start<K: StepHook>(self, outer: K) -> impl Future<Output = Result<T, FlowError>> {
        let start = StartPair {
            outer,
            start: self.start,
        };
        self.choice.choose(self.hook, start)
    }
}

/// The start of a run once the outer hook of a pair has chosen: the steps go through both.
struct StartPair<K, S> {
    outer: K,
    start: S,
}

impl<T, K: StepHook, S: RunStart<T>> RunStart<T> for StartPair<K, S> {
    #[inline(always)]
    fn start<K2: StepHook>(self, inner: K2) -> impl Future<Output = Result<T, FlowError>> {
        self.start.start((self.outer, inner))
    }
}

/// The hook of a subgraph's run, inside a step of the flow that uses it (the default of
/// [`StepHook::start_nested`]): every node call of the subgraph goes through the outer flow's
/// hook, named as the outer flow names it (`sub/node`, from the outer flow's nested
/// nodes). A node the table does not know keeps its own description.
struct SubHook<'a, H: ?Sized> {
    hook: &'a H,
    nested: &'static [NodeInfo],
}

impl<H: StepHook + ?Sized> StepHook for SubHook<'_, H> {
    const READS_STEP: bool = H::READS_STEP;

    #[inline(always)]
    fn step<N: Node, F: Future<Output = Result<N::Output, N::Error>>>(
        &self,
        cx: &Context,
        node: &'static NodeInfo,
        call: F,
    ) -> impl Future<Output = F::Output> {
        // The subgraph describes its own nodes, and its subgraphs' as it names them, by
        // their index among its nested nodes: the outer flow's entry at that index.
        let node = match self.nested.get(node.index()) {
            Some(outer) => outer,
            None => node,
        };
        self.hook.step::<N, F>(cx, node, call)
    }
}
