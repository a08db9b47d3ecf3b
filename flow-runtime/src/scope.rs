//! The step in progress, as the code inside a node call sees it.
//!
//! A hook that wants to hear what happens inside a call ([`Metered`](crate::telemetry::Metered),
//! the event stream) runs the call in a task-local scope naming the step and saying who
//! listens. Inside it, the node's policies report retries, timeouts and breaker changes
//! through [`StepObserver`], and [`Context::emit_token`](crate::Context::emit_token) sends
//! tokens. Outside any such scope both do nothing, so a flow without these hooks pays
//! nothing for them; with them, only the rare events (a retry, a breaker change) reach the
//! task-local.

use core::future::Future;

use crate::events::{Event, Sink};
#[cfg(feature = "metrics")]
use crate::keys::METADATA;
use crate::policy::{AttemptTimedOut, BreakerTransition, Observer, RateLimited, RetryScheduled};

tokio::task_local! {
    static STEP: Scope;
}

/// Who listens inside the step in progress.
#[derive(Clone, Default)]
pub(crate) struct Scope {
    node: &'static str,
    step: u32,
    /// The node's metric keys, when `Metered` listens.
    #[cfg(feature = "metrics")]
    pub(crate) metered: Option<&'static crate::keys::NodeKeys>,
    pub(crate) events: Option<Sink>,
}

/// Runs `call`, the call of `node` at `step`, in a step scope: the listeners of the
/// scope it runs in (an outer hook's), and those `listen` adds.
pub(crate) async fn within<F: Future>(
    node: &'static str,
    step: u32,
    listen: impl FnOnce(&mut Scope),
    call: F,
) -> F::Output {
    // Read when first polled, so inside the scope of a hook that wraps this one.
    let mut scope = STEP.try_with(Scope::clone).unwrap_or_default();
    scope.node = node;
    scope.step = step;
    listen(&mut scope);
    STEP.scope(scope, call).await
}

/// The node and step of the scope in progress, and its event sink, if a stream listens.
pub(crate) fn event_sink() -> Option<(Sink, &'static str, u32)> {
    STEP.try_with(|s| s.events.clone().map(|sink| (sink, s.node, s.step)))
        .ok()
        .flatten()
}

/// The observer `#[node]` gives a node's policies: it hands every retry, timeout and
/// breaker change to the hooks of the step in progress.
///
/// Under [`Metered`](crate::telemetry::Metered) a retry counts in
/// `flow_node_retries_total`, a wait for a rate-limit permit in
/// `flow_node_rate_limited_total`, and a breaker change sets `flow_circuit_state`; under a
/// stream ([`Run::stream`](crate::Run::stream)) each is an [`Event`]. Outside a step
/// (a node's policies called by hand) it does nothing. The policies' tracing events are
/// emitted either way.
///
/// ```
/// use typedflow::policy::NodePolicies;
/// use typedflow::StepObserver;
///
/// let policies = NodePolicies::new("fetch").with_observer(StepObserver);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepObserver;

impl Observer for StepObserver {
    fn on_retry(&self, event: &RetryScheduled) {
        let _ = STEP.try_with(|s| {
            #[cfg(feature = "metrics")]
            if let Some(keys) = s.metered {
                metrics::with_recorder(|r| r.register_counter(&keys.retries, &METADATA))
                    .increment(1);
            }
            if let Some(sink) = &s.events {
                sink.push(Event::RetryScheduled {
                    node: s.node,
                    step: s.step,
                    attempt: event.attempt,
                    delay: event.delay,
                });
            }
        });
    }

    fn on_timeout(&self, event: &AttemptTimedOut) {
        let _ = STEP.try_with(|s| {
            if let Some(sink) = &s.events {
                sink.push(Event::AttemptTimedOut {
                    node: s.node,
                    step: s.step,
                    attempt: event.attempt,
                    timeout: event.timeout,
                });
            }
        });
    }

    fn on_rate_limited(&self, event: &RateLimited) {
        let _ = STEP.try_with(|s| {
            // A wait already happened: a key built here costs nothing next to it.
            #[cfg(feature = "metrics")]
            if let Some(keys) = s.metered {
                let key =
                    metrics::Key::from_static_parts("flow_node_rate_limited_total", &keys.labels);
                metrics::with_recorder(|r| r.register_counter(&key, &METADATA)).increment(1);
            }
            if let Some(sink) = &s.events {
                sink.push(Event::RateLimited {
                    node: s.node,
                    step: s.step,
                    waited: event.waited,
                });
            }
        });
    }

    fn on_breaker(&self, event: &BreakerTransition) {
        let _ = STEP.try_with(|s| {
            #[cfg(feature = "metrics")]
            if let Some(keys) = s.metered {
                metrics::with_recorder(|r| r.register_gauge(&keys.circuit, &METADATA))
                    .set(crate::telemetry::circuit_state_value(event.to));
            }
            if let Some(sink) = &s.events {
                sink.push(Event::BreakerChanged {
                    node: s.node,
                    from: event.from,
                    to: event.to,
                });
            }
        });
    }
}
