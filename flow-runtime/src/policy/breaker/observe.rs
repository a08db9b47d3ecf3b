//! Reporting a breaker's changes of state: one tracing event each, and the observer hook.
//!
//! Called after the state machine's lock is released, so a slow subscriber or observer
//! never holds up other callers' admission.

use super::state::{BreakerState, Change};
use crate::policy::observe::{BreakerTransition, Observer, TRACING_TARGET};

/// Reports `change` of the breaker of `node`.
pub(crate) fn changed<O: Observer + ?Sized>(observer: &O, node: &'static str, change: Change) {
    let Change {
        from,
        to,
        cool_down,
    } = change;
    if to == BreakerState::Open {
        tracing::warn!(
            target: TRACING_TARGET,
            node,
            from = %from,
            state = %to,
            cool_down = ?cool_down,
            "circuit breaker opened"
        );
    } else {
        tracing::info!(
            target: TRACING_TARGET,
            node,
            from = %from,
            state = %to,
            "circuit breaker changed state"
        );
    }
    observer.on_breaker(&BreakerTransition {
        node,
        from,
        to,
        cool_down,
    });
}

/// Reports a call refused without calling the node.
pub(crate) fn refused(node: &'static str, state: BreakerState) {
    tracing::debug!(target: TRACING_TARGET, node, state = %state, "call refused by the circuit breaker");
}
