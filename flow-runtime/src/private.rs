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
/// `Input` is `To`'s input type. One blanket impl, for `Input = T`, holds for every node
/// taking what it is sent: no impl per node for the compiler to check, and a wrong type
/// finds no impl, so rustc prints the message below, naming both types.
#[diagnostic::on_unimplemented(
    message = "node `{Self}` cannot take `{T}` as input; `{From}` sends it `{T}`",
    label = "`{Self}` takes `{Input}`, not `{T}`",
    note = "the node after an edge must take the value the node before it returns (for a route arm, the variant's payload)"
)]
pub trait Edge<From: ?Sized, T, Input> {
    /// Hands the value over; the identity.
    fn pass(value: T) -> Input;
}

impl<N: ?Sized, From: ?Sized, T> Edge<From, T, T> for N {
    #[inline(always)]
    fn pass(value: T) -> T {
        value
    }
}

/// `Self` is the entry node of flow `Flow`, which takes a `T`; `Input` is `Self`'s input
/// type. Holds when they are equal, as [`Edge`].
#[diagnostic::on_unimplemented(
    message = "flow `{Flow}` takes `{T}`, but its entry node `{Self}` does not take `{T}` as input",
    label = "the flow's input type; `{Self}` takes `{Input}`",
    note = "make the flow's input type the entry node's input type, or start at another node"
)]
pub trait Entry<Flow, T, Input> {
    /// Hands the flow's input to the entry node; the identity.
    fn pass(value: T) -> Input;
}

impl<N: ?Sized, Flow, T> Entry<Flow, T, T> for N {
    #[inline(always)]
    fn pass(value: T) -> T {
        value
    }
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
    pub fn edge<To: Node + Edge<From, T, To::Input>, From: ?Sized>(self) -> To::Input {
        To::pass(self.0)
    }

    /// Type-checks and performs the hand-over of the flow's input to its entry node.
    #[inline(always)]
    pub fn entry<N: Node + Entry<Flow, T, N::Input>, Flow>(self) -> N::Input {
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

#[cfg(feature = "metrics")]
pub use crate::keys::FlowLabels;
pub use crate::keys::{FlowKeys, KeyTable, NodeKeys};

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

/// `Self` can take, as its input (`Input`), the tuple `T` of the outputs of the branches
/// `Branches`. Holds when they are equal, as [`Edge`].
#[diagnostic::on_unimplemented(
    message = "node `{Self}` cannot join branches `{Branches}`: it takes its input, not `{T}`",
    label = "`{Self}` takes `{Input}`, not `{T}`",
    note = "a join takes the tuple of its branches' outputs, in the order the branches are written"
)]
pub trait Join<Branches: ?Sized, T, Input> {
    /// Hands the tuple over; the identity.
    fn pass(value: T) -> Input;
}

impl<N: ?Sized, Branches: ?Sized, T> Join<Branches, T, T> for N {
    #[inline(always)]
    fn pass(value: T) -> T {
        value
    }
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
    pub fn join<To: Node + Join<Branches, T, To::Input>, Branches: ?Sized>(self) -> To::Input {
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
/// items' order. The first error, whichever item it comes from, ends the map at once: the
/// items still running are dropped and no further item starts.
pub async fn map_bounded<I, T, E, F, Fut>(
    items: Vec<I>,
    limit: usize,
    mut work: F,
) -> Result<Vec<T>, E>
where
    F: FnMut(I) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    use futures_util::stream::{FuturesUnordered, StreamExt};
    let mut outputs: Vec<Option<T>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    let mut items = items.into_iter().enumerate();
    let mut running = FuturesUnordered::new();
    let mut start = |running: &mut FuturesUnordered<_>, (i, item)| {
        let call = work(item);
        running.push(async move { (i, call.await) });
    };
    for next in items.by_ref().take(limit.max(1)) {
        start(&mut running, next);
    }
    while let Some((i, result)) = running.next().await {
        outputs[i] = Some(result?);
        if let Some(next) = items.next() {
            start(&mut running, next);
        }
    }
    // Every item ran and kept its output above.
    Ok(outputs.into_iter().flatten().collect())
}

/// `Handler` is the handler of `Self`'s error edge inside a fan-out or a map: its output
/// takes the place of `Self`'s, so it must return what `Self` returns (`Output`), not `T`.
/// Holds when they are equal, as [`Edge`].
#[diagnostic::on_unimplemented(
    message = "handler `{Handler}` takes the place of `{Self}` when it fails, so it must return what `{Self}` returns, not `{T}`",
    label = "`{Handler}` returns `{T}`, `{Self}` returns `{Output}`",
    note = "the output of a branch's or a mapped node's error handler takes the failed node's place in the results"
)]
pub trait HandlerOutput<Handler: ?Sized, T, Output> {
    /// Hands the handler's output over; the identity.
    fn pass(value: T) -> Output;
}

impl<N: ?Sized, Handler: ?Sized, T> HandlerOutput<Handler, T, T> for N {
    #[inline(always)]
    fn pass(value: T) -> T {
        value
    }
}

impl<T> Hand<T> {
    /// Type-checks and hands over the output of a failed node's handler.
    #[inline(always)]
    pub fn handler_output<N: Node + HandlerOutput<Handler, T, N::Output>, Handler: ?Sized>(
        self,
    ) -> N::Output {
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

/// Merges the states of a merge join's branches against `base`, the state before the
/// fan-out; a conflict becomes the run's error, naming the two branches of `names`.
#[inline]
pub fn merge_branches<S: crate::Merge>(
    cx: &crate::Context,
    base: &S,
    branches: Vec<S>,
    names: &[&'static str],
) -> Result<S, Box<crate::FlowError>> {
    S::merge(base, branches).map_err(|c| {
        let name = |i: usize| names.get(i).copied().unwrap_or("?");
        Box::new(crate::FlowError::MergeConflict {
            flow: cx.flow(),
            field: c.field,
            branches: [name(c.branches[0]), name(c.branches[1])],
        })
    })
}

/// A field merged by default, three ways: its type must be comparable with the state
/// before the fan-out.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be compared, so `#[derive(Merge)]` cannot tell which branch changed this field",
    label = "this field has no merge strategy",
    note = "give it one: `#[merge(overwrite)]`, `#[merge(keep_first)]`, `#[merge(append)]`, `#[merge(max)]`, `#[merge(min)]` or `#[merge(with = f)]`; or implement `PartialEq` for `{Self}`"
)]
pub trait MergeField: PartialEq {}

impl<T: PartialEq> MergeField for T {}

/// The values of one field in each branch, taken out of the branches' states: the
/// derive's `merge` builds the merged state from these, field by field.
#[inline]
pub fn merge_default<T: MergeField + Clone>(
    base: &T,
    values: Vec<T>,
    field: &'static str,
) -> Result<T, crate::MergeConflict> {
    crate::strategy::three_way(base, values, field)
}

/// A field merged with a strategy `f`, folding the branches' values in written order.
#[inline]
pub fn merge_with<T: Clone>(base: &T, values: Vec<T>, f: impl Fn(&mut T, T)) -> T {
    let mut values = values.into_iter();
    let Some(mut merged) = values.next() else {
        return base.clone();
    };
    for later in values {
        f(&mut merged, later);
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
                Poll::Ready(Err(Box::new(node_failed::<N>(this.cx, this.node, err))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The error of a run whose node `N` failed (after its policies): names the flow, the
/// node, the step and the attempts.
#[cold]
#[inline(never)]
pub fn node_failed<N: Node>(
    cx: &crate::Context,
    node: &'static crate::NodeInfo,
    error: N::Error,
) -> crate::FlowError {
    let attempts = N::attempts(&error);
    crate::FlowError::__node(cx.flow(), node.name, cx.step(), attempts, error)
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

// -- subgraphs: their nodes seen by the hooks of the flow that uses them -----------

/// One user node's share of a flow's nested nodes: its name in the graph, and the paths
/// of the nodes it runs inside itself ([`Node::NESTED`]), which become `name/path`.
pub type NestedPart = (&'static str, &'static [&'static str]);

/// How many nested nodes a flow has: its `own` nodes, then every part's.
pub const fn nested_count(own: usize, parts: &[NestedPart]) -> usize {
    let (mut n, mut i) = (own, 0);
    while i < parts.len() {
        n += parts[i].1.len();
        i += 1;
    }
    n
}

/// How many bytes the prefixed paths `name/path` of every part take, one after another.
pub const fn nested_bytes_len(parts: &[NestedPart]) -> usize {
    let (mut n, mut i) = (0, 0);
    while i < parts.len() {
        let (name, paths) = parts[i];
        let mut j = 0;
        while j < paths.len() {
            n += name.len() + 1 + paths[j].len();
            j += 1;
        }
        i += 1;
    }
    n
}

/// The prefixed paths `name/path` of every part, one after another, in `B` bytes
/// ([`nested_bytes_len`]).
pub const fn nested_bytes<const B: usize>(parts: &[NestedPart]) -> [u8; B] {
    const fn copy(out: &mut [u8], at: usize, from: &[u8]) -> usize {
        let mut k = 0;
        while k < from.len() && at + k < out.len() {
            out[at + k] = from[k];
            k += 1;
        }
        at + k
    }
    let mut out = [0u8; B];
    let (mut at, mut i) = (0, 0);
    while i < parts.len() {
        let (name, paths) = parts[i];
        let mut j = 0;
        while j < paths.len() {
            at = copy(&mut out, at, name.as_bytes());
            at = copy(&mut out, at, b"/");
            at = copy(&mut out, at, paths[j].as_bytes());
            j += 1;
        }
        i += 1;
    }
    out
}

/// The paths of a flow's `N` nested nodes ([`nested_count`]): its `own` nodes' names, then
/// each part's prefixed paths, cut out of `bytes` ([`nested_bytes`]). Evaluated at compile
/// time; a path that could not be cut out (which the lengths above rule out) stays empty.
pub const fn nested_names<const N: usize>(
    own: &[&'static str],
    bytes: &'static [u8],
    parts: &[NestedPart],
) -> [&'static str; N] {
    let mut out = [""; N];
    let mut k = 0;
    while k < own.len() && k < N {
        out[k] = own[k];
        k += 1;
    }
    let (mut rest, mut i) = (bytes, 0);
    while i < parts.len() {
        let (name, paths) = parts[i];
        let mut j = 0;
        while j < paths.len() && k < N {
            let len = name.len() + 1 + paths[j].len();
            if let Some((path, tail)) = rest.split_at_checked(len) {
                // Cut at the joints of whole `str`s: always UTF-8.
                if let Ok(path) = core::str::from_utf8(path) {
                    out[k] = path;
                }
                rest = tail;
            }
            k += 1;
            j += 1;
        }
        i += 1;
    }
    out
}

/// The descriptions of a flow's nested nodes, named by their paths: the `i`-th has index
/// `i` and its metric keys (`flow` and `node` = the path) in `keys()[i]`.
pub const fn nested_infos<const N: usize>(
    names: &[&'static str],
    keys: fn() -> &'static [NodeKeys],
) -> [crate::NodeInfo; N] {
    let mut out = [crate::NodeInfo::__new("", 0, keys); N];
    let mut i = 0;
    while i < N && i < names.len() {
        out[i] = crate::NodeInfo::__new(names[i], i, keys);
        i += 1;
    }
    out
}

/// The nested nodes of each of a flow's `K` user nodes, cut out of `all` (the flow's
/// nested nodes: its `own` nodes, then each user node's, `lens[k]` of them for the
/// `k`-th). A cut out of range (which the lengths rule out) is empty.
pub const fn nested_of<const K: usize>(
    all: &'static [crate::NodeInfo],
    own: usize,
    lens: [usize; K],
) -> [&'static [crate::NodeInfo]; K] {
    let mut out: [&'static [crate::NodeInfo]; K] = [&[]; K];
    let mut rest = match all.split_at_checked(own) {
        Some((_, tail)) => tail,
        None => &[],
    };
    let mut k = 0;
    while k < K {
        if let Some((mine, tail)) = rest.split_at_checked(lens[k]) {
            out[k] = mine;
            rest = tail;
        }
        k += 1;
    }
    out
}

/// The hook of a subgraph's run, inside a step of the flow that uses it: every node call
/// of the subgraph goes through the outer flow's hook, named as the outer flow names it
/// (`sub/node`, from the outer flow's nested nodes). A node the table does not know
/// keeps its own description. With [`NoHook`](crate::NoHook) outside, it compiles away.
pub struct SubHook<'a, H: ?Sized> {
    hook: &'a H,
    nested: &'static [crate::NodeInfo],
}

impl<'a, H: ?Sized> SubHook<'a, H> {
    /// The hook of a subgraph whose nodes the outer flow describes with `nested`.
    #[inline(always)]
    pub fn new(hook: &'a H, nested: &'static [crate::NodeInfo]) -> Self {
        SubHook { hook, nested }
    }
}

impl<H: crate::StepHook + ?Sized> crate::StepHook for SubHook<'_, H> {
    #[inline(always)]
    fn step<N: Node, F: Future<Output = Result<N::Output, N::Error>>>(
        &self,
        cx: &crate::Context,
        node: &'static crate::NodeInfo,
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

// -- the join of a fan-out -------------------------------------------------------

pin_project_lite::pin_project! {
    /// One branch of a fan-out: its future, and its output once it is done. The future is
    /// not polled again after it is done; it is dropped with the join.
    #[must_use = "futures do nothing unless polled"]
    pub struct Branch<F, T> {
        #[pin]
        fut: F,
        out: Option<T>,
    }
}

impl<F, T, E> Branch<F, T>
where
    F: Future<Output = Result<T, E>>,
{
    /// Polls the branch unless it is done: `Ready(Ok(()))` once its output is kept.
    #[inline(always)]
    fn poll_branch(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Result<(), E>> {
        let this = self.project();
        if this.out.is_some() {
            return Poll::Ready(Ok(()));
        }
        match this.fut.poll(cx) {
            Poll::Ready(Ok(out)) => {
                *this.out = Some(out);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// A tuple of branch futures that can be joined: `(F0, F1, ..)`, each
/// `Future<Output = Result<Ti, E>>`, up to 32 branches.
pub trait Branches {
    /// The join of the branches.
    type Join: Future;
    /// Starts the join.
    fn join(self) -> Self::Join;
}

/// Runs the branches of a fan-out concurrently in the calling task, polling each in the
/// order written; returns the tuple of their outputs, or the first error, dropping the
/// branches still running. No task is spawned and nothing is boxed.
#[inline(always)]
pub fn join<B: Branches>(branches: B) -> B::Join {
    branches.join()
}

macro_rules! joins {
    ($($join:ident { $($f:ident $t:ident $b:ident),+ })+) => {$(
        pin_project_lite::pin_project! {
            /// The join of a fan-out with this many branches.
            #[must_use = "futures do nothing unless polled"]
            pub struct $join<$($f, $t),+> {
                $( #[pin] $b: Branch<$f, $t>, )+
            }
        }

        impl<E, $($f, $t),+> Future for $join<$($f, $t),+>
        where
            $( $f: Future<Output = Result<$t, E>>, )+
        {
            type Output = Result<($($t,)+), E>;

            #[inline]
            fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
                let mut this = self.project();
                let mut pending = false;
                $(
                    match this.$b.as_mut().poll_branch(cx) {
                        Poll::Ready(Ok(())) => {}
                        Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                        Poll::Pending => pending = true,
                    }
                )+
                if pending {
                    return Poll::Pending;
                }
                // Every branch kept its output above; a join polled again after it
                // returned finds them taken and stays pending.
                match ($(this.$b.as_mut().project().out.take(),)+) {
                    ($(Some($b),)+) => Poll::Ready(Ok(($($b,)+))),
                    _ => Poll::Pending,
                }
            }
        }

        impl<E, $($f, $t),+> Branches for ($($f,)+)
        where
            $( $f: Future<Output = Result<$t, E>>, )+
        {
            type Join = $join<$($f, $t),+>;

            #[inline(always)]
            fn join(self) -> Self::Join {
                #[allow(non_snake_case)] // reason: the futures are named after their types
                let ($($f,)+) = self;
                $join { $( $b: Branch { fut: $f, out: None }, )+ }
            }
        }
    )+};
}

joins! {
    Join1 { F0 T0 b0 }
    Join2 { F0 T0 b0, F1 T1 b1 }
    Join3 { F0 T0 b0, F1 T1 b1, F2 T2 b2 }
    Join4 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3 }
    Join5 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4 }
    Join6 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5 }
    Join7 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5, F6 T6 b6 }
    Join8 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5, F6 T6 b6, F7 T7 b7 }
    Join9 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5, F6 T6 b6, F7 T7 b7, F8 T8 b8 }
    Join10 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5, F6 T6 b6, F7 T7 b7, F8 T8 b8, F9 T9 b9 }
    Join11 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5, F6 T6 b6, F7 T7 b7, F8 T8 b8, F9 T9 b9, F10 T10 b10 }
    Join12 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5, F6 T6 b6, F7 T7 b7, F8 T8 b8, F9 T9 b9, F10 T10 b10, F11 T11 b11 }
    Join13 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5, F6 T6 b6, F7 T7 b7, F8 T8 b8, F9 T9 b9, F10 T10 b10, F11 T11 b11, F12 T12 b12 }
    Join14 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5, F6 T6 b6, F7 T7 b7, F8 T8 b8, F9 T9 b9, F10 T10 b10, F11 T11 b11, F12 T12 b12, F13 T13 b13 }
    Join15 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5, F6 T6 b6, F7 T7 b7, F8 T8 b8, F9 T9 b9, F10 T10 b10, F11 T11 b11, F12 T12 b12, F13 T13 b13, F14 T14 b14 }
    Join16 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5, F6 T6 b6, F7 T7 b7, F8 T8 b8, F9 T9 b9, F10 T10 b10, F11 T11 b11, F12 T12 b12, F13 T13 b13, F14 T14 b14, F15 T15 b15 }
    Join17 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5, F6 T6 b6, F7 T7 b7, F8 T8 b8, F9 T9 b9, F10 T10 b10, F11 T11 b11, F12 T12 b12, F13 T13 b13, F14 T14 b14, F15 T15 b15, F16 T16 b16 }
    Join18 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5, F6 T6 b6, F7 T7 b7, F8 T8 b8, F9 T9 b9, F10 T10 b10, F11 T11 b11, F12 T12 b12, F13 T13 b13, F14 T14 b14, F15 T15 b15, F16 T16 b16, F17 T17 b17 }
    Join19 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5, F6 T6 b6, F7 T7 b7, F8 T8 b8, F9 T9 b9, F10 T10 b10, F11 T11 b11, F12 T12 b12, F13 T13 b13, F14 T14 b14, F15 T15 b15, F16 T16 b16, F17 T17 b17, F18 T18 b18 }
    Join20 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5, F6 T6 b6, F7 T7 b7, F8 T8 b8, F9 T9 b9, F10 T10 b10, F11 T11 b11, F12 T12 b12, F13 T13 b13, F14 T14 b14, F15 T15 b15, F16 T16 b16, F17 T17 b17, F18 T18 b18, F19 T19 b19 }
    Join21 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5, F6 T6 b6, F7 T7 b7, F8 T8 b8, F9 T9 b9, F10 T10 b10, F11 T11 b11, F12 T12 b12, F13 T13 b13, F14 T14 b14, F15 T15 b15, F16 T16 b16, F17 T17 b17, F18 T18 b18, F19 T19 b19, F20 T20 b20 }
    Join22 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5, F6 T6 b6, F7 T7 b7, F8 T8 b8, F9 T9 b9, F10 T10 b10, F11 T11 b11, F12 T12 b12, F13 T13 b13, F14 T14 b14, F15 T15 b15, F16 T16 b16, F17 T17 b17, F18 T18 b18, F19 T19 b19, F20 T20 b20, F21 T21 b21 }
    Join23 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5, F6 T6 b6, F7 T7 b7, F8 T8 b8, F9 T9 b9, F10 T10 b10, F11 T11 b11, F12 T12 b12, F13 T13 b13, F14 T14 b14, F15 T15 b15, F16 T16 b16, F17 T17 b17, F18 T18 b18, F19 T19 b19, F20 T20 b20, F21 T21 b21, F22 T22 b22 }
    Join24 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5, F6 T6 b6, F7 T7 b7, F8 T8 b8, F9 T9 b9, F10 T10 b10, F11 T11 b11, F12 T12 b12, F13 T13 b13, F14 T14 b14, F15 T15 b15, F16 T16 b16, F17 T17 b17, F18 T18 b18, F19 T19 b19, F20 T20 b20, F21 T21 b21, F22 T22 b22, F23 T23 b23 }
    Join25 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5, F6 T6 b6, F7 T7 b7, F8 T8 b8, F9 T9 b9, F10 T10 b10, F11 T11 b11, F12 T12 b12, F13 T13 b13, F14 T14 b14, F15 T15 b15, F16 T16 b16, F17 T17 b17, F18 T18 b18, F19 T19 b19, F20 T20 b20, F21 T21 b21, F22 T22 b22, F23 T23 b23, F24 T24 b24 }
    Join26 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5, F6 T6 b6, F7 T7 b7, F8 T8 b8, F9 T9 b9, F10 T10 b10, F11 T11 b11, F12 T12 b12, F13 T13 b13, F14 T14 b14, F15 T15 b15, F16 T16 b16, F17 T17 b17, F18 T18 b18, F19 T19 b19, F20 T20 b20, F21 T21 b21, F22 T22 b22, F23 T23 b23, F24 T24 b24, F25 T25 b25 }
    Join27 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5, F6 T6 b6, F7 T7 b7, F8 T8 b8, F9 T9 b9, F10 T10 b10, F11 T11 b11, F12 T12 b12, F13 T13 b13, F14 T14 b14, F15 T15 b15, F16 T16 b16, F17 T17 b17, F18 T18 b18, F19 T19 b19, F20 T20 b20, F21 T21 b21, F22 T22 b22, F23 T23 b23, F24 T24 b24, F25 T25 b25, F26 T26 b26 }
    Join28 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5, F6 T6 b6, F7 T7 b7, F8 T8 b8, F9 T9 b9, F10 T10 b10, F11 T11 b11, F12 T12 b12, F13 T13 b13, F14 T14 b14, F15 T15 b15, F16 T16 b16, F17 T17 b17, F18 T18 b18, F19 T19 b19, F20 T20 b20, F21 T21 b21, F22 T22 b22, F23 T23 b23, F24 T24 b24, F25 T25 b25, F26 T26 b26, F27 T27 b27 }
    Join29 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5, F6 T6 b6, F7 T7 b7, F8 T8 b8, F9 T9 b9, F10 T10 b10, F11 T11 b11, F12 T12 b12, F13 T13 b13, F14 T14 b14, F15 T15 b15, F16 T16 b16, F17 T17 b17, F18 T18 b18, F19 T19 b19, F20 T20 b20, F21 T21 b21, F22 T22 b22, F23 T23 b23, F24 T24 b24, F25 T25 b25, F26 T26 b26, F27 T27 b27, F28 T28 b28 }
    Join30 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5, F6 T6 b6, F7 T7 b7, F8 T8 b8, F9 T9 b9, F10 T10 b10, F11 T11 b11, F12 T12 b12, F13 T13 b13, F14 T14 b14, F15 T15 b15, F16 T16 b16, F17 T17 b17, F18 T18 b18, F19 T19 b19, F20 T20 b20, F21 T21 b21, F22 T22 b22, F23 T23 b23, F24 T24 b24, F25 T25 b25, F26 T26 b26, F27 T27 b27, F28 T28 b28, F29 T29 b29 }
    Join31 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5, F6 T6 b6, F7 T7 b7, F8 T8 b8, F9 T9 b9, F10 T10 b10, F11 T11 b11, F12 T12 b12, F13 T13 b13, F14 T14 b14, F15 T15 b15, F16 T16 b16, F17 T17 b17, F18 T18 b18, F19 T19 b19, F20 T20 b20, F21 T21 b21, F22 T22 b22, F23 T23 b23, F24 T24 b24, F25 T25 b25, F26 T26 b26, F27 T27 b27, F28 T28 b28, F29 T29 b29, F30 T30 b30 }
    Join32 { F0 T0 b0, F1 T1 b1, F2 T2 b2, F3 T3 b3, F4 T4 b4, F5 T5 b5, F6 T6 b6, F7 T7 b7, F8 T8 b8, F9 T9 b9, F10 T10 b10, F11 T11 b11, F12 T12 b12, F13 T13 b13, F14 T14 b14, F15 T15 b15, F16 T16 b16, F17 T17 b17, F18 T18 b18, F19 T19 b19, F20 T20 b20, F21 T21 b21, F22 T22 b22, F23 T23 b23, F24 T24 b24, F25 T25 b25, F26 T26 b26, F27 T27 b27, F28 T28 b28, F29 T29 b29, F30 T30 b30, F31 T31 b31 }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::time::Duration;

    use super::*;

    /// Ready with `value` after `ms` milliseconds of the (paused) clock, counting its polls.
    async fn after<T>(ms: u64, value: T, polls: &Cell<u32>) -> T {
        let sleep = tokio::time::sleep(Duration::from_millis(ms));
        let mut sleep = core::pin::pin!(sleep);
        core::future::poll_fn(|cx| {
            polls.set(polls.get() + 1);
            sleep.as_mut().poll(cx)
        })
        .await;
        value
    }

    #[tokio::test(start_paused = true)]
    async fn join_keeps_the_written_order_whatever_finishes_first() {
        let (a, b, c) = (Cell::new(0), Cell::new(0), Cell::new(0));
        let joined = join((
            async { Ok::<_, ()>(after(30, 1u8, &a).await) },
            async { Ok(after(10, "two", &b).await) },
            async { Ok(after(20, 3.0f32, &c).await) },
        ))
        .await;
        assert_eq!(joined, Ok((1u8, "two", 3.0f32)));
        // A branch is polled at each wake-up of the join until it is done (at 0, 10, 20
        // and 30 ms for the slowest), and never after its output was kept.
        assert_eq!((a.get(), b.get(), c.get()), (4, 2, 3));
    }

    #[tokio::test(start_paused = true)]
    async fn join_returns_the_first_error_and_drops_the_branches_still_running() {
        struct Dropped<'a>(&'a Cell<bool>);
        impl Drop for Dropped<'_> {
            fn drop(&mut self) {
                self.0.set(true);
            }
        }
        let dropped = Cell::new(false);
        let polls = Cell::new(0);
        let start = tokio::time::Instant::now();
        let joined = join((
            async {
                let _guard = Dropped(&dropped);
                Ok(after(1_000, 1u32, &polls).await)
            },
            async { Err::<u32, _>(after(5, "failed", &polls).await) },
        ))
        .await;
        assert_eq!(joined, Err("failed"));
        assert!(dropped.get(), "the slow branch is dropped with the join");
        assert_eq!(start.elapsed(), Duration::from_millis(5));
    }

    #[tokio::test]
    async fn join_of_one_and_of_thirty_two_branches() {
        assert_eq!(join((async { Ok::<_, ()>(7) },)).await, Ok((7,)));
        macro_rules! ready {
            ($($n:literal)*) => { ($(async { Ok::<u32, ()>($n) },)*) };
        }
        let all = join(ready!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31)).await;
        let all = all.expect("every branch succeeds");
        assert_eq!((all.0, all.15, all.31), (0, 15, 31));
    }

    #[test]
    fn nested_paths_are_prefixed_and_cut_in_order() {
        const PARTS: &[NestedPart] = &[("a", &[]), ("sub", &["x", "deep/y"]), ("b", &["z"])];
        const N: usize = nested_count(2, PARTS);
        const B: usize = nested_bytes_len(PARTS);
        const BYTES: [u8; B] = nested_bytes::<B>(PARTS);
        const NAMES: [&str; N] = nested_names::<N>(&["a", "sub"], &BYTES, PARTS);
        assert_eq!(NAMES, ["a", "sub", "sub/x", "sub/deep/y", "b/z"]);
        fn keys() -> &'static [NodeKeys] {
            &[]
        }
        static INFOS: [crate::NodeInfo; N] = nested_infos::<N>(&NAMES, keys);
        let names: Vec<(&str, usize)> = INFOS.iter().map(|n| (n.name, n.index())).collect();
        assert_eq!(
            names,
            [
                ("a", 0),
                ("sub", 1),
                ("sub/x", 2),
                ("sub/deep/y", 3),
                ("b/z", 4)
            ]
        );
        // Node `a` runs nothing inside itself, `sub` two nodes, `b` one.
        let of = nested_of(&INFOS, 2, [0, 2, 1]);
        let names = |s: &[crate::NodeInfo]| s.iter().map(|n| n.name).collect::<Vec<_>>();
        assert!(of[0].is_empty());
        assert_eq!(names(of[1]), ["sub/x", "sub/deep/y"]);
        assert_eq!(names(of[2]), ["b/z"]);
        // Lengths that do not add up give empty cuts, never a panic.
        assert!(nested_of(&INFOS, 9, [1])[0].is_empty());
    }

    #[derive(Debug, thiserror::Error)]
    #[error("boom")]
    struct Boom;

    enum Failing {}
    impl Node for Failing {
        type Input = ();
        type Output = ();
        type Error = Boom;
        type State = ();
        const NAME: &'static str = "failing";
        fn state() {}
        fn attempts(_: &Boom) -> u32 {
            3
        }
    }

    #[test]
    fn node_failed_names_the_flow_the_node_the_step_and_the_attempts() {
        static INFO: crate::NodeInfo = crate::NodeInfo::__new("check", 0, || &[]);
        let mut cx = crate::Context::new("Essay", crate::RunId::from_u64(1));
        cx.__advance();
        cx.__advance();
        let err = node_failed::<Failing>(&cx, &INFO, Boom);
        match &err {
            crate::FlowError::Node {
                flow,
                node,
                step,
                attempts,
                ..
            } => assert_eq!((*flow, *node, *step, *attempts), ("Essay", "check", 2, 3)),
            other => panic!("expected a node error, got {other:?}"),
        }
        assert_eq!(
            std::error::Error::source(&err).map(ToString::to_string),
            Some("boom".to_owned())
        );
    }
}
