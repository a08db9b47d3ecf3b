//! The `Node` trait that `#[node]` implements, and the call trait the generated run
//! loop dispatches through.

use core::future::Future;

use crate::{BoxError, Context, ErrorKind, NodeInfo, StepHook};

/// A step of a flow: what `#[node]` generates beside an `async fn`.
///
/// The node type has the function's name and lives in the type namespace, so the
/// function itself stays callable as written. Implementations are generated; write one
/// by hand only to wrap something that is not an `async fn`.
///
/// # Example
///
/// ```
/// use typedflow::prelude::*;
///
/// #[node]
/// async fn double(x: u32) -> u32 {
///     x * 2
/// }
///
/// assert_eq!(<double as Node>::NAME, "double");
/// # let out = futures_lite_block_on(double(21));
/// # assert_eq!(out, 42);
/// # fn futures_lite_block_on<F: core::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a node",
    label = "not a node",
    note = "put `#[node]` on an `async fn` named like this to make it a node"
)]
pub trait Node {
    /// The value the node takes: its one by-value parameter (`()` when it has none).
    type Input;
    /// The value the node produces on success.
    type Output;
    /// The error of a fallible node; [`core::convert::Infallible`] for one that cannot fail.
    type Error: Into<BoxError>;
    /// State shared by all runs of one flow instance, such as a circuit breaker or a
    /// concurrency limit; `()` for a node without such policies. The flow builds it once
    /// with [`Node::state`] and hands it to every call.
    type State: Send + Sync + 'static;
    /// The node's name, as written in `graph!` and shown in errors and diagrams.
    const NAME: &'static str;
    /// The nodes this node runs inside itself, named by their path from it (`review`,
    /// `draft/check`): every node of a flow used as a node (a subgraph), and those of its
    /// own subgraphs. Their calls go through the hooks of the flow that uses this node
    /// (see [`NodeFn::call_hooked`]), which name them `this/review`, `this/draft/check`.
    ///
    /// # Default
    ///
    /// Empty: a node of `#[node]` runs no node inside itself.
    const NESTED: &'static [&'static str] = &[];
    /// Whether calls go through the node's policies ([`NodePolicies`](crate::NodePolicies)),
    /// whose retries, timeouts and breaker changes hooks can hear
    /// ([`StepObserver`](crate::StepObserver)); a hook may skip listening for a node
    /// without them.
    ///
    /// # Default
    ///
    /// `false`; `#[node]` sets it when the node has a policy argument.
    const HAS_POLICIES: bool = false;
    /// Whether a call may read the step number of the [`Context`](crate::Context) it is
    /// given ([`Context::step`](crate::Context::step),
    /// [`Context::idempotency_key`](crate::Context::idempotency_key)). The run loop of a
    /// graph whose every step is always reached after the same number of steps (a chain,
    /// say) writes the number into the context only for the calls that may read it: those
    /// of nodes that say so, and every call when the run's hook does
    /// ([`StepHook::READS_STEP`](crate::StepHook::READS_STEP)) or sets a step limit.
    ///
    /// # Default
    ///
    /// `true`; `#[node]` sets it to `false` for a function without a `&Context` parameter.
    const READS_STEP: bool = true;

    /// Builds the node's shared state for a new flow instance.
    fn state() -> Self::State;

    /// Builds the node's shared state for a flow that uses it under the name `name` (an
    /// alias: `node fetch_again = fetch;`), so that what the state reports, such as the
    /// events and errors of its policies, names the node as the graph does.
    ///
    /// # Default
    ///
    /// [`Node::state`]: the state names nothing. `#[node]` with policies builds them
    /// [`named`](crate::policy::NodePolicies::named) `name`.
    #[inline(always)]
    fn state_named(name: &'static str) -> Self::State {
        let _ = name;
        Self::state()
    }

    /// How many attempts a call made before ending with `error`: more than 1 when the
    /// node's retry policy retried.
    ///
    /// # Default
    ///
    /// 1: a node without a retry policy makes one attempt per call.
    #[inline(always)]
    fn attempts(error: &Self::Error) -> u32 {
        let _ = error;
        1
    }

    /// What kind of failure `error` is, for metrics and events.
    ///
    /// # Default
    ///
    /// [`ErrorKind::Node`]: the node's own code failed. Nodes with policies report the
    /// timeouts, open circuits and cancellations of their [`PolicyError`](crate::PolicyError).
    #[inline(always)]
    fn error_kind(error: &Self::Error) -> ErrorKind {
        let _ = error;
        ErrorKind::Node
    }
}

/// Calls a node with the dependencies of a flow whose dependencies type is `D`.
///
/// `#[node]` implements it for every `D` that provides what the node's reference
/// parameters ask for (see [`Provides`](crate::Provides)).
#[diagnostic::on_unimplemented(
    message = "node `{Self}` cannot run in a flow whose dependencies are `{D}`",
    label = "this node needs a dependency that `{D}` does not provide",
    note = "each `&T` parameter of a node is taken from the flow's dependencies: implement `Provides<T>` for `{D}` or derive `Deps` on it"
)]
pub trait NodeFn<D: ?Sized>: Node {
    /// Starts one call of the node.
    fn call<'a>(
        deps: &'a D,
        state: &'a Self::State,
        cx: &'a Context,
        input: Self::Input,
    ) -> impl Future<Output = Result<Self::Output, Self::Error>> + 'a;

    /// Starts one call of the node as a step of a flow whose hook is `hook`: the nodes it
    /// runs inside itself ([`Node::NESTED`]) go through `hook` too, the `i`-th of them
    /// named by `nested[i]` (its description in the calling flow, whose name is its path
    /// there). A flow used as a node (a subgraph) so shows its nodes to the hooks, the
    /// event stream and the telemetry of the flow that uses it.
    ///
    /// # Default
    ///
    /// [`NodeFn::call`]: a node that runs no node inside itself has nothing to show.
    #[inline(always)]
    fn call_hooked<'a, H: StepHook + ?Sized>(
        deps: &'a D,
        state: &'a Self::State,
        cx: &'a Context,
        hook: &'a H,
        nested: &'static [NodeInfo],
        input: Self::Input,
    ) -> impl Future<Output = Result<Self::Output, Self::Error>> + 'a {
        let _ = (hook, nested);
        Self::call(deps, state, cx, input)
    }
}
