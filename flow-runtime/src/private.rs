//! Items the generated code calls. Not a public API: names and signatures change freely.
//!
//! Each type check of the DSL is a trait bound here, required at a call that the macro
//! spans on the user's token, with the wording of the error in
//! `#[diagnostic::on_unimplemented]`. The traits hold only for the right types, so the
//! bound failing is the only error a mistake causes.

use core::convert::Infallible;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context as TaskContext, Poll};

use crate::Node;

pub use core::time::Duration;

/// `To` can follow `From`, which sends it a `T`.
///
/// `#[node]` implements it for the node's own input type only (not through a projection),
/// so a wrong type finds no impl and the message below is what rustc prints.
#[diagnostic::on_unimplemented(
    message = "node `{Self}` cannot take `{T}` as input; `{From}` sends it `{T}`",
    label = "`{Self}` does not take `{T}`",
    note = "the node after an edge must take the value the node before it returns (for a route arm, the variant's payload)"
)]
pub trait Edge<From: ?Sized, T>: Node {
    /// Hands the value over; the identity.
    fn pass(value: T) -> Self::Input;
}

/// `Self` is the entry node of flow `Flow`, which takes a `T`.
#[diagnostic::on_unimplemented(
    message = "flow `{Flow}` takes `{T}`, but its entry node `{Self}` does not take `{T}` as input",
    label = "the flow's input type",
    note = "make the flow's input type the entry node's input type, or start at another node"
)]
pub trait Entry<Flow, T>: Node {
    /// Hands the flow's input to the entry node; the identity.
    fn pass(value: T) -> Self::Input;
}

/// A value of type `Self`, sent to `END` by node `From`, is the output `Out` of flow `Flow`.
#[diagnostic::on_unimplemented(
    message = "flow `{Flow}` returns `{Out}`, but node `{From}` sends `{Self}` to `END`",
    label = "the flow's output type",
    note = "every value that reaches `END` is the flow's output: make the flow's output type `{Self}`, or route `{From}` elsewhere"
)]
pub trait End<Flow, Out, From: ?Sized> {
    /// Turns the value into the flow's output; the identity.
    fn finish(self) -> Out;
}

impl<Flow, From: ?Sized, T> End<Flow, T, From> for T {
    #[inline(always)]
    fn finish(self) -> T {
        self
    }
}

/// A value being handed over in the run loop.
///
/// The value's type is fixed by the receiver before the bound of the method is checked,
/// so rustc cannot infer it from the one impl a node has and report a plain type
/// mismatch inside this crate instead of the bound's message on the user's edge.
pub struct Hand<T>(pub T);

impl<T> Hand<T> {
    /// Type-checks and performs the hand-over along an edge.
    #[inline(always)]
    pub fn edge<To: Edge<From, T>, From: ?Sized>(self) -> To::Input {
        To::pass(self.0)
    }

    /// Type-checks and performs the hand-over of the flow's input to its entry node.
    #[inline(always)]
    pub fn entry<N: Entry<Flow, T>, Flow>(self) -> N::Input {
        N::pass(self.0)
    }

    /// Type-checks and performs the hand-over of a value to `END`.
    #[inline(always)]
    pub fn end<Flow, Out, From: ?Sized>(self) -> Out
    where
        T: End<Flow, Out, From>,
    {
        self.0.finish()
    }
}

pin_project_lite::pin_project! {
    /// The future of an infallible node: its function's future, with the output wrapped in `Ok`.
    #[must_use = "futures do nothing unless polled"]
    pub struct Infallible_<F> {
        #[pin]
        inner: F,
    }
}

impl<F: Future> Future for Infallible_<F> {
    type Output = Result<F::Output, Infallible>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        match self.project().inner.poll(cx) {
            Poll::Ready(out) => Poll::Ready(Ok(out)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Wraps an infallible node's future.
#[inline(always)]
pub fn infallible<F: Future>(inner: F) -> Infallible_<F> {
    Infallible_ { inner }
}

/// Splits a fallible node's declared return type (`Result<T, E>` or an alias of it).
pub trait NodeResult {
    /// The success type.
    type Ok;
    /// The error type.
    type Err;
    /// Converts into a plain `Result`.
    fn into_result(self) -> Result<Self::Ok, Self::Err>;
}

impl<T, E> NodeResult for Result<T, E> {
    type Ok = T;
    type Err = E;
    #[inline(always)]
    fn into_result(self) -> Result<T, E> {
        self
    }
}

/// Numbers the runs of one flow instance from a random base, so ids are unique within
/// the instance and unlikely to repeat across instances.
#[derive(Debug)]
pub struct RunIds(core::sync::atomic::AtomicU64);

impl RunIds {
    /// A counter starting at a random base.
    pub fn new() -> Self {
        use std::hash::BuildHasher;
        let base = std::collections::hash_map::RandomState::new().hash_one(0x666c_6f77_u64);
        RunIds(core::sync::atomic::AtomicU64::new(base))
    }

    /// The next run id.
    #[inline(always)]
    pub fn next(&self) -> crate::RunId {
        crate::RunId::from_u64(self.0.fetch_add(1, core::sync::atomic::Ordering::Relaxed))
    }
}

impl Default for RunIds {
    fn default() -> Self {
        Self::new()
    }
}

pub use crate::policy::deadline;

pub use crate::keys::{FlowKeys, NodeKeys};
#[cfg(feature = "metrics")]
pub use crate::keys::{FlowLabels, NodeLabels};

// -- fan-out, join, map and error edges ------------------------------------------

/// A value fanned out to several branches is cloned for each.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is fanned out to several branches, so it must implement `Clone`",
    label = "each branch gets its own clone of this value",
    note = "derive or implement `Clone` for `{Self}`, or wrap it in an `Arc`"
)]
pub trait FanOut: Clone {}

impl<T: Clone> FanOut for T {}

/// Clones the value for one branch of a fan-out.
#[inline(always)]
pub fn fan_clone<T: FanOut>(value: &T) -> T {
    value.clone()
}

/// A node with an error edge keeps a copy of its input to hand to the handler.
#[diagnostic::on_unimplemented(
    message = "node `{Node}` has an error edge, so its input `{Self}` must implement `Clone`",
    label = "the error edge hands a copy of this input to its handler",
    note = "derive or implement `Clone` for `{Self}`, or remove the error edge"
)]
pub trait KeepInput<Node>: Clone {}

impl<N, T: Clone> KeepInput<N> for T {}

/// Keeps a copy of a node's input for its error edge.
#[inline(always)]
pub fn keep_input<N, T: KeepInput<N>>(value: &T) -> T {
    value.clone()
}

/// `Self` can take, as its input, the tuple `T` of the outputs of the branches `Branches`.
///
/// Implemented by `#[node]` for the node's own input type.
#[diagnostic::on_unimplemented(
    message = "node `{Self}` cannot join branches `{Branches}`: it takes its input, not `{T}`",
    label = "`{Self}` does not take `{T}`",
    note = "a join takes the tuple of its branches' outputs, in the order the branches are written"
)]
pub trait Join<Branches: ?Sized, T>: Node {
    /// Hands the tuple over; the identity.
    fn pass(value: T) -> Self::Input;
}

/// The collection a node hands to a map is turned into the items of its worker.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be mapped over `{Worker}`: it is not a collection of `{Worker}`'s input",
    label = "`{Worker}` is mapped over this value",
    note = "the node before `[{Worker}; N]` must return a collection (`Vec`, an iterator, ..) whose items `{Worker}` takes"
)]
pub trait MapOver<Worker: Node>: IntoIterator<Item = Worker::Input> {}

impl<W: Node, T: IntoIterator<Item = W::Input>> MapOver<W> for T {}

impl<T> Hand<T> {
    /// Type-checks and performs the hand-over of a join's tuple.
    #[inline(always)]
    pub fn join<To: Join<Branches, T>, Branches: ?Sized>(self) -> To::Input {
        To::pass(self.0)
    }

    /// Type-checks and collects the items of a map.
    #[inline(always)]
    pub fn map_items<W: Node>(self) -> Vec<W::Input>
    where
        T: MapOver<W>,
    {
        self.0.into_iter().collect()
    }
}

/// Runs `work` on every item, at most `limit` at once, and returns the outputs in the
/// items' order. The first error (in the items' order of completion) ends the map: the
/// items still running are dropped and no further item starts.
pub async fn map_bounded<I, T, E, F, Fut>(items: Vec<I>, limit: usize, work: F) -> Result<Vec<T>, E>
where
    F: FnMut(I) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    use futures_util::stream::{self, StreamExt, TryStreamExt};
    stream::iter(items)
        .map(work)
        .buffered(limit.max(1))
        .try_collect()
        .await
}

/// `Handler` stands in for `Self` when it fails in a fan-out or a map, so it must return
/// what `Self` returns, `T`.
///
/// Implemented by `#[node]` for the node's own output type.
#[diagnostic::on_unimplemented(
    message = "handler `{Handler}` stands in for `{Self}`, so it must return what `{Self}` returns, not `{T}`",
    label = "`{Handler}` returns `{T}`",
    note = "the output of a branch's or a mapped node's error handler takes the failed node's place in the results"
)]
pub trait StandIn<Handler: ?Sized, T>: Node {
    /// Hands the stand-in's output over; the identity.
    fn pass(value: T) -> Self::Output;
}

impl<T> Hand<T> {
    /// Type-checks and hands over the output of a failed node's stand-in.
    #[inline(always)]
    pub fn stand_in<N: StandIn<Handler, T>, Handler: ?Sized>(self) -> N::Output {
        N::pass(self.0)
    }
}

/// Builds the `Failed` value an error edge hands to its handler.
#[cold]
pub fn failed<I, E>(
    node: &'static str,
    input: I,
    error: E,
    attempts: fn(&E) -> u32,
) -> crate::Failed<I, E> {
    let attempts = attempts(&error);
    crate::Failed {
        node,
        input,
        error,
        attempts,
    }
}

/// Merges the states of a merge join's branches, in the order they are written.
#[inline]
pub fn merge_branches<S: crate::Merge>(first: S, rest: impl IntoIterator<Item = S>) -> S {
    let mut merged = first;
    for later in rest {
        merged.merge(later);
    }
    merged
}

pin_project_lite::pin_project! {
    /// A call of node `N` inside a fan-out or a map, with its error turned into the
    /// flow's: a poll-through wrapper, so a branch costs no generator of its own. Two
    /// pointers of state: the futures of all branches are moved together, so size counts.
    #[must_use = "futures do nothing unless polled"]
    pub struct Nested<'a, N, F> {
        #[pin]
        call: F,
        cx: &'a crate::Context,
        node: &'static crate::NodeInfo,
        _node: core::marker::PhantomData<fn() -> N>,
    }
}

impl<N, F, T> Future for Nested<'_, N, F>
where
    N: Node,
    F: Future<Output = Result<T, N::Error>>,
{
    type Output = Result<T, Box<crate::FlowError>>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.call.poll(cx) {
            Poll::Ready(Ok(out)) => Poll::Ready(Ok(out)),
            Poll::Ready(Err(err)) => {
                let attempts = N::attempts(&err);
                Poll::Ready(Err(Box::new(crate::FlowError::__node(
                    this.cx.flow(),
                    this.node.name,
                    this.cx.step(),
                    attempts,
                    err,
                ))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Wraps a call of node `N` inside a fan-out or a map.
#[inline(always)]
pub fn nested<'a, N, F>(
    cx: &'a crate::Context,
    node: &'static crate::NodeInfo,
    call: F,
) -> Nested<'a, N, F> {
    Nested {
        call,
        cx,
        node,
        _node: core::marker::PhantomData,
    }
}
