//! The type checks of `graph!` and `#[derive(Merge)]`: a node can follow an edge, start
//! or end a flow, join branches, stand in for a failed node, be fanned out, mapped over,
//! merged. There is nothing to implement or call here: the generated code hands every
//! value over through one of these traits, and the compiler names the trait in the last
//! help line of an error when the types disagree, in words of the graph:
//!
//! ```text
//! error[E0277]: node `count` cannot take `String` as input; `outline` sends it `String`
//!    |
//! 15 |         START -> outline -> count -> END;
//!    |                             ^^^^^ `count` takes `u32`, not `String`
//!    |
//!    = help: the trait `Edge<outline, count, String, u32>` is not implemented for `Graph`
//! ```
//!
//! How the construction keeps the error to that (measured on the pinned toolchain):
//! every check is a call through a qualified path, `<Graph as Edge<..>>::pass(value)`,
//! spanned on the user's token, so the obligation comes from the path itself and rustc
//! adds no "required by a bound in" note; `Graph` is a unit struct of this crate, so no
//! definition of the user's is quoted under the help; each trait has one impl, generic
//! over its self type, so rustc lists no "other impls"; and that impl carries
//! `#[diagnostic::do_not_recommend]`, so a failed condition of it (`T: Clone`, the two
//! types being equal) is reported as the trait not holding, with its message. The value's
//! type is a `_` in the path: the impl's condition on it (`T: Same<Input>`, whose self
//! type is still unknown when the path is checked) cannot be used by inference, so the
//! value's own type is what is compared and the call always type-checks as
//! `fn(T) -> Input`: a mistake is one error, never a second type mismatch. Every call is
//! an inlined identity or clone, so a hand-over costs what a move costs.

use core::future::Future;

use crate::__private::Same;
use crate::policy::{NodePolicies, Observer, PolicyError, RetryPolicy};
use crate::{Context, FlowError, Merge, MergeConflict, Node, Provides, Retryable};

/// The self type of every check; it stands for the graph being checked.
#[derive(Debug, Clone, Copy)]
pub struct Graph;

/// `From -> To`: node `From` sends `T`, node `To` takes `Input`; holds when they are the
/// same type. For a route arm, `T` is the variant's payload.
#[diagnostic::on_unimplemented(
    message = "node `{To}` cannot take `{T}` as input; `{From}` sends it `{T}`",
    label = "`{To}` takes `{Input}`, not `{T}`",
    note = "the node after an edge must take the value the node before it returns (for a route arm, the variant's payload)"
)]
pub trait Edge<From: ?Sized, To: ?Sized, T, Input> {
    /// Hands the value over; the identity.
    fn pass(value: T) -> Input;
}

#[diagnostic::do_not_recommend]
impl<G, From: ?Sized, To: ?Sized, T: Same<Input>, Input> Edge<From, To, T, Input> for G {
    #[inline(always)]
    fn pass(value: T) -> Input {
        value.same()
    }
}

/// `From -> interrupt`: node `From` sends `T` to an interrupt that asks `Question`;
/// holds when they are the same type.
#[diagnostic::on_unimplemented(
    message = "an interrupt asking `{Question}` cannot take `{T}`; `{From}` sends it `{T}`",
    label = "this interrupt asks `{Question}`: the step before it must return one",
    note = "make `{From}` return `{Question}`, or declare the interrupt with the question `{From}` returns: `interrupt name: {T} => Answer;`"
)]
pub trait Asked<From: ?Sized, Question, T> {
    /// Hands the question over; the identity.
    fn pass(value: T) -> Question;
}

#[diagnostic::do_not_recommend]
impl<G, From: ?Sized, Question, T: Same<Question>> Asked<From, Question, T> for G {
    #[inline(always)]
    fn pass(value: T) -> Question {
        value.same()
    }
}

/// `From => { Enum::Variant -> .. }`: node `From` returns `Output`, and the route
/// matches the variants of `Enum`.
#[diagnostic::on_unimplemented(
    message = "node `{From}` returns `{Output}`, but its route matches the variants of `{Enum}`",
    label = "a route needs a node returning an enum; `{From}` returns `{Output}`",
    note = "route a node that returns `{Enum}`, or make `{From}` return it; a node with one way on takes an edge: `{From} -> next;`"
)]
pub trait RoutedEnum<From: ?Sized, Output, Enum> {
    /// Hands the output to the route's `match`; the identity.
    fn pass(value: Output) -> Enum;
}

#[diagnostic::do_not_recommend]
impl<G, From: ?Sized, Output, Enum: Same<Output>> RoutedEnum<From, Output, Enum> for G {
    #[inline(always)]
    fn pass(value: Output) -> Enum {
        Enum::from_same(value)
    }
}

/// `From => { true -> .., false -> .. }`: a route whose arms are values, after node
/// `From`, which returns `T`. Never holds: a route matches the variants of an enum; the
/// error names the type the node returns.
#[diagnostic::on_unimplemented(
    message = "node `{From}` returns `{T}`, but a route matches the variants of an enum, not values",
    label = "a route needs a node returning an enum; `{From}` returns `{T}`",
    note = "return an enum from `{From}` (`enum Check {{ Pass(T), Fail(T) }}`) and name its variants in the arms: `Check::Pass -> node,`"
)]
pub trait RoutedValue<From: ?Sized, T> {
    /// Never returns: no impl of this check holds.
    fn pass(value: T) -> core::convert::Infallible;
}

/// What no type implements: the condition of [`RoutedValue`]'s impl, on the value's
/// type, so that the error is reported once that type is known.
#[doc(hidden)]
pub trait Unrouted {
    /// Never called.
    fn never(self) -> core::convert::Infallible;
}

#[diagnostic::do_not_recommend]
impl<G, From: ?Sized, T: Unrouted> RoutedValue<From, T> for G {
    #[inline(always)]
    fn pass(value: T) -> core::convert::Infallible {
        value.never()
    }
}

/// `START -> To` in flow `Flow`, which takes `T`; `To` takes `Input`.
#[diagnostic::on_unimplemented(
    message = "flow `{Flow}` takes `{T}`, but its entry node `{To}` does not take `{T}` as input",
    label = "the flow's input type; `{To}` takes `{Input}`",
    note = "make the flow's input type the entry node's input type, or start at another node"
)]
pub trait FlowInput<Flow: ?Sized, To: ?Sized, T, Input> {
    /// Hands the flow's input to the entry node; the identity.
    fn pass(value: T) -> Input;
}

#[diagnostic::do_not_recommend]
impl<G, Flow: ?Sized, To: ?Sized, T: Same<Input>, Input> FlowInput<Flow, To, T, Input> for G {
    #[inline(always)]
    fn pass(value: T) -> Input {
        value.same()
    }
}

/// `From -> END` in flow `Flow`, which returns `Out`: `From` sends `T`.
#[diagnostic::on_unimplemented(
    message = "flow `{Flow}` returns `{Out}`, but node `{From}` sends `{T}` to `END`",
    label = "the flow's output type",
    note = "every value that reaches `END` is the flow's output: make the flow's output type `{T}`, or route `{From}` elsewhere"
)]
pub trait FlowOutput<Flow: ?Sized, From: ?Sized, T, Out> {
    /// Turns the value into the flow's output; the identity.
    fn finish(value: T) -> Out;
}

#[diagnostic::do_not_recommend]
impl<G, Flow: ?Sized, From: ?Sized, T: Same<Out>, Out> FlowOutput<Flow, From, T, Out> for G {
    #[inline(always)]
    fn finish(value: T) -> Out {
        value.same()
    }
}

/// `(a, b) -> To`: the branches `Branches` send the tuple `T` of their outputs, `To`
/// takes `Input`.
#[diagnostic::on_unimplemented(
    message = "node `{To}` cannot join branches `{Branches}`: it takes `{Input}`, not `{T}`",
    label = "`{To}` takes `{Input}`",
    note = "a join takes the tuple of its branches' outputs, in the order the branches are written"
)]
pub trait JoinedBranches<Branches: ?Sized, To: ?Sized, T, Input> {
    /// Hands the tuple over; the identity.
    fn pass(value: T) -> Input;
}

#[diagnostic::do_not_recommend]
impl<G, Branches: ?Sized, To: ?Sized, T: Same<Input>, Input> JoinedBranches<Branches, To, T, Input>
    for G
{
    #[inline(always)]
    fn pass(value: T) -> Input {
        value.same()
    }
}

/// `Failed !-> Handler` inside a fan-out or a map: the handler's output `T` takes the
/// place of `Failed`'s, `Output`.
#[diagnostic::on_unimplemented(
    message = "handler `{Handler}` takes the place of `{Failed}` when it fails, so it must return what `{Failed}` returns, not `{T}`",
    label = "`{Handler}` returns `{T}`, `{Failed}` returns `{Output}`",
    note = "the output of a branch's or a mapped node's error handler takes the failed node's place in the results"
)]
pub trait HandlerOutput<Handler: ?Sized, Failed: ?Sized, T, Output> {
    /// Hands the handler's output over; the identity.
    fn pass(value: T) -> Output;
}

#[diagnostic::do_not_recommend]
impl<G, Handler: ?Sized, Failed: ?Sized, T: Same<Output>, Output>
    HandlerOutput<Handler, Failed, T, Output> for G
{
    #[inline(always)]
    fn pass(value: T) -> Output {
        value.same()
    }
}

/// A value `T` fanned out to several branches is cloned for each.
#[diagnostic::on_unimplemented(
    message = "`{T}` is fanned out to several branches, so it must implement `Clone`",
    label = "each branch gets its own clone of this value",
    note = "derive or implement `Clone` for `{T}`, or wrap it in an `Arc`"
)]
pub trait FanOut<T> {
    /// Clones the value for one branch.
    fn fan_clone(value: &T) -> T;
}

#[diagnostic::do_not_recommend]
impl<G, T: Clone> FanOut<T> for G {
    #[inline(always)]
    fn fan_clone(value: &T) -> T {
        value.clone()
    }
}

/// Node `N`, which has an error edge, keeps a copy of its input `T` for the handler.
#[diagnostic::on_unimplemented(
    message = "node `{N}` has an error edge, so its input `{T}` must implement `Clone`",
    label = "the error edge hands a copy of this input to its handler",
    note = "derive or implement `Clone` for `{T}`, or remove the error edge"
)]
pub trait KeepInput<N: ?Sized, T> {
    /// Copies the input.
    fn keep(value: &T) -> T;
}

#[diagnostic::do_not_recommend]
impl<G, N: ?Sized, T: Clone> KeepInput<N, T> for G {
    #[inline(always)]
    fn keep(value: &T) -> T {
        value.clone()
    }
}

/// `[Worker; n]` after a node that sends `T`: `T` is a collection of `Worker`'s input.
#[diagnostic::on_unimplemented(
    message = "`{T}` cannot be mapped over `{Worker}`: it is not a collection of `{Worker}`'s input",
    label = "`{Worker}` is mapped over this value",
    note = "the node before `[{Worker}; N]` must return a collection (`Vec`, an iterator, ..) whose items `{Worker}` takes"
)]
pub trait MapOver<Worker: Node, T> {
    /// The items, in order.
    fn items(value: T) -> Vec<Worker::Input>;
}

#[diagnostic::do_not_recommend]
impl<G, W: Node, T: IntoIterator<Item = W::Input>> MapOver<W, T> for G {
    #[inline(always)]
    fn items(value: T) -> Vec<W::Input> {
        value.into_iter().collect()
    }
}

/// `{a, b}`: the branches' states `S` are merged into one.
#[diagnostic::on_unimplemented(
    message = "`{S}` is the state of branches merged with `{{..}}`, so it must implement `Merge`",
    label = "the branches' states are merged into one",
    note = "derive it: `#[derive(Merge)]`, with `#[merge(append | keep_first | max | min | with = f)]` on fields"
)]
pub trait MergeState<S> {
    /// Merges the branches' states against `base`, the state before the fan-out; a
    /// conflict becomes the run's error, naming the two branches of `names`.
    ///
    /// # Errors
    ///
    /// [`FlowError::MergeConflict`] when two branches changed one field differently.
    fn merge(
        cx: &Context,
        base: &S,
        branches: Vec<S>,
        names: &[&'static str],
    ) -> Result<S, Box<FlowError>>;
}

#[diagnostic::do_not_recommend]
impl<G, S: Merge> MergeState<S> for G {
    #[inline]
    fn merge(
        cx: &Context,
        base: &S,
        branches: Vec<S>,
        names: &[&'static str],
    ) -> Result<S, Box<FlowError>> {
        S::merge(base, branches).map_err(|c| {
            let name = |i: usize| names.get(i).copied().unwrap_or("?");
            Box::new(FlowError::MergeConflict {
                flow: cx.flow(),
                field: c.field,
                branches: [name(c.branches[0]), name(c.branches[1])],
            })
        })
    }
}

/// A field of a `#[derive(Merge)]` state with no strategy is merged three ways: its type
/// `T` must be comparable with the state before the fan-out (and cloned from it).
#[diagnostic::on_unimplemented(
    message = "`{T}` cannot be compared, so `#[derive(Merge)]` cannot tell which branch changed this field",
    label = "this field has no merge strategy",
    note = "give it one: `#[merge(overwrite)]`, `#[merge(keep_first)]`, `#[merge(append)]`, `#[merge(max)]`, `#[merge(min)]` or `#[merge(with = f)]`; or implement `PartialEq` and `Clone` for `{T}`"
)]
pub trait MergeField<T> {
    /// Merges one field's values in each branch against its value in `base`.
    ///
    /// # Errors
    ///
    /// [`MergeConflict`] when two branches changed the field to different values.
    fn merge(base: &T, values: Vec<T>, field: &'static str) -> Result<T, MergeConflict>;
}

#[diagnostic::do_not_recommend]
impl<G, T: PartialEq + Clone> MergeField<T> for G {
    #[inline]
    fn merge(base: &T, values: Vec<T>, field: &'static str) -> Result<T, MergeConflict> {
        crate::strategy::three_way(base, values, field)
    }
}

/// Node `N`'s call future `F` in a flow that is not `#[flow(local)]` is `Send`, so the
/// flow's run can be spawned on a multi-threaded runtime.
#[diagnostic::on_unimplemented(
    message = "node `{N}` holds something that is not `Send` across an `.await`, so a flow running it cannot move between threads",
    label = "the future of `{N}` is not `Send`",
    note = "in `{N}`, drop the value before the `.await` or use a `Send` type (`Arc`, tokio's `Mutex`); or, for a flow run on one thread only, declare it `#[flow(local)]`"
)]
pub trait SendNode<N: ?Sized, F> {
    /// The future, unchanged.
    fn check(future: F) -> F;
}

// Without `do_not_recommend`: for a future that is not `Send`, rustc then says so in its
// own words ("future cannot be sent between threads safely"), still on the node's name,
// and adds a note pointing at the value held across the `.await` in the node's function.
impl<G, N: ?Sized, F: Send> SendNode<N, F> for G {
    #[inline(always)]
    fn check(future: F) -> F {
        future
    }
}

/// Node `N` takes `&T`, taken from the flow's dependencies `D`.
#[diagnostic::on_unimplemented(
    message = "node `{N}` takes `&{T}`, but the flow's dependencies `{D}` do not provide `{T}`",
    label = "`{T}` is not provided by `{D}`",
    note = "add a field of type `{T}` to `{D}` with `#[derive(Deps)]` on it, or implement `Provides<{T}>` for `{D}`; a flow declares its dependencies with `#[flow(deps = ..)]`"
)]
pub trait Dependency<N: ?Sized, D: ?Sized, T: ?Sized> {
    /// The dependency.
    fn provide(deps: &D) -> &T;
}

#[diagnostic::do_not_recommend]
impl<G, N: ?Sized, D: ?Sized + Provides<T>, T: ?Sized> Dependency<N, D, T> for G {
    #[inline(always)]
    fn provide(deps: &D) -> &T {
        deps.provide()
    }
}

/// Node `N` has `retry(..)`: its error `E` says which failures to retry.
#[diagnostic::on_unimplemented(
    message = "`{E}` does not say whether a failed attempt of node `{N}` may be retried",
    label = "the node's error must implement `Retryable` for `retry(..)`",
    note = "implement `typedflow::Retryable` for `{E}` (its defaults retry every error), or remove `retry(..)` from the node"
)]
pub trait RetriedError<N: ?Sized, E> {
    /// Calls the node through its policies, retrying as its retry policy says.
    fn call<'a, O, I, T, F, Fut>(
        policies: &'a NodePolicies<RetryPolicy, O>,
        input: I,
        f: F,
    ) -> impl Future<Output = Result<T, PolicyError<E>>> + 'a
    where
        O: Observer + 'a,
        E: 'a,
        I: Clone + 'a,
        T: 'a,
        F: FnMut(I) -> Fut + 'a,
        Fut: Future<Output = Result<T, E>> + 'a;
}

#[diagnostic::do_not_recommend]
impl<G, N: ?Sized, E: Retryable> RetriedError<N, E> for G {
    #[inline(always)]
    fn call<'a, O, I, T, F, Fut>(
        policies: &'a NodePolicies<RetryPolicy, O>,
        input: I,
        f: F,
    ) -> impl Future<Output = Result<T, PolicyError<E>>> + 'a
    where
        O: Observer + 'a,
        E: 'a,
        I: Clone + 'a,
        T: 'a,
        F: FnMut(I) -> Fut + 'a,
        Fut: Future<Output = Result<T, E>> + 'a,
    {
        policies.call(input, f)
    }
}

/// Node `N` of a `#[flow(durable)]` flow takes `T`, which a checkpoint saves and a resumed
/// run reads back.
#[cfg(feature = "durable")]
#[diagnostic::on_unimplemented(
    message = "node `{N}` is in a durable flow, so its input `{T}` must be serializable",
    label = "a checkpoint saves the input of `{N}`",
    note = "derive `serde::Serialize` and `serde::Deserialize` for `{T}`, or remove `durable` from `#[flow(..)]`"
)]
pub trait DurableInput<N: ?Sized, T> {
    /// Appends the value's encoding to `out`.
    ///
    /// # Errors
    ///
    /// [`DurableError::Encode`](crate::durable::DurableError::Encode) when it does not
    /// serialize.
    fn encode(
        value: &T,
        step: &'static str,
        out: &mut Vec<u8>,
    ) -> Result<(), crate::durable::DurableError>;

    /// The value read back.
    ///
    /// # Errors
    ///
    /// [`DurableError::Decode`](crate::durable::DurableError::Decode) when it does not
    /// fit `T`.
    fn decode(value: crate::__private::StepValue) -> Result<T, crate::durable::DurableError>;
}

#[cfg(feature = "durable")]
#[diagnostic::do_not_recommend]
impl<G, N: ?Sized, T: serde::Serialize + serde::de::DeserializeOwned> DurableInput<N, T> for G {
    #[inline]
    fn encode(
        value: &T,
        step: &'static str,
        out: &mut Vec<u8>,
    ) -> Result<(), crate::durable::DurableError> {
        crate::__private::encode_value(value, step, out)
    }

    #[inline]
    fn decode(value: crate::__private::StepValue) -> Result<T, crate::durable::DurableError> {
        crate::__private::decode_value(value)
    }
}

/// A `#[flow(durable)]` flow `Flow` takes `T` as input, which its first checkpoint saves.
#[cfg(feature = "durable")]
#[diagnostic::on_unimplemented(
    message = "flow `{Flow}` is durable, so its input `{T}` must be serializable",
    label = "a checkpoint saves the flow's input",
    note = "derive `serde::Serialize` and `serde::Deserialize` for `{T}`, or remove `durable` from `#[flow(..)]`"
)]
pub trait DurableFlowInput<Flow: ?Sized, T> {
    /// As [`DurableInput::encode`].
    ///
    /// # Errors
    ///
    /// As [`DurableInput::encode`].
    fn encode(
        value: &T,
        step: &'static str,
        out: &mut Vec<u8>,
    ) -> Result<(), crate::durable::DurableError>;

    /// As [`DurableInput::decode`].
    ///
    /// # Errors
    ///
    /// As [`DurableInput::decode`].
    fn decode(value: crate::__private::StepValue) -> Result<T, crate::durable::DurableError>;
}

#[cfg(feature = "durable")]
#[diagnostic::do_not_recommend]
impl<G, Flow: ?Sized, T: serde::Serialize + serde::de::DeserializeOwned> DurableFlowInput<Flow, T>
    for G
{
    #[inline]
    fn encode(
        value: &T,
        step: &'static str,
        out: &mut Vec<u8>,
    ) -> Result<(), crate::durable::DurableError> {
        crate::__private::encode_value(value, step, out)
    }

    #[inline]
    fn decode(value: crate::__private::StepValue) -> Result<T, crate::durable::DurableError> {
        crate::__private::decode_value(value)
    }
}

/// A `#[flow(durable)]` flow `Flow` returns `T`, which the checkpoint of its end saves.
#[cfg(feature = "durable")]
#[diagnostic::on_unimplemented(
    message = "flow `{Flow}` is durable, so its output `{T}` must be serializable",
    label = "the last checkpoint of a run saves the flow's output",
    note = "derive `serde::Serialize` and `serde::Deserialize` for `{T}`, or remove `durable` from `#[flow(..)]`"
)]
pub trait DurableFlowOutput<Flow: ?Sized, T> {
    /// Appends the output's encoding to `out`.
    ///
    /// # Errors
    ///
    /// As [`DurableInput::encode`].
    fn encode(value: &T, out: &mut Vec<u8>) -> Result<(), crate::durable::DurableError>;
}

#[cfg(feature = "durable")]
#[diagnostic::do_not_recommend]
impl<G, Flow: ?Sized, T: serde::Serialize + serde::de::DeserializeOwned> DurableFlowOutput<Flow, T>
    for G
{
    #[inline]
    fn encode(value: &T, out: &mut Vec<u8>) -> Result<(), crate::durable::DurableError> {
        crate::__private::encode_value(value, "END", out)
    }
}

/// The node type `N` itself, reached through its [`Node::State`]: the generated run loop
/// calls a node as `<<N as NodeOf>::Node as NodeFn<D>>`, so that for a name that is not a
/// node the call's type stays unknown instead of asking `N: NodeFn<D>`, and the one error
/// is "`N` is not a node".
#[doc(hidden)]
pub trait NodeOf {
    /// `Self`.
    type Node: ?Sized;
}

impl<N: Node + ?Sized> NodeOf for N {
    type Node = <N::State as Carry<N>>::Out;
}

/// Carries `N` through a type that only a node has.
#[doc(hidden)]
pub trait Carry<N: ?Sized> {
    /// `N`.
    type Out: ?Sized;
}

impl<S: ?Sized, N: ?Sized> Carry<N> for S {
    type Out = N;
}

/// A flow run by `On`, an adapter that needs a durable flow (one declared
/// `#[flow(durable)]`), such as `typedflow-restate`'s Restate workflows: holds when
/// `Flow` is durable. The adapter's macro checks its flow with it, so that a flow that is
/// not durable is one error, in the DSL's words.
#[diagnostic::on_unimplemented(
    message = "flow `{Flow}` is not durable, so it cannot run on {On}",
    label = "`{Flow}` is not `#[flow(durable)]`",
    note = "declare the flow `#[flow(durable)]` in its `graph!`: a durable run saves its state after each step, which {On} journals"
)]
pub trait DurableOnly<Flow, On> {
    /// Checks `flow`; does nothing else.
    fn check(flow: &Flow);
}

#[diagnostic::do_not_recommend]
impl<G, Flow: crate::durable::DurableFlow, On> DurableOnly<Flow, On> for G {
    #[inline(always)]
    fn check(_: &Flow) {}
}
