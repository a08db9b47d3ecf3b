//! Tracing spans and `metrics` for every run and node call, as step hooks.
//!
//! Install them for every run of a flow with `flow.with_hook(..)` (pairs combine them:
//! `with_hook((Traced, Metered))`) or for one run with `run_with`. A flow without them
//! pays nothing. With them and no subscriber or recorder installed, each node call still
//! costs a little (a disabled span; metric keys and two clock reads);
//! `docs/observability.md` has the measured cost.
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
//! | `flow_runs_total` | counter | `flow`, `outcome` (`ok`, `node_failed`, `step_limit`, `timeout`, `cancelled`) |
//! | `flow_run_duration_seconds` | histogram | `flow` |
//! | `flow_runs_in_flight` | gauge | `flow` |
//! | `flow_node_duration_seconds` | histogram | `flow`, `node` |
//! | `flow_node_errors_total` | counter | `flow`, `node`, `kind` ([`ErrorKind`](crate::ErrorKind)) |
//! | `flow_node_retries_total` | counter | `flow`, `node` |
//! | `flow_circuit_state` | gauge | `flow`, `node` (0 closed, 1 open, 2 half-open) |
//!
//! Labels are bounded: flow and node names come from the graph, never from run data.
//! Retries and breaker changes reach [`Metered`] from inside the call through
//! [`StepObserver`](crate::StepObserver), the observer `#[node]` gives a node's policies.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context as TaskContext, Poll, ready};

use tracing::field::Empty;

#[cfg(feature = "metrics")]
use crate::policy::BreakerState;
#[cfg(feature = "metrics")]
use crate::scope::{self, Scope};
use crate::{Context, FlowError, GraphInfo, Node, NodeInfo, RunId, StepHook};

/// A span per run and per node call.
///
/// ```
/// use flow_runtime::prelude::*;
/// use flow_runtime::telemetry::Traced;
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

    #[inline(always)]
    fn run<T, F: Future<Output = Result<T, FlowError>>>(
        &self,
        graph: &'static GraphInfo,
        run_id: RunId,
        run: F,
    ) -> impl Future<Output = F::Output> {
        let span = tracing::info_span!(
            "flow.run",
            flow = graph.name,
            run_id = %run_id,
            outcome = Empty,
        );
        let run = WarnOnError { run };
        if span.is_disabled() {
            return MaybeInSpan::Plain { call: run };
        }
        MaybeInSpan::InSpan { call: run, span }
    }
}

pin_project_lite::pin_project! {
    /// A node call, inside its `flow.node` span when a subscriber wants it.
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
/// use flow_runtime::prelude::*;
/// use flow_runtime::telemetry::{Metered, Traced};
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

#[cfg(feature = "metrics")]
fn run_outcome<T>(result: &Result<T, FlowError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(FlowError::Node { .. }) => "node_failed",
        Err(FlowError::StepLimit { .. }) => "step_limit",
        Err(FlowError::Timeout { .. }) => "timeout",
        Err(FlowError::Cancelled { .. }) => "cancelled",
    }
}

/// The value of `flow_circuit_state` for a breaker in `state`.
#[cfg(feature = "metrics")]
pub(crate) fn circuit_state_value(state: BreakerState) -> f64 {
    match state {
        BreakerState::Closed => 0.0,
        BreakerState::Open => 1.0,
        BreakerState::HalfOpen => 2.0,
    }
}

#[cfg(feature = "metrics")]
impl StepHook for Metered {
    fn step<N: Node, F: Future<Output = Result<N::Output, N::Error>>>(
        &self,
        cx: &Context,
        node: &'static NodeInfo,
        call: F,
    ) -> impl Future<Output = F::Output> {
        let (flow, step) = (cx.flow(), cx.step());
        async move {
            let started = tokio::time::Instant::now();
            // Only policies report from inside a call.
            let out = if N::HAS_POLICIES {
                let listen = |s: &mut Scope| s.metered = true;
                scope::within(flow, node.name, step, listen, call).await
            } else {
                call.await
            };
            let labels = [("flow", flow), ("node", node.name)];
            metrics::histogram!("flow_node_duration_seconds", &labels)
                .record(started.elapsed().as_secs_f64());
            if let Err(err) = &out {
                let kind = N::error_kind(err).as_str();
                let labels = [("flow", flow), ("node", node.name), ("kind", kind)];
                metrics::counter!("flow_node_errors_total", &labels).increment(1);
            }
            out
        }
    }

    fn run<T, F: Future<Output = Result<T, FlowError>>>(
        &self,
        graph: &'static GraphInfo,
        _run_id: RunId,
        run: F,
    ) -> impl Future<Output = F::Output> {
        let flow = graph.name;
        async move {
            let in_flight = metrics::gauge!("flow_runs_in_flight", "flow" => flow);
            in_flight.increment(1.0);
            // Decrements also when the run is dropped midway.
            let _leave = Leave(in_flight);
            let started = tokio::time::Instant::now();
            let out = run.await;
            metrics::histogram!("flow_run_duration_seconds", "flow" => flow)
                .record(started.elapsed().as_secs_f64());
            metrics::counter!("flow_runs_total", "flow" => flow, "outcome" => run_outcome(&out))
                .increment(1);
            out
        }
    }
}

#[cfg(feature = "metrics")]
struct Leave(metrics::Gauge);

#[cfg(feature = "metrics")]
impl Drop for Leave {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}
