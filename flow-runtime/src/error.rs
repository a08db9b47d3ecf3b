//! The error a run ends with.

use std::time::Duration;

/// A boxed error, the form in which a node's error is kept as a [`FlowError`]'s source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a run of a flow did not produce its output.
///
/// Every variant names the flow; a node failure also names the node, the step and the
/// attempts made, and keeps the node's own error as its [`source`](std::error::Error::source),
/// so the whole cause chain can be printed or downcast:
///
/// ```
/// use std::error::Error as _;
/// use typedflow::FlowError;
///
/// fn report(err: &FlowError) -> String {
///     let mut out = err.to_string();
///     let mut cause = err.source();
///     while let Some(c) = cause {
///         out.push_str(&format!(": {c}"));
///         cause = c.source();
///     }
///     out
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// A node returned an error (after any retries its policy allowed).
    #[error("flow `{flow}`: node `{node}` failed at step {step} after {attempts} attempt(s)")]
    #[non_exhaustive]
    Node {
        /// The flow's name.
        flow: &'static str,
        /// The failing node's name.
        node: &'static str,
        /// The step at which it failed, counting from 1.
        step: u32,
        /// How many times the node was called before the run gave up.
        attempts: u32,
        /// The node's error.
        #[source]
        source: BoxError,
    },
    /// The run took more steps than its limit allows (the flow's `max_steps`, or the run's
    /// own, [`Run::max_steps`](crate::Run::max_steps)): a loop that did not end.
    #[error(
        "flow `{flow}` exceeded its limit of {max_steps} step(s) before node `{node}`; raise `max_steps` (in `#[flow(..)]`, or the run's `.max_steps(..)`) if the loop is meant to run longer"
    )]
    #[non_exhaustive]
    StepLimit {
        /// The flow's name.
        flow: &'static str,
        /// The node that would have run next.
        node: &'static str,
        /// The limit.
        max_steps: u32,
    },
    /// The run was cancelled through its cancellation token
    /// ([`Run::cancel_on`](crate::Run::cancel_on)); the node in progress was dropped and no
    /// further step started.
    #[error("flow `{flow}` was cancelled")]
    #[non_exhaustive]
    Cancelled {
        /// The flow's name.
        flow: &'static str,
    },
    /// Two branches of a merge join (`split -> {a, b} -> next`) changed one field of the
    /// state to different values, and the field names no merge strategy.
    #[error(
        "flow `{flow}`: branches `{}` and `{}` both changed field `{field}` of the merged state, to different values; give the field a strategy with `#[merge(..)]`, or change it in one branch only",
        branches[0], branches[1]
    )]
    #[non_exhaustive]
    MergeConflict {
        /// The flow's name.
        flow: &'static str,
        /// The field both branches changed.
        field: &'static str,
        /// The two branches, in written order.
        branches: [&'static str; 2],
    },
    /// The run was refused: the flow is shutting down
    /// ([`Shutdown::shutdown`](crate::shutdown::Shutdown::shutdown)) and starts no new runs.
    #[error("flow `{flow}` is shutting down and starts no new runs")]
    #[non_exhaustive]
    ShuttingDown {
        /// The flow's name.
        flow: &'static str,
    },
    /// A durable run could not save or load its checkpoint, or its checkpoint cannot be
    /// resumed (the graph changed, the run finished, the state cannot be read): see
    /// [`DurableError`](crate::durable::DurableError). Nothing saved before is lost.
    #[error("flow `{flow}`: durable run {run_id} stopped")]
    #[non_exhaustive]
    Durable {
        /// The flow's name.
        flow: &'static str,
        /// The run.
        run_id: crate::RunId,
        /// What went wrong.
        #[source]
        source: crate::durable::DurableError,
    },
    /// The run did not finish within the flow's `timeout`.
    #[error("flow `{flow}` did not finish within its timeout of {timeout:?}")]
    #[non_exhaustive]
    Timeout {
        /// The flow's name.
        flow: &'static str,
        /// The configured timeout.
        timeout: Duration,
    },
}

impl FlowError {
    /// The name of the flow whose run failed.
    pub fn flow(&self) -> &'static str {
        match self {
            FlowError::Node { flow, .. }
            | FlowError::StepLimit { flow, .. }
            | FlowError::Timeout { flow, .. }
            | FlowError::MergeConflict { flow, .. }
            | FlowError::Durable { flow, .. }
            | FlowError::Cancelled { flow }
            | FlowError::ShuttingDown { flow } => flow,
        }
    }

    /// The node that failed, or that would have run next when a limit stopped the run.
    pub fn node(&self) -> Option<&'static str> {
        match self {
            FlowError::Node { node, .. } | FlowError::StepLimit { node, .. } => Some(node),
            FlowError::Timeout { .. }
            | FlowError::Cancelled { .. }
            | FlowError::MergeConflict { .. }
            | FlowError::Durable { .. }
            | FlowError::ShuttingDown { .. } => None,
        }
    }

    /// The node's own error, if a node failed, for downcasting.
    pub fn node_error(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        match self {
            FlowError::Node { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }

    /// The innermost `FlowError` of this error's cause chain: itself, or, when a
    /// subgraph used as a node failed, the subgraph's own error (and so on down).
    pub fn innermost(&self) -> &FlowError {
        let mut inner = self;
        while let FlowError::Node { source, .. } = inner {
            match source.downcast_ref::<FlowError>() {
                Some(flow) => inner = flow,
                None => break,
            }
        }
        inner
    }

    /// Whether a step limit ended the run, this flow's or a subgraph's (through the
    /// cause chain). [`FlowError::StepLimit`]'s `flow` says whose.
    ///
    /// ```
    /// use typedflow::FlowError;
    ///
    /// # fn check(err: &FlowError) {
    /// if err.is_step_limit() {
    ///     eprintln!("a loop did not end: {}", err.innermost());
    /// }
    /// # }
    /// ```
    pub fn is_step_limit(&self) -> bool {
        matches!(self.innermost(), FlowError::StepLimit { .. })
    }

    /// Whether a flow's timeout ended the run, this flow's or a subgraph's.
    pub fn is_timeout(&self) -> bool {
        matches!(self.innermost(), FlowError::Timeout { .. })
    }

    /// Whether the run was cancelled, or a subgraph's was.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.innermost(), FlowError::Cancelled { .. })
    }

    /// Whether a merge join could not merge its branches, in this flow or a subgraph.
    pub fn is_merge_conflict(&self) -> bool {
        matches!(self.innermost(), FlowError::MergeConflict { .. })
    }

    /// Whether the run was refused because the flow, or a subgraph, is shutting down.
    pub fn is_shutting_down(&self) -> bool {
        matches!(self.innermost(), FlowError::ShuttingDown { .. })
    }

    /// The durable run's own error, if its checkpoints failed it, in this flow or a
    /// subgraph.
    pub fn durable_error(&self) -> Option<&crate::durable::DurableError> {
        match self.innermost() {
            FlowError::Durable { source, .. } => Some(source),
            _ => None,
        }
    }

    /// The kind of failure, as a node error of a flow used as a subgraph.
    pub fn kind(&self) -> ErrorKind {
        match self {
            FlowError::Node { .. } => ErrorKind::Node,
            FlowError::StepLimit { .. } => ErrorKind::StepLimit,
            FlowError::Timeout { .. } => ErrorKind::Timeout,
            FlowError::Cancelled { .. } => ErrorKind::Cancelled,
            FlowError::MergeConflict { .. } => ErrorKind::MergeConflict,
            FlowError::ShuttingDown { .. } => ErrorKind::Refused,
            FlowError::Durable { .. } => ErrorKind::Durable,
        }
    }

    /// The error of a run that did not finish within `timeout`.
    #[cold]
    #[inline(never)]
    pub(crate) fn timeout(flow: &'static str, timeout: Duration) -> Self {
        FlowError::Timeout { flow, timeout }
    }
}

/// What kind of failure ended a node call: the `kind` label of
/// `flow_node_errors_total` and what [`Node::error_kind`](crate::Node::error_kind) reports.
///
/// ```
/// use typedflow::ErrorKind;
///
/// assert_eq!(ErrorKind::CircuitOpen.as_str(), "circuit_open");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The node's own code returned an error (after any retries).
    Node,
    /// An attempt ran past its per-attempt timeout, or the retry policy's `max_elapsed`
    /// passed, or a subgraph ran past its flow timeout.
    Timeout,
    /// The circuit breaker refused the call without calling the node.
    CircuitOpen,
    /// The call was cancelled through a cancellation token.
    Cancelled,
    /// A subgraph used as the node ran into its step limit.
    StepLimit,
    /// A subgraph used as the node could not merge the states of a merge join.
    MergeConflict,
    /// A subgraph used as the node refused the run: it is shutting down.
    Refused,
    /// A durable run's checkpoint could not be saved or resumed.
    Durable,
}

impl ErrorKind {
    /// The label value: `node`, `timeout`, `circuit_open`, `cancelled`, `step_limit`,
    /// `merge_conflict`, `refused` or `durable`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Node => "node",
            ErrorKind::Timeout => "timeout",
            ErrorKind::CircuitOpen => "circuit_open",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::StepLimit => "step_limit",
            ErrorKind::MergeConflict => "merge_conflict",
            ErrorKind::Refused => "refused",
            ErrorKind::Durable => "durable",
        }
    }
}

impl core::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a node's error edge hands to its handler: the input the node failed on, and why.
///
/// A handler of `write !-> rescue;` where `write` takes `Outline` and fails with `LlmError`
/// takes a `Failed<Outline, LlmError>`:
///
/// ```
/// use typedflow::prelude::*;
/// use typedflow::Failed;
///
/// #[node]
/// async fn parse(text: String) -> Result<u32, std::num::ParseIntError> {
///     text.parse()
/// }
///
/// #[node]
/// async fn fallback(failed: Failed<String, std::num::ParseIntError>) -> u32 {
///     failed.input.len() as u32
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// graph! {
///     Parse(String) -> u32 {
///         START -> parse -> END;
///         parse !-> fallback;
///         fallback -> END;
///     }
/// }
/// let flow = Parse::new(());
/// assert_eq!(flow.run("42".into()).await.unwrap(), 42);
/// assert_eq!(flow.run("forty-two".into()).await.unwrap(), 9);
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failed<I, E> {
    /// The node that failed.
    pub node: &'static str,
    /// The input it failed on.
    pub input: I,
    /// Its error.
    pub error: E,
    /// How many attempts were made.
    pub attempts: u32,
}
