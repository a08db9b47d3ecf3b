//! Tracing spans and `metrics` for every run and node call, as step hooks.
//!
//! Install them for every run of a flow with `flow.with_hook(..)` (pairs combine them:
//! `with_hook((Traced, Metered))`) or for one run with `flow.run(input).hook(..)`. A flow
//! without them pays nothing. [`Traced`] with no subscriber (or one that does not want the run's span)
//! runs the steps without any hook, and costs one check per run. [`Metered`] cannot tell
//! whether a recorder is installed: each node call costs a recorder lookup of a key built
//! at compile time and two clock reads. `docs/observability.md` has the measured cost.
//!
//! # Spans
//!
//! | span | fields |
//! |---|---|
//! | `flow.run` | `flow`, `run_id`, `outcome` (`ok` or `error`, recorded at the end) |
//! | `flow.node` (child of `flow.run`) | `flow`, `node`, `step`, `outcome` |
//! | `flow.attempt` (child of `flow.node`) | `node`, `attempt`, `outcome`: each attempt of a node with policies |
//!
//! Whatever a node's own code logs is inside its `flow.node` span. Retries, timeouts and
//! breaker changes are events of the policies (target `flow::policy`), inside that span.
//!
//! # Metrics
//!
//! | name | kind | labels |
//! |---|---|---|
//! | `flow_runs_total` | counter | `flow`, `outcome` (`ok`, `node_failed`, `step_limit`, `timeout`, `cancelled`, `merge_conflict`, `refused`) |
//! | `flow_waits_total` | counter | `flow`, `node`: runs that stopped at the interrupt `node` to wait for an answer (each also counted `ok` above) |
//! | `flow_run_duration_seconds` | histogram | `flow` |
//! | `flow_runs_in_flight` | gauge | `flow` |
//! | `flow_node_duration_seconds` | histogram | `flow`, `node` |
//! | `flow_node_errors_total` | counter | `flow`, `node`, `kind` ([`ErrorKind`](crate::ErrorKind)) |
//! | `flow_node_retries_total` | counter | `flow`, `node` |
//! | `flow_circuit_state` | gauge | `flow`, `node` (0 closed, 1 open, 2 half-open) |
//!
//! Labels are bounded: flow and node names come from the graph, never from run data. A
//! subgraph's nodes are the outer flow's series, their `node` their path (`sub/node`).
//! Retries and breaker changes reach [`Metered`] from inside the call through
//! [`StepObserver`](crate::StepObserver), the observer `#[node]` gives a node's policies.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context as TaskContext, Poll, ready};

use tracing::field::Empty;

#[cfg(feature = "metrics")]
use crate::keys::METADATA;
#[cfg(feature = "metrics")]
use crate::policy::BreakerState;
#[cfg(feature = "metrics")]
use crate::scope::{self, Scope};
use crate::{Context, FlowError, GraphInfo, NoHook, Node, NodeInfo, RunId, RunStart, StepHook};

/// A span per run and per node call.
///
/// ```
/// use typedflow::prelude::*;
/// use typedflow::telemetry::Traced;
///
/// #[node]
/// async fn work(x: u32) -> u32 {
///     tracing::info!(x, "working"); // logged inside the `flow.node` span
///     x
/// }
///
/// graph! {
///     Work(u32) -> u32 {
///         START -> work -> END;
///     }
/// }
/// let flow = Work::new(()).with_hook(Traced);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Traced;

fn outcome<T, E>(result: &Result<T, E>) -> &'static str {
    if result.is_ok() { "ok" } else { "error" }
}

impl StepHook for Traced {
    #[inline(always)]
    fn step<N: Node, F: Future<Output = Result<N::Output, N::Error>>>(
        &self,
        cx: &Context,
        node: &'static NodeInfo,
        call: F,
    ) -> impl Future<Output = F::Output> {
        let span = tracing::info_span!(
            "flow.node",
            flow = cx.flow(),
            node = node.name,
            step = cx.step(),
            outcome = Empty,
        );
        // With nobody listening, the call goes as it is: no span to enter at each poll.
        if span.is_disabled() {
            return MaybeInSpan::Plain { call };
        }
        MaybeInSpan::InSpan { call, span }
    }

    /// An `info` event in the run's span: the run waits at the interrupt.
    #[inline(always)]
    fn waiting(
        &self,
        cx: &Context,
        interrupt: &'static NodeInfo,
        question: &'static str,
    ) -> impl Future<Output = ()> {
        tracing::info!(
            flow = cx.flow(),
            node = interrupt.name,
            step = cx.step(),
            question,
            "the run waits for an answer"
        );
        core::future::ready(())
    }

    #[inline(always)]
    fn run<T, F: Future<Output = Result<T, FlowError>>>(
        &self,
        graph: &'static GraphInfo,
        run_id: RunId,
        run: F,
    ) -> impl Future<Output = F::Output> {
        let span = run_span(graph, run_id);
        let run = WarnOnError { run };
        if span.is_disabled() {
            return MaybeInSpan::Plain { call: run };
        }
        MaybeInSpan::InSpan { call: run, span }
    }

    /// A run whose `flow.run` span the subscriber does not want (or with no subscriber)
    /// goes through no hook at all: its steps make no spans and cost what they cost
    /// without `Traced`. Its error is still logged if `warn` events are wanted.
    ///
    /// A traced run is boxed: one allocation per run, next to the spans' own cost, keeps
    /// the run that nobody traces small and fast.
    #[inline(always)]
    fn start<T, S: RunStart<T>>(
        &self,
        graph: &'static GraphInfo,
        run_id: RunId,
        start: S,
    ) -> impl Future<Output = Result<T, FlowError>> {
        let span = run_span(graph, run_id);
        if span.is_disabled() {
            return TracedRun::Quiet {
                run: WarnOnError {
                    run: start.start(NoHook),
                },
            };
        }
        let run = MaybeInSpan::InSpan {
            call: WarnOnError {
                run: start.start(self),
            },
            span,
        };
        TracedRun::Traced { run: Box::pin(run) }
    }
}

/// The `flow.run` span of a run, disabled when no subscriber wants it.
#[inline(always)]
fn run_span(graph: &'static GraphInfo, run_id: RunId) -> tracing::Span {
    tracing::info_span!(
        "flow.run",
        flow = graph.name,
        run_id = %run_id,
        outcome = Empty,
    )
}

pin_project_lite::pin_project! {
    /// A node call or a run, inside its span when a subscriber wants it.
    #[project = MaybeInSpanProj]
    #[must_use = "futures do nothing unless polled"]
    enum MaybeInSpan<F> {
        /// Nobody listens.
        Plain { #[pin] call: F },
        /// In the span, which gets the outcome at the end.
        InSpan { #[pin] call: F, span: tracing::Span },
    }
}

impl<T, E, F: Future<Output = Result<T, E>>> Future for MaybeInSpan<F> {
    type Output = F::Output;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        match self.project() {
            MaybeInSpanProj::Plain { call } => call.poll(cx),
            MaybeInSpanProj::InSpan { call, span } => {
                let entered = span.enter();
                let out = ready!(call.poll(cx));
                drop(entered);
                span.record("outcome", outcome(&out));
                Poll::Ready(out)
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// A run that [`Traced`] starts: with no hook when nobody traces it, else boxed in its
    /// span.
    #[project = TracedRunProj]
    #[must_use = "futures do nothing unless polled"]
    enum TracedRun<Q, F> {
        /// Nobody traces the run.
        Quiet { #[pin] run: Q },
        /// The run in its span.
        Traced { run: Pin<Box<F>> },
    }
}

impl<T, Q: Future<Output = T>, F: Future<Output = T>> Future for TracedRun<Q, F> {
    type Output = T;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<T> {
        match self.project() {
            TracedRunProj::Quiet { run } => run.poll(cx),
            TracedRunProj::Traced { run } => run.as_mut().poll(cx),
        }
    }
}

pin_project_lite::pin_project! {
    /// A run that logs its error, if it ends with one, as a `warn` event.
    #[must_use = "futures do nothing unless polled"]
    struct WarnOnError<F> {
        #[pin]
        run: F,
    }
}

impl<T, F: Future<Output = Result<T, FlowError>>> Future for WarnOnError<F> {
    type Output = F::Output;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let out = ready!(self.project().run.poll(cx));
        if let Err(err) = &out {
            tracing::warn!(error = %err, "run failed");
        }
        Poll::Ready(out)
    }
}

/// The `metrics` of every run and node call (names and labels in the module docs).
///
/// ```
/// use typedflow::prelude::*;
/// use typedflow::telemetry::{Metered, Traced};
///
/// #[node]
/// async fn work(x: u32) -> u32 { x }
///
/// graph! {
///     Work(u32) -> u32 {
///         START -> work -> END;
///     }
/// }
/// let flow = Work::new(()).with_hook((Traced, Metered));
/// ```
#[cfg(feature = "metrics")]
#[derive(Debug, Clone, Copy, Default)]
pub struct Metered;

/// The value of `flow_circuit_state` for a breaker in `state`.
#[cfg(feature = "metrics")]
pub(crate) fn circuit_state_value(state: BreakerState) -> f64 {
    match state {
        BreakerState::Closed => 0.0,
        BreakerState::Open => 1.0,
        BreakerState::HalfOpen => 2.0,
    }
}

// The keys come ready from the graph's key table (`keys.rs`): a node call costs the recorder's
// lookup of a prepared key, not a label list to allocate and hash.
#[cfg(feature = "metrics")]
impl StepHook for Metered {
    fn step<N: Node, F: Future<Output = Result<N::Output, N::Error>>>(
        &self,
        cx: &Context,
        node: &'static NodeInfo,
        call: F,
    ) -> impl Future<Output = F::Output> {
        let step = cx.step();
        async move {
            // Records the call's duration when it ends, and also when it is dropped before
            // it ends (the flow's timeout, a cancellation), then as a `cancelled` error.
            let mut call_end = NodeCallEnd {
                node,
                started: tokio::time::Instant::now(),
                ended: false,
            };
            // Only policies report from inside a call.
            let out = if N::HAS_POLICIES {
                let listen = |s: &mut Scope| s.metered = Some(node.keys());
                scope::within(node.name, step, listen, call).await
            } else {
                call.await
            };
            call_end.ended = true;
            drop(call_end);
            if let Err(err) = &out {
                node_error(node, N::error_kind(err));
            }
            out
        }
    }

    fn waiting(
        &self,
        _cx: &Context,
        interrupt: &'static NodeInfo,
        _question: &'static str,
    ) -> impl Future<Output = ()> {
        run_waits(interrupt);
        core::future::ready(())
    }

    fn run<T, F: Future<Output = Result<T, FlowError>>>(
        &self,
        graph: &'static GraphInfo,
        _run_id: RunId,
        run: F,
    ) -> impl Future<Output = F::Output> {
        let keys = graph.keys;
        async move {
            let _in_flight = InFlight::enter(keys);
            let started = tokio::time::Instant::now();
            let out = run.await;
            record_run(keys, started.elapsed(), &out);
            out
        }
    }
}

/// Records a finished run in `flow_run_duration_seconds` and `flow_runs_total`.
#[cfg(feature = "metrics")]
fn record_run<T>(
    keys: &'static crate::keys::FlowKeys,
    elapsed: core::time::Duration,
    out: &Result<T, FlowError>,
) {
    let runs = keys.runs(out);
    metrics::with_recorder(|r| {
        r.register_histogram(&keys.duration, &METADATA)
            .record(elapsed.as_secs_f64());
        r.register_counter(runs, &METADATA).increment(1);
    });
}

/// A run counted in `flow_runs_in_flight` until dropped, also midway.
#[cfg(feature = "metrics")]
struct InFlight(metrics::Gauge);

#[cfg(feature = "metrics")]
impl InFlight {
    fn enter(keys: &'static crate::keys::FlowKeys) -> Self {
        let gauge = metrics::with_recorder(|r| r.register_gauge(&keys.in_flight, &METADATA));
        gauge.increment(1.0);
        InFlight(gauge)
    }
}

#[cfg(feature = "metrics")]
impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// Counts a failed node call in `flow_node_errors_total`; the `kind` label makes its key.
/// The end of a node call under `Metered`: records its duration when dropped, and a
/// `cancelled` error if the call was dropped before it ended.
#[cfg(feature = "metrics")]
struct NodeCallEnd {
    node: &'static NodeInfo,
    started: tokio::time::Instant,
    ended: bool,
}

#[cfg(feature = "metrics")]
impl Drop for NodeCallEnd {
    fn drop(&mut self) {
        let elapsed = self.started.elapsed().as_secs_f64();
        metrics::with_recorder(|r| r.register_histogram(&self.node.keys().duration, &METADATA))
            .record(elapsed);
        if !self.ended {
            node_error(self.node, crate::ErrorKind::Cancelled);
        }
    }
}

/// Counts a run that stopped at `interrupt` to wait for an answer in
/// `flow_waits_total{flow, node}`. Rare: its key is made here.
#[cfg(feature = "metrics")]
#[cold]
fn run_waits(interrupt: &'static NodeInfo) {
    let key = metrics::Key::from_parts("flow_waits_total", interrupt.keys().labels.to_vec());
    metrics::with_recorder(|r| r.register_counter(&key, &METADATA)).increment(1);
}

#[cfg(feature = "metrics")]
#[cold]
fn node_error(node: &'static NodeInfo, kind: crate::ErrorKind) {
    let mut labels = node.keys().labels.to_vec();
    labels.push(metrics::Label::from_static_parts("kind", kind.as_str()));
    let key = metrics::Key::from_parts("flow_node_errors_total", labels);
    metrics::with_recorder(|r| r.register_counter(&key, &METADATA)).increment(1);
}
