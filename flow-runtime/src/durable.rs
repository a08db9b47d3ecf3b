//! Durable runs: a run of a `#[flow(durable)]` flow given a checkpoint store saves its
//! state after every step, and can be resumed from its last checkpoint by another run, in
//! this process or another one.
//!
//! ```
//! # #[cfg(feature = "durable")] {
//! use typedflow::prelude::*;
//! use typedflow::checkpoint::{Checkpointer, MemoryStore, RunStatus};
//! use typedflow::durable::DurableFlow;
//!
//! #[node]
//! async fn outline(topic: String) -> Vec<String> {
//!     vec![format!("{topic}: why"), format!("{topic}: how")]
//! }
//!
//! #[node]
//! async fn count(points: Vec<String>) -> usize {
//!     points.len()
//! }
//!
//! graph! {
//!     #[flow(durable)]
//!     Essay(String) -> usize {
//!         START -> outline -> count -> END;
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = MemoryStore::new();
//! let flow = Essay::new(());
//! let run_id = RunId::from_u64(7);
//! assert_eq!(flow.run("rust".into()).checkpoint(&store).run_id(run_id).await?, 2);
//! let history = store.history(run_id).await.unwrap();
//! assert_eq!(history.len(), 2); // after `outline`, and the finished run
//! assert_eq!(history[0].node, "count");
//! assert_eq!(history[1].status, RunStatus::Finished);
//! // A finished run is not run again.
//! assert!(flow.resume(&store, run_id).await.is_err());
//! # Ok::<(), FlowError>(())
//! # }).unwrap();
//! # }
//! ```
//!
//! Without a store (`flow.run(input).await`), a durable flow runs as any other and pays
//! nothing for being durable. See the durability guide (`docs/durability.md`) for what a
//! resumed run runs again and how to deduplicate side effects.

use core::future::{Future, IntoFuture};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::checkpoint::{Checkpointer, StoreError};
use crate::events::{EVENT_BUFFER, EventHook, EventStream};
use crate::run::{AddHook, AddLimit, CancelOn, Deadline, PerRun, StepLimit};
use crate::{Flow, FlowError, RunId, StepHook};

/// Why a durable run could not save, load or resume its checkpoints. A run that ends with
/// one of these ends with [`FlowError::Durable`]; nothing saved before is lost or
/// overwritten.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DurableError {
    /// The store failed: it could not save a step (unreachable, full, or another process
    /// saved that step first: [`StoreError::Conflict`]), or it has no checkpoint of the run
    /// ([`StoreError::UnknownRun`]), or a row is corrupt.
    #[error("the checkpoint store failed")]
    Store(#[source] StoreError),
    /// The run's checkpoint was written by another graph: nodes, edges or the types at a
    /// step changed since. The run is not resumed into a graph it was not saved from.
    #[error(
        "run {run_id} was saved by another version of the graph (fingerprint {saved:016x}, this graph's is {current:016x}): finish or drain such runs with the program that started them, or start them anew"
    )]
    #[non_exhaustive]
    GraphChanged {
        /// The run.
        run_id: RunId,
        /// The fingerprint in the checkpoint.
        saved: u64,
        /// This graph's fingerprint.
        current: u64,
    },
    /// The run's checkpoint belongs to another flow.
    #[error("run {run_id} is a run of flow `{found}`, not of this flow")]
    #[non_exhaustive]
    OtherFlow {
        /// The run.
        run_id: RunId,
        /// The flow named in its checkpoint.
        found: String,
    },
    /// The run has finished: there is nothing to resume.
    #[error("run {run_id} has finished; it cannot be resumed")]
    #[non_exhaustive]
    Finished {
        /// The run.
        run_id: RunId,
    },
    /// The run has no checkpoint of that step to fork from.
    #[error("run {run_id} has no checkpoint of step {step}")]
    #[non_exhaustive]
    NoStep {
        /// The run.
        run_id: RunId,
        /// The step asked for.
        step: u32,
    },
    /// The state in a checkpoint cannot be decoded into this flow's state: it is not the
    /// JSON this flow writes, or it names a step this graph does not have, or a value no
    /// longer fits its type.
    #[error("the state of run {run_id} at step {step} cannot be read: {reason}")]
    #[non_exhaustive]
    Decode {
        /// The run.
        run_id: RunId,
        /// The checkpoint's step.
        step: u32,
        /// What is wrong with it.
        reason: String,
    },
    /// A value of the run could not be encoded (a serializer error, such as a map whose
    /// keys are not strings).
    #[error("the state of node `{node}` cannot be saved: {reason}")]
    #[non_exhaustive]
    Encode {
        /// The step whose input (or `END` for the output) failed to encode.
        node: &'static str,
        /// The serializer's error.
        reason: String,
    },
}

impl DurableError {
    /// The store's error, if the store failed.
    pub fn store_error(&self) -> Option<&StoreError> {
        match self {
            DurableError::Store(e) => Some(e),
            _ => None,
        }
    }
}

/// Where a durable run begins: a new run with its input (and, if set, its run id), or the
/// last checkpoint of a run.
#[derive(Debug)]
#[non_exhaustive]
pub enum Begin<I> {
    /// A new run.
    Input {
        /// The flow's input.
        input: I,
        /// The run id to save it under; a fresh one if `None`.
        run_id: Option<RunId>,
    },
    /// The run `run_id`, from its last checkpoint.
    Resume(RunId),
    /// A new run, from the checkpoint of step `step` of the run `from`.
    Fork {
        /// The run forked.
        from: RunId,
        /// The step of `from` whose checkpoint the new run starts from.
        step: u32,
        /// The new run's id; a fresh one if `None`.
        run_id: Option<RunId>,
    },
}

/// A flow declared `#[flow(durable)]`: its runs can be checkpointed to a store
/// ([`Run::checkpoint`](crate::Run::checkpoint)) and resumed ([`resume`](Self::resume)).
/// `graph!` implements it; there is nothing to implement.
pub trait DurableFlow: Flow {
    /// The fingerprint of the graph: its nodes, edges, and the types at each step,
    /// computed at compile time. A checkpoint with another fingerprint is refused.
    const FINGERPRINT: u64;

    /// Starts or resumes a run that saves a checkpoint to `store` after each step: what a
    /// [`DurableRun`] calls when it is awaited. Use [`Run::checkpoint`](crate::Run::checkpoint)
    /// or [`resume`](Self::resume).
    ///
    /// # Errors
    ///
    /// As a run's, and [`FlowError::Durable`] when the store fails or the run cannot be
    /// resumed.
    fn start_durable<R: PerRun, C: Checkpointer>(
        &self,
        begin: Begin<Self::Input>,
        hooks: R,
        store: &C,
    ) -> impl Future<Output = Result<Self::Output, FlowError>>;

    /// Resumes the run `run_id` from its last checkpoint in `store`: awaited, it runs the
    /// step after that checkpoint and the rest of the run, saving each step as a
    /// checkpointed run does, and returns the run's output. It takes the settings of a
    /// [`Run`](crate::Run) (hooks, limits). A run whose last checkpoint records a failure
    /// is resumed at the step that failed.
    ///
    /// A node that had started but whose step was not saved runs again: a resumed run is
    /// at-least-once per node. [`Context::idempotency_key`](crate::Context::idempotency_key)
    /// is the same for both calls of that step.
    ///
    /// # Errors
    ///
    /// [`FlowError::Durable`] with [`DurableError::Store`] (an unknown run id is
    /// [`StoreError::UnknownRun`]), [`DurableError::GraphChanged`],
    /// [`DurableError::OtherFlow`], [`DurableError::Finished`] or [`DurableError::Decode`];
    /// or any error a run can end with.
    #[allow(clippy::type_complexity)] // reason: an opaque type cannot be named by an alias on stable Rust
    #[inline(always)]
    fn resume<'f, C: Checkpointer>(
        &'f self,
        store: &'f C,
        run_id: RunId,
    ) -> DurableRun<
        'f,
        Self,
        C,
        crate::NoHook,
        crate::NoHook,
        impl LaunchDurable<
            'f,
            Self,
            C,
            (crate::NoHook, crate::NoHook),
            Run = impl Future<Output = Result<Self::Output, FlowError>>,
        >,
    >
    where
        Self: Sized,
    {
        assemble(
            self,
            store,
            Begin::Resume(run_id),
            crate::NoHook,
            crate::NoHook,
        )
    }

    /// Time travel: a new run that starts from the checkpoint of step `step` of the run
    /// `run_id`, as that run was after the step, and goes on from there, saving its own
    /// checkpoints under a new run id ([`DurableRun::run_id`] to choose it). The run
    /// forked is left as it is. The new run's first checkpoint is a copy of the one it
    /// starts from (at the same step number), so it can be resumed from the start.
    ///
    /// # Errors
    ///
    /// As [`resume`](Self::resume), and [`DurableError::NoStep`] when the run has no
    /// checkpoint of that step; [`DurableError::Finished`] for the checkpoint of its end,
    /// which holds the output rather than a step's input.
    #[allow(clippy::type_complexity)] // reason: an opaque type cannot be named by an alias on stable Rust
    #[inline(always)]
    fn fork<'f, C: Checkpointer>(
        &'f self,
        store: &'f C,
        run_id: RunId,
        step: u32,
    ) -> DurableRun<
        'f,
        Self,
        C,
        crate::NoHook,
        crate::NoHook,
        impl LaunchDurable<
            'f,
            Self,
            C,
            (crate::NoHook, crate::NoHook),
            Run = impl Future<Output = Result<Self::Output, FlowError>>,
        >,
    >
    where
        Self: Sized,
    {
        let begin = Begin::Fork {
            from: run_id,
            step,
            run_id: None,
        };
        assemble(self, store, begin, crate::NoHook, crate::NoHook)
    }
}

/// Starts a durable run: implemented for every function with the signature of
/// [`DurableFlow::start_durable`], as [`Launch`](crate::run::Launch) is for runs. Nothing
/// to implement or call.
pub trait LaunchDurable<'f, F: DurableFlow + 'f, C: 'f, R> {
    /// The run's future.
    type Run: Future<Output = Result<F::Output, FlowError>>;

    /// Starts the run.
    fn launch(self, flow: &'f F, begin: Begin<F::Input>, hooks: R, store: &'f C) -> Self::Run;
}

impl<'f, F, C, R, S, Fut> LaunchDurable<'f, F, C, R> for S
where
    F: DurableFlow + 'f,
    C: 'f,
    S: FnOnce(&'f F, Begin<F::Input>, R, &'f C) -> Fut,
    Fut: Future<Output = Result<F::Output, FlowError>>,
{
    type Run = Fut;

    #[inline(always)]
    fn launch(self, flow: &'f F, begin: Begin<F::Input>, hooks: R, store: &'f C) -> Fut {
        self(flow, begin, hooks, store)
    }
}

/// A run of the durable flow `F` that saves a checkpoint to the store `C` after each step:
/// what [`Run::checkpoint`](crate::Run::checkpoint) and [`DurableFlow::resume`] return.
/// Await it, or first set what this run alone needs, as on a [`Run`](crate::Run).
///
/// Each step's checkpoint is saved before the next step starts; a save that fails ends
/// the run with [`FlowError::Durable`], and the run can be resumed from its last saved
/// step. A run that ends records it: a finished run's last checkpoint holds its output
/// with [`RunStatus::Finished`](crate::checkpoint::RunStatus::Finished), a failed run's
/// holds the input of the step that failed with
/// [`RunStatus::Errored`](crate::checkpoint::RunStatus::Errored). A run cut short by a
/// cancellation or a timeout keeps its last checkpoint, and can be resumed.
#[must_use = "a run does nothing until it is awaited"]
pub struct DurableRun<'f, F: Flow, C, R, L, S> {
    flow: &'f F,
    store: &'f C,
    begin: Begin<F::Input>,
    hooks: R,
    limits: L,
    launch: S,
}

#[allow(clippy::type_complexity)] // reason: an opaque type cannot be named by an alias on stable Rust
#[inline(always)]
fn assemble<'f, F: DurableFlow + 'f, C: Checkpointer + 'f, R, L>(
    flow: &'f F,
    store: &'f C,
    begin: Begin<F::Input>,
    hooks: R,
    limits: L,
) -> DurableRun<
    'f,
    F,
    C,
    R,
    L,
    impl LaunchDurable<'f, F, C, (R, L), Run = impl Future<Output = Result<F::Output, FlowError>>>,
>
where
    (R, L): PerRun,
{
    DurableRun {
        flow,
        store,
        begin,
        hooks,
        limits,
        launch: F::start_durable::<(R, L), C>,
    }
}

/// The checkpointed run of `flow` with `input`, `hooks` and `limits`: what
/// [`Run::checkpoint`](crate::Run::checkpoint) returns.
#[allow(clippy::type_complexity)] // reason: an opaque type cannot be named by an alias on stable Rust
#[inline(always)]
pub(crate) fn checkpointed<'f, F: DurableFlow + 'f, C: Checkpointer + 'f, R, L>(
    flow: &'f F,
    store: &'f C,
    input: F::Input,
    hooks: R,
    limits: L,
) -> DurableRun<
    'f,
    F,
    C,
    R,
    L,
    impl LaunchDurable<'f, F, C, (R, L), Run = impl Future<Output = Result<F::Output, FlowError>>>,
>
where
    (R, L): PerRun,
{
    let begin = Begin::Input {
        input,
        run_id: None,
    };
    assemble(flow, store, begin, hooks, limits)
}

/// The type of a [`DurableRun`] with hooks `R` and limits `L`.
macro_rules! durable_run_type {
    ($R:ty, $L:ty) => {
        DurableRun<'f, F, C, $R, $L, impl LaunchDurable<'f, F, C, ($R, $L), Run = impl Future<Output = Result<F::Output, FlowError>>>>
    };
}

impl<'f, F: DurableFlow + 'f, C: Checkpointer + 'f, R, L, S> DurableRun<'f, F, C, R, L, S> {
    /// The run with one more limit, inside those it has.
    #[inline(always)]
    fn limit<X>(self, limit: X) -> durable_run_type!(R, L::Out)
    where
        L: AddLimit<X>,
        (R, L::Out): PerRun,
    {
        assemble(
            self.flow,
            self.store,
            self.begin,
            self.hooks,
            self.limits.add(limit),
        )
    }

    /// Saves a new run (or a fork) under `run_id` rather than a fresh id, so that it can
    /// be resumed by that id later. A resumed run keeps its own id.
    #[inline(always)]
    pub fn run_id(mut self, run_id: RunId) -> Self {
        if let Begin::Input { run_id: id, .. } | Begin::Fork { run_id: id, .. } = &mut self.begin {
            *id = Some(run_id);
        }
        self
    }

    /// Adds a hook for this run only: as [`Run::hook`](crate::Run::hook).
    #[inline(always)]
    pub fn hook<H: StepHook>(self, hook: H) -> durable_run_type!(R::Out, L)
    where
        R: AddHook<H>,
        (R::Out, L): PerRun,
    {
        assemble(
            self.flow,
            self.store,
            self.begin,
            self.hooks.add(hook),
            self.limits,
        )
    }

    /// Ends the run when `token` is cancelled: as [`Run::cancel_on`](crate::Run::cancel_on).
    /// The run keeps its last checkpoint and can be resumed.
    #[inline(always)]
    pub fn cancel_on(self, token: &CancellationToken) -> durable_run_type!(R, L::Out)
    where
        L: AddLimit<CancelOn>,
        (R, L::Out): PerRun,
    {
        self.limit(CancelOn::new(token))
    }

    /// Ends the run at `at`: as [`Run::deadline`](crate::Run::deadline).
    #[inline(always)]
    pub fn deadline(self, at: Instant) -> durable_run_type!(R, L::Out)
    where
        L: AddLimit<Deadline>,
        (R, L::Out): PerRun,
    {
        self.limit(Deadline::at(at))
    }

    /// Ends the run after `timeout`: as [`Run::timeout`](crate::Run::timeout).
    #[inline(always)]
    pub fn timeout(self, timeout: Duration) -> durable_run_type!(R, L::Out)
    where
        L: AddLimit<Deadline>,
        (R, L::Out): PerRun,
    {
        self.limit(Deadline::after(timeout))
    }

    /// A step limit for this run: as [`Run::max_steps`](crate::Run::max_steps). A resumed
    /// run counts the steps of the run before it.
    #[inline(always)]
    pub fn max_steps(self, max_steps: u32) -> durable_run_type!(R, L::Out)
    where
        L: AddLimit<StepLimit>,
        (R, L::Out): PerRun,
    {
        self.limit(StepLimit::new(max_steps))
    }

    /// Runs and streams the run's [`Event`](crate::events::Event)s as they happen, then
    /// gives its output: as [`Run::stream`](crate::Run::stream). A resumed run's events
    /// start at the step after its checkpoint.
    #[inline(always)]
    pub fn stream(
        self,
    ) -> EventStream<F::Output, impl Future<Output = Result<F::Output, FlowError>>>
    where
        R: AddHook<EventHook>,
        (R::Out, L): PerRun,
    {
        self.stream_buffered(EVENT_BUFFER)
    }

    /// As [`stream`](DurableRun::stream), buffering at most `buffer` events (at least
    /// one).
    pub fn stream_buffered(
        self,
        buffer: usize,
    ) -> EventStream<F::Output, impl Future<Output = Result<F::Output, FlowError>>>
    where
        R: AddHook<EventHook>,
        (R::Out, L): PerRun,
    {
        let DurableRun {
            flow,
            store,
            begin,
            hooks,
            limits,
            ..
        } = self;
        EventStream::new(buffer, F::NAME, move |events| {
            assemble(flow, store, begin, hooks.add(events), limits).into_future()
        })
    }
}

impl<'f, F, C, R, L, S> IntoFuture for DurableRun<'f, F, C, R, L, S>
where
    F: DurableFlow + 'f,
    C: 'f,
    S: LaunchDurable<'f, F, C, (R, L)>,
{
    type Output = Result<F::Output, FlowError>;
    type IntoFuture = S::Run;

    #[inline(always)]
    fn into_future(self) -> S::Run {
        self.launch
            .launch(self.flow, self.begin, (self.hooks, self.limits), self.store)
    }
}

impl<F: Flow, C, R, L, S> core::fmt::Debug for DurableRun<'_, F, C, R, L, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DurableRun")
            .field("flow", &F::NAME)
            .finish_non_exhaustive()
    }
}

/// What the generated code of a durable flow calls; reached through `__private`.
pub(crate) mod engine {
    use core::future::Future;

    use super::{Begin, DurableError};
    use crate::checkpoint::{Checkpoint, Checkpointer, RunStatus, StoreError};
    use crate::{Context, FlowError, GraphInfo, RunId};

    /// The state enum of a durable flow: the generated code implements it.
    pub trait DurableState: Sized {
        /// The step the state runs next.
        fn step_name(&self) -> &'static str;
        /// Appends the state's encoding to `out`.
        ///
        /// # Errors
        ///
        /// [`DurableError::Encode`] when a value does not serialize.
        fn encode(&self, out: &mut Vec<u8>) -> Result<(), DurableError>;
        /// The state from its encoding.
        ///
        /// # Errors
        ///
        /// [`DurableError::Decode`] (with run id 0 and step 0, which the caller fills in).
        fn decode(bytes: &[u8]) -> Result<Self, DurableError>;
    }

    /// Where a durable run's loop hands its states: nowhere ([`NoStore`]), or a store.
    pub trait Saver {
        /// The run's first state, before its first step (or the state it resumes from).
        ///
        /// # Errors
        ///
        /// The run's error when the state does not encode.
        fn begin<S: DurableState>(&mut self, cx: &Context, state: &S) -> Result<(), FlowError>;
        /// Saves the state after the step `cx.step()`.
        fn step<S: DurableState>(
            &mut self,
            cx: &Context,
            state: &S,
        ) -> impl Future<Output = Result<(), FlowError>>;
        /// Records the run's output, encoded by `encode`, as its end.
        fn finished<O, E>(
            &mut self,
            cx: &Context,
            output: &O,
            encode: E,
        ) -> impl Future<Output = Result<(), FlowError>>
        where
            E: FnOnce(&O, &mut Vec<u8>) -> Result<(), DurableError>;
        /// Records that the run failed with `error`, and returns it.
        fn failed(&mut self, cx: &Context, error: FlowError) -> impl Future<Output = FlowError>;
    }

    /// A durable flow's run without a store: saves nothing, costs nothing.
    #[derive(Debug, Clone, Copy)]
    pub struct NoStore;

    impl Saver for NoStore {
        #[inline(always)]
        fn begin<S: DurableState>(&mut self, _: &Context, _: &S) -> Result<(), FlowError> {
            Ok(())
        }
        #[inline(always)]
        fn step<S: DurableState>(
            &mut self,
            _: &Context,
            _: &S,
        ) -> impl Future<Output = Result<(), FlowError>> {
            core::future::ready(Ok(()))
        }
        #[inline(always)]
        fn finished<O, E>(
            &mut self,
            _: &Context,
            _: &O,
            _: E,
        ) -> impl Future<Output = Result<(), FlowError>>
        where
            E: FnOnce(&O, &mut Vec<u8>) -> Result<(), DurableError>,
        {
            core::future::ready(Ok(()))
        }
        #[inline(always)]
        fn failed(&mut self, _: &Context, error: FlowError) -> impl Future<Output = FlowError> {
            core::future::ready(error)
        }
    }

    /// A durable flow's run with a store: one checkpoint per step.
    pub struct StoreSaver<'s, C> {
        store: &'s C,
        graph: &'static GraphInfo,
        /// The last checkpoint saved, or made at the start: what a failure records.
        last: Checkpoint,
        /// Whether the store failed: a failure is then not recorded in it.
        broken: bool,
    }

    impl<'s, C: Checkpointer> StoreSaver<'s, C> {
        /// A saver of the run `run_id` of the flow `graph`, into `store`.
        pub fn new(
            store: &'s C,
            graph: &'static GraphInfo,
            fingerprint: u64,
            run_id: RunId,
        ) -> Self {
            StoreSaver {
                store,
                graph,
                last: Checkpoint::new(graph.name, fingerprint, run_id, 0, graph.entry, Vec::new()),
                broken: false,
            }
        }

        fn error(&self, source: DurableError) -> FlowError {
            FlowError::Durable {
                flow: self.graph.name,
                run_id: self.last.run_id,
                source,
            }
        }

        /// Saves `self.last`, made for step `step` with status `status` now.
        async fn save(
            &mut self,
            step: u32,
            node: &str,
            status: RunStatus,
        ) -> Result<(), FlowError> {
            let cp = &mut self.last;
            cp.step = step;
            cp.node.clear();
            cp.node.push_str(node);
            cp.status = status;
            cp.touch();
            match self.store.save(&self.last).await {
                Ok(()) => Ok(()),
                Err(e) => {
                    self.broken = true;
                    Err(self.error(DurableError::Store(e)))
                }
            }
        }

        fn encode<S: DurableState>(&mut self, state: &S) -> Result<(), FlowError> {
            self.last.state.clear();
            match state.encode(&mut self.last.state) {
                Ok(()) => Ok(()),
                Err(e) => {
                    self.broken = true;
                    Err(self.error(e))
                }
            }
        }
    }

    impl<C: Checkpointer> Saver for StoreSaver<'_, C> {
        fn begin<S: DurableState>(&mut self, cx: &Context, state: &S) -> Result<(), FlowError> {
            self.last.step = cx.step();
            self.last.node.clear();
            self.last.node.push_str(state.step_name());
            self.encode(state)
        }

        async fn step<S: DurableState>(
            &mut self,
            cx: &Context,
            state: &S,
        ) -> Result<(), FlowError> {
            self.encode(state)?;
            self.save(cx.step(), state.step_name(), RunStatus::Running)
                .await
        }

        async fn finished<O, E>(
            &mut self,
            cx: &Context,
            output: &O,
            encode: E,
        ) -> Result<(), FlowError>
        where
            E: FnOnce(&O, &mut Vec<u8>) -> Result<(), DurableError>,
        {
            self.last.state.clear();
            if let Err(e) = encode(output, &mut self.last.state) {
                return Err(self.error(e));
            }
            self.save(cx.step(), "END", RunStatus::Finished).await
        }

        async fn failed(&mut self, _cx: &Context, error: FlowError) -> FlowError {
            if self.broken || matches!(error, FlowError::Durable { .. }) {
                return error;
            }
            // The failed step is the one after the last saved; its input is the state
            // saved (or begun with) last, so a resumed run retries it.
            let step = self.last.step + 1;
            let node = core::mem::take(&mut self.last.node);
            if let Err(store) = self.save(step, &node, RunStatus::Errored).await {
                tracing::warn!(
                    flow = self.graph.name,
                    run_id = %self.last.run_id,
                    error = %store,
                    "a durable run failed, and its failure could not be recorded"
                );
            }
            error
        }
    }

    /// The context and the state of a durable run beginning at `begin`: a new run at its
    /// first step, or the run of the last checkpoint, checked to be of this flow's graph,
    /// not finished, and decodable.
    ///
    /// # Errors
    ///
    /// [`FlowError::Durable`] when the store fails or the checkpoint cannot be resumed.
    pub async fn begin<I, S: DurableState, C: Checkpointer>(
        begin: Begin<I>,
        graph: &'static GraphInfo,
        fingerprint: u64,
        fresh: impl FnOnce() -> RunId,
        entry: impl FnOnce(I) -> S,
        store: &C,
    ) -> Result<(Context, S), FlowError> {
        let run_id = match begin {
            Begin::Input { input, run_id } => {
                let run_id = run_id.unwrap_or_else(fresh);
                return Ok((Context::new(graph.name, run_id), entry(input)));
            }
            Begin::Resume(run_id) => run_id,
            Begin::Fork { from, step, run_id } => {
                let (old, state, cp) = load(graph, fingerprint, from, store, Some(step)).await?;
                let run_id = run_id.unwrap_or_else(fresh);
                let mut cx = Context::new(graph.name, run_id);
                cx.step = old.step;
                let copy =
                    Checkpoint::new(graph.name, fingerprint, run_id, cp.step, cp.node, cp.state);
                store.save(&copy).await.map_err(|e| FlowError::Durable {
                    flow: graph.name,
                    run_id,
                    source: DurableError::Store(e),
                })?;
                return Ok((cx, state));
            }
        };
        let (cx, state, _) = load(graph, fingerprint, run_id, store, None).await?;
        Ok((cx, state))
    }

    /// The checkpoint of the run `run_id` at `step` (its last if `None`), checked to be of
    /// this graph and not its end, and the context and state it resumes with.
    async fn load<S: DurableState, C: Checkpointer>(
        graph: &'static GraphInfo,
        fingerprint: u64,
        run_id: RunId,
        store: &C,
        step: Option<u32>,
    ) -> Result<(Context, S, Checkpoint), FlowError> {
        let error = |source| FlowError::Durable {
            flow: graph.name,
            run_id,
            source,
        };
        let cp = match step {
            None => store.latest(run_id).await,
            Some(step) => store.history(run_id).await.and_then(|history| {
                history
                    .into_iter()
                    .find(|cp| cp.step == step)
                    .ok_or(StoreError::UnknownRun { run_id })
            }),
        };
        let cp = match (cp, step) {
            (Ok(cp), _) => cp,
            (Err(StoreError::UnknownRun { .. }), Some(step)) => {
                // Whether the run exists and lacks the step, or does not exist.
                return Err(error(match store.latest(run_id).await {
                    Ok(_) => DurableError::NoStep { run_id, step },
                    Err(e) => DurableError::Store(e),
                }));
            }
            (Err(e), _) => return Err(error(DurableError::Store(e))),
        };
        if cp.flow != graph.name {
            return Err(error(DurableError::OtherFlow {
                run_id,
                found: cp.flow,
            }));
        }
        if cp.fingerprint != fingerprint {
            return Err(error(DurableError::GraphChanged {
                run_id,
                saved: cp.fingerprint,
                current: fingerprint,
            }));
        }
        if cp.status == RunStatus::Finished {
            return Err(error(DurableError::Finished { run_id }));
        }
        let state = S::decode(&cp.state).map_err(|e| {
            error(match e {
                DurableError::Decode { reason, .. } => DurableError::Decode {
                    run_id,
                    step: cp.step,
                    reason,
                },
                other => other,
            })
        })?;
        let mut cx = Context::new(graph.name, run_id);
        cx.step = cp.step;
        Ok((cx, state, cp))
    }

    /// A decoding error; the caller names the run and step.
    pub fn decode_error(reason: impl core::fmt::Display) -> DurableError {
        DurableError::Decode {
            run_id: RunId::from_u64(0),
            step: 0,
            reason: reason.to_string(),
        }
    }

    /// The encoding of a durable state: `{"step":"<name>","input":<the value>}`, the
    /// value written by `value`.
    ///
    /// # Errors
    ///
    /// What `value` returns.
    #[inline]
    pub fn encode_step(
        out: &mut Vec<u8>,
        name: &'static str,
        value: impl FnOnce(&mut Vec<u8>) -> Result<(), DurableError>,
    ) -> Result<(), DurableError> {
        out.extend_from_slice(b"{\"step\":\"");
        // Step names are node names, tuples of them or `[name]`: no quote, no backslash.
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\",\"input\":");
        value(out)?;
        out.push(b'}');
        Ok(())
    }

    /// A 64-bit FNV-1a hash of `parts`, each followed by a zero byte: the fingerprint of a
    /// graph, computed at compile time from its description.
    pub const fn fingerprint(parts: &[&str]) -> u64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut i = 0;
        while i < parts.len() {
            let bytes = parts[i].as_bytes();
            let mut j = 0;
            while j < bytes.len() {
                hash ^= bytes[j] as u64;
                hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
                j += 1;
            }
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            i += 1;
        }
        hash
    }

    #[cfg(feature = "durable")]
    pub use super::json::{StepValue, decode_step, decode_value, encode_value};
}

/// The JSON encoding of durable states, through serde.
#[cfg(feature = "durable")]
mod json {
    use super::DurableError;
    use super::engine::decode_error;

    /// The value of a step in a decoded state, ready to decode into its type.
    #[derive(Debug)]
    pub struct StepValue(serde_json::Value);

    /// Appends `value` as JSON.
    ///
    /// # Errors
    ///
    /// [`DurableError::Encode`] naming `node` when the value does not serialize.
    #[inline]
    pub fn encode_value<T: serde::Serialize + ?Sized>(
        value: &T,
        node: &'static str,
        out: &mut Vec<u8>,
    ) -> Result<(), DurableError> {
        serde_json::to_writer(out, value).map_err(|e| DurableError::Encode {
            node,
            reason: e.to_string(),
        })
    }

    /// A value of type `T` from a step's value.
    ///
    /// # Errors
    ///
    /// [`DurableError::Decode`] when it does not fit `T`.
    pub fn decode_value<T: serde::de::DeserializeOwned>(
        value: StepValue,
    ) -> Result<T, DurableError> {
        serde_json::from_value(value.0).map_err(decode_error)
    }

    /// The step name and the value of an encoded state.
    ///
    /// # Errors
    ///
    /// [`DurableError::Decode`] when the bytes are not an encoded state.
    pub fn decode_step(bytes: &[u8]) -> Result<(String, StepValue), DurableError> {
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(decode_error)?;
        let serde_json::Value::Object(mut map) = value else {
            return Err(decode_error("not a JSON object"));
        };
        let step = match map.remove("step") {
            Some(serde_json::Value::String(step)) => step,
            _ => return Err(decode_error("no `step` name")),
        };
        let input = map
            .remove("input")
            .ok_or_else(|| decode_error("no `input` value"))?;
        Ok((step, StepValue(input)))
    }
}
