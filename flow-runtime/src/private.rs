//! Items the generated code calls. Not a public API: names and signatures change freely.
//!
//! The type checks of the DSL are not here but in [`checks`](crate::checks), public, so
//! that rustc names them by a public path in its errors.

use core::convert::Infallible;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context as TaskContext, Poll};

use crate::Node;

pub use core::time::Duration;

/// Names a type and holds for every type: what `graph!` with errors emits for each node
/// name, so that a name not in scope is reported (in this position rustc reports it once,
/// with the similar names in scope, and no stray suggestion).
pub trait Named<N: ?Sized> {
    /// Nothing.
    const NAMED: () = ();
}

impl<N: ?Sized> Named<N> for crate::checks::Graph {}

/// `Self` is `T`: the condition of the checks' impls in [`checks`](crate::checks). Its
/// self type is the value's, unknown when the check's path is type-checked, so inference
/// cannot take the value's type from it (see the module's docs).
pub trait Same<T> {
    /// The value, unchanged.
    fn same(self) -> T;
    /// The value, unchanged, the other way.
    fn from_same(value: T) -> Self;
}

impl<T> Same<T> for T {
    #[inline(always)]
    fn same(self) -> T {
        self
    }

    #[inline(always)]
    fn from_same(value: T) -> T {
        value
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

/// Draws the id of a new run: unique within the process, across every flow and flow
/// instance, and numbered from a random base, so unlikely to repeat across processes.
///
/// Drawing an id touches no shared memory: each thread takes a block of
/// [`RUN_ID_BLOCK`] ids from the process's counter (one atomic add per block) and hands
/// them out from a thread-local cache, a load and a store per run. A relaxed `fetch_add`
/// per run was a locked instruction on a cache line that every thread running a flow
/// writes; a block per flow instance and thread cost a slot lookup and a check per run.
/// Blocks are disjoint ranges of the counter, and a block is used by the thread that took
/// it only, so ids never repeat; they do not follow the order in which runs started.
#[inline(always)]
pub fn next_run_id() -> crate::RunId {
    // `RUN_ID_NEXT` has a `const` initializer and no destructor, so `try_with` cannot
    // fail; were it to, the id is the first of a block of its own.
    let id = RUN_ID_NEXT
        .try_with(|next| {
            let id = next.get();
            // A block ends where its ids reach a multiple of its size; a thread's first
            // id (0) does too.
            if id % RUN_ID_BLOCK != 0 {
                next.set(id.wrapping_add(1));
                id
            } else {
                refill_run_ids(next)
            }
        })
        .unwrap_or_else(|_| take_run_id_block());
    crate::RunId::from_u64(id)
}

/// Run ids a thread takes from the process's counter at once (a power of two).
pub const RUN_ID_BLOCK: u64 = 1024;

std::thread_local! {
    /// The next id of this thread's block.
    static RUN_ID_NEXT: core::cell::Cell<u64> = const { core::cell::Cell::new(0) };
}

/// The first id of the next block, a multiple of [`RUN_ID_BLOCK`]; 0 until the first
/// block is taken, when it is set to a random base.
static RUN_ID_BLOCKS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Takes a new block for this thread and returns its first id.
#[cold]
#[inline(never)]
fn refill_run_ids(next: &core::cell::Cell<u64>) -> u64 {
    let first = take_run_id_block();
    next.set(first.wrapping_add(1));
    first
}

/// Reserves the next block of the counter, returning its first id: every caller gets a
/// block of its own. (A single id taken here would shift the blocks after it off their
/// alignment, and then they would overlap.)
fn take_run_id_block() -> u64 {
    use core::sync::atomic::Ordering::Relaxed;
    if RUN_ID_BLOCKS.load(Relaxed) == 0 {
        use std::hash::BuildHasher;
        let random = std::collections::hash_map::RandomState::new().hash_one(0x666c_6f77_u64);
        // Aligned to a block, so a block ends where its ids reach a multiple of it; never
        // 0, which means "not yet seeded". The first thread to get here seeds the
        // counter, and the others count on from its base.
        let base = (random & !(RUN_ID_BLOCK - 1)).max(RUN_ID_BLOCK);
        let _ = RUN_ID_BLOCKS.compare_exchange(0, base, Relaxed, Relaxed);
    }
    RUN_ID_BLOCKS.fetch_add(RUN_ID_BLOCK, Relaxed)
}

#[cfg(test)]
mod run_id_tests {
    use super::{RUN_ID_BLOCK, next_run_id};
    use std::collections::HashSet;

    /// `n` ids drawn in a row.
    fn draw(n: u64) -> Vec<u64> {
        (0..n).map(|_| next_run_id().as_u64()).collect()
    }

    fn assert_unique(all: &[u64]) {
        let set: HashSet<u64> = all.iter().copied().collect();
        assert_eq!(set.len(), all.len(), "a run id repeated");
    }

    #[test]
    fn ids_are_unique_across_blocks_on_one_thread() {
        let all = draw(5 * RUN_ID_BLOCK + 7);
        assert_unique(&all);
        // Within a block, one after another.
        assert!(all.windows(2).filter(|w| w[1] == w[0] + 1).count() as u64 >= 4 * RUN_ID_BLOCK);
    }

    #[test]
    fn ids_are_unique_across_threads() {
        let per_thread = 3 * RUN_ID_BLOCK + 11;
        let all: Vec<u64> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8).map(|_| s.spawn(|| draw(per_thread))).collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("a drawing thread does not panic"))
                .collect()
        });
        assert_eq!(all.len() as u64, 8 * per_thread);
        assert_unique(&all);
    }

    #[test]
    fn the_counter_starts_at_a_nonzero_block_boundary() {
        let id = next_run_id().as_u64();
        let base = super::RUN_ID_BLOCKS.load(core::sync::atomic::Ordering::Relaxed);
        assert_ne!(base, 0);
        assert_eq!(base % RUN_ID_BLOCK, 0);
        assert_ne!(id, 0);
    }
}

pub use crate::policy::deadline;

#[cfg(feature = "metrics")]
pub use crate::keys::FlowLabels;
pub use crate::keys::{FlowKeys, KeyTable, NodeKeys};

// -- fan-out, join, map and error edges ------------------------------------------

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
    node_failed_at::<N>(cx, node, error, cx.step())
}

/// [`node_failed`] at step `step` (counting from 1): for a step numbered in advance, whose
/// context may not hold its number (see [`step_to`]).
#[cold]
#[inline(never)]
pub fn node_failed_at<N: Node>(
    cx: &crate::Context,
    node: &'static crate::NodeInfo,
    error: N::Error,
    step: u32,
) -> crate::FlowError {
    let attempts = N::attempts(&error);
    node_error(cx.flow(), node.name, step, attempts, error)
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
    let mut out = [node_info("", 0, keys); N];
    let mut i = 0;
    while i < N && i < names.len() {
        out[i] = node_info(names[i], i, keys);
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

/// The run of a flow whose `graph!` did not compile: it has the methods of a
/// [`Run`](crate::Run), so code that sets up runs adds no errors while the graph is fixed.
/// It is never built (the flow's `new` does not return).
#[derive(Debug)]
pub struct Unbuilt<O>(core::marker::PhantomData<O>);

#[allow(missing_docs)]
impl<O> Unbuilt<O> {
    pub fn hook<H>(self, _: H) -> Self {
        self
    }
    pub fn checkpoint<C>(self, _: &C) -> Self {
        self
    }
    pub fn run_id(self, _: crate::RunId) -> Self {
        self
    }
    pub fn cancel_on(self, _: &tokio_util::sync::CancellationToken) -> Self {
        self
    }
    pub fn deadline(self, _: tokio::time::Instant) -> Self {
        self
    }
    pub fn timeout(self, _: std::time::Duration) -> Self {
        self
    }
    pub fn max_steps(self, _: u32) -> Self {
        self
    }
    pub fn stream(
        self,
    ) -> crate::events::EventStream<O, core::future::Pending<Result<O, crate::FlowError>>> {
        self.stream_buffered(1)
    }
    pub fn stream_buffered(
        self,
        buffer: usize,
    ) -> crate::events::EventStream<O, core::future::Pending<Result<O, crate::FlowError>>> {
        crate::events::EventStream::new(buffer, "", |_| core::future::pending())
    }
}

impl<O> core::future::IntoFuture for Unbuilt<O> {
    type Output = Result<O, crate::FlowError>;
    type IntoFuture = core::future::Pending<Result<O, crate::FlowError>>;
    fn into_future(self) -> Self::IntoFuture {
        core::future::pending()
    }
}

// -- the run loop's constructors: what generated code builds and nothing else may ---

/// Moves a run's context to the next step; the run loop calls this before each node.
#[inline(always)]
pub fn advance(cx: &mut crate::Context) {
    cx.step += 1;
}

/// Sets a run's context to step `step` (counting from 1) if the call of node `N` through
/// `hook` may read it: in place of [`advance`], the run loop of a graph whose every step
/// is always reached after the same number of steps calls this at each step with that
/// number. A run with a step limit keeps every number: the loop checks the limit against
/// the context's step.
#[inline(always)]
pub fn step_to<N: crate::Node, H: crate::StepHook>(cx: &mut crate::Context, hook: &H, step: u32) {
    if N::READS_STEP || H::READS_STEP || hook.step_limit().is_some() {
        cx.step = step;
    }
}

/// The error of a run whose node failed.
#[cold]
#[inline(never)]
pub fn node_error(
    flow: &'static str,
    node: &'static str,
    step: u32,
    attempts: u32,
    source: impl Into<crate::BoxError>,
) -> crate::FlowError {
    crate::FlowError::Node {
        flow,
        node,
        step,
        attempts,
        source: source.into(),
    }
}

/// The error of a run that reached its step limit before `node`.
#[cold]
#[inline(never)]
pub fn step_limit_reached(
    flow: &'static str,
    node: &'static str,
    max_steps: u32,
) -> crate::FlowError {
    crate::FlowError::StepLimit {
        flow,
        node,
        max_steps,
    }
}

/// The description of a flow's graph (`Flow::GRAPH`).
#[allow(clippy::too_many_arguments)] // reason: called only by generated code
pub const fn graph_info(
    name: &'static str,
    input: &'static str,
    output: &'static str,
    entry: &'static str,
    nodes: &'static [crate::NodeInfo],
    edges: &'static [crate::EdgeInfo],
    max_steps: u32,
    timeout: Option<core::time::Duration>,
    keys: &'static FlowKeys,
) -> crate::GraphInfo {
    crate::GraphInfo {
        name,
        input,
        output,
        entry,
        nodes,
        edges,
        max_steps,
        timeout,
        keys,
    }
}

/// The description of the node at `index` of its graph's nodes.
pub const fn node_info(
    name: &'static str,
    index: usize,
    keys: fn() -> &'static [NodeKeys],
) -> crate::NodeInfo {
    crate::NodeInfo { name, index, keys }
}

/// The description of an edge.
pub const fn edge_info(
    from: crate::Endpoint,
    to: crate::Endpoint,
    kind: crate::EdgeKind,
) -> crate::EdgeInfo {
    crate::EdgeInfo { from, to, kind }
}

/// The error of a run ended by its cancellation token.
#[cold]
#[inline(never)]
pub fn cancelled(flow: &'static str) -> crate::FlowError {
    crate::FlowError::Cancelled { flow }
}

/// The step limit of a run: the flow's own, or its hooks' if lower (`Run::max_steps`).
#[inline(always)]
pub fn step_limit<K: crate::StepHook>(hook: &K, flow: u32) -> u32 {
    match hook.step_limit() {
        Some(run) if run < flow => run,
        _ => flow,
    }
}

// -- durable flows -------------------------------------------------------------------

pub use crate::durable::engine::{
    Begun, DurableState, Saver, StoreSaver, begin as durable_begin, decode_error, encode_step,
    fingerprint, state_of, waiting as durable_waiting,
};
#[cfg(feature = "durable")]
pub use crate::durable::engine::{
    Codec, Encodable, NotEncodable, PartOf, StepValue, decode_step, decode_value, encode_value,
    indexed, journaled,
};
#[cfg(feature = "durable")]
pub use crate::interrupt::engine::{answered, answered_value, decode_answer, interrupted, waiting};

/// serde, for the code generated for durable flows.
#[cfg(feature = "durable")]
pub use serde;

/// `#[flow(durable)]` needs the `durable` feature: without it, the generated code calls
/// this and the build fails with this message.
#[cfg(not(feature = "durable"))]
#[macro_export]
#[doc(hidden)]
macro_rules! __flow_durable_feature {
    () => {
        ::core::compile_error!(
            "`#[flow(durable)]` needs the `durable` feature of typedflow: `typedflow = { version = \"..\", features = [\"durable\"] }`"
        );
    };
}
/// Nothing: the `durable` feature is on.
#[cfg(feature = "durable")]
#[macro_export]
#[doc(hidden)]
macro_rules! __flow_durable_feature {
    () => {};
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
        static INFO: crate::NodeInfo = node_info("check", 0, || &[]);
        let mut cx = crate::Context::new("Essay", crate::RunId::from_u64(1));
        advance(&mut cx);
        advance(&mut cx);
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
