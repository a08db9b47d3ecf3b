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
#[cfg(feature = "durable")]
pub use crate::interrupt::{Answered, Asks, Interrupt};
pub use crate::interrupt::{Outcome, Waiting};
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
    /// The run reached an interrupt, which waits for a person's answer, but it runs
    /// without a checkpoint store to wait in.
    #[error(
        "the run reached interrupt `{interrupt}`, which waits for an answer to `{question}`, but it runs without a checkpoint store: run it with `.checkpoint(&store)`"
    )]
    #[non_exhaustive]
    NoStore {
        /// The interrupt's name in the graph.
        interrupt: &'static str,
        /// The question's type.
        question: &'static str,
    },
    /// The run waits for an answer: it goes on with `DurableFlow::resume_with`, not
    /// [`resume`](DurableFlow::resume).
    #[error("run {run_id} waits for an answer to `{question}`: resume it with `resume_with`")]
    #[non_exhaustive]
    Waiting {
        /// The run.
        run_id: RunId,
        /// The question's type.
        question: String,
    },
    /// An answer was given to a run that does not wait for one: it was answered before,
    /// or never asked.
    #[error("run {run_id} is not waiting for an answer (it is {status}); was it answered already?")]
    #[non_exhaustive]
    NotWaiting {
        /// The run.
        run_id: RunId,
        /// Where the run stands: `running`, `finished` or `failed`.
        status: &'static str,
    },
    /// An answer to one question was given to a run that waits for another.
    #[error("run {run_id} waits at `{waiting_for}`, not for an answer of type `{answered}`")]
    #[non_exhaustive]
    WrongQuestion {
        /// The run.
        run_id: RunId,
        /// The question (or interrupt) the run waits for.
        waiting_for: String,
        /// The type of the answer given.
        answered: &'static str,
    },
    /// A fork's edit takes another type than the input of the step it starts at.
    #[error(
        "step {step} of run {run_id} runs `{node}`, whose input is not a `{edit}`: the edit does not apply"
    )]
    #[non_exhaustive]
    EditType {
        /// The run forked.
        run_id: RunId,
        /// The step forked from.
        step: u32,
        /// The node that runs next from that step.
        node: String,
        /// The type the edit takes.
        edit: &'static str,
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
    /// The run `run_id`, waiting at an interrupt, with the answer to its question.
    Answer {
        /// The run.
        run_id: RunId,
        /// The question's type as the graph writes it.
        question: &'static str,
        /// The answer, of the question's answer type.
        answer: Box<dyn core::any::Any + Send>,
    },
    /// The run `run_id`, waiting at an interrupt, with the answer as JSON text, decoded
    /// into the answer type of the interrupt the run waits at.
    AnswerJson {
        /// The run.
        run_id: RunId,
        /// The answer's JSON text.
        answer: Vec<u8>,
    },
    /// A new run, from the checkpoint of step `step` of the run `from`.
    Fork {
        /// The run forked.
        from: RunId,
        /// The step of `from` whose checkpoint the new run starts from.
        step: u32,
        /// The new run's id; a fresh one if `None`.
        run_id: Option<RunId>,
        /// A change to the input of the step the new run starts at.
        edit: Option<Edit>,
    },
}

/// A change to the input of the step a fork starts at: see
/// [`DurableFlow::fork_edited`].
pub struct Edit(Box<EditFn>);

/// An edit, type-erased: `Err` with the type it takes when the input is another.
type EditFn = dyn FnOnce(&mut dyn core::any::Any) -> Result<(), &'static str> + Send;

impl Edit {
    /// An edit of an input of type `T`, by `edit`.
    pub fn new<T: 'static>(edit: impl FnOnce(&mut T) + Send + 'static) -> Self {
        Edit(Box::new(
            move |input: &mut dyn core::any::Any| match input.downcast_mut::<T>() {
                Some(input) => {
                    edit(input);
                    Ok(())
                }
                None => Err(core::any::type_name::<T>()),
            },
        ))
    }

    /// Applies the edit to `input`; the type the edit takes if `input` is not one.
    fn apply(self, input: &mut dyn core::any::Any) -> Result<(), &'static str> {
        (self.0)(input)
    }
}

impl core::fmt::Debug for Edit {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Edit(..)")
    }
}

/// The type of a run of a durable flow (`Self`) into the store `C`, with no settings yet:
/// what `DurableFlow`'s methods return.
macro_rules! new_durable_run {
    () => {
        DurableRun<'f, Self, C, crate::NoHook, crate::NoHook, impl LaunchDurable<'f, Self, C, (crate::NoHook, crate::NoHook), Run = impl Future<Output = Result<Self::RunOutput, FlowError>>>>
    };
}

/// A flow declared `#[flow(durable)]`: its runs can be checkpointed to a store
/// ([`Run::checkpoint`](crate::Run::checkpoint)) and resumed ([`resume`](Self::resume)).
/// `graph!` implements it; there is nothing to implement.
#[diagnostic::on_unimplemented(
    message = "flow `{Self}` is not durable, so its runs cannot be checkpointed or resumed",
    label = "`{Self}` is not `#[flow(durable)]`",
    note = "declare the flow `#[flow(durable)]` in its `graph!` (and enable typedflow's `durable` feature): a durable flow's every saved value is checked serializable"
)]
pub trait DurableFlow: Flow {
    /// The fingerprint of the graph: its nodes, edges, and the types at each step,
    /// computed at compile time. A checkpoint with another fingerprint is refused.
    const FINGERPRINT: u64;

    /// What a checkpointed run of the flow gives: the flow's output, or for a flow with
    /// interrupts an [`Outcome`] (its output, or the question it waits on).
    type RunOutput;

    /// What a checkpointed run gave, as an [`Outcome`] whether or not the flow has
    /// interrupts: for code generic over durable flows (an engine that runs them, say).
    fn outcome(output: Self::RunOutput) -> Outcome<Self::Output>;

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
    ) -> impl Future<Output = Result<Self::RunOutput, FlowError>>;

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
    #[inline(always)]
    fn resume<'f, C: Checkpointer>(&'f self, store: &'f C, run_id: RunId) -> new_durable_run!()
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
    #[inline(always)]
    fn fork<'f, C: Checkpointer>(
        &'f self,
        store: &'f C,
        run_id: RunId,
        step: u32,
    ) -> new_durable_run!()
    where
        Self: Sized,
    {
        let begin = Begin::Fork {
            from: run_id,
            step,
            run_id: None,
            edit: None,
        };
        assemble(self, store, begin, crate::NoHook, crate::NoHook)
    }

    /// Time travel with a change: as [`fork`](Self::fork), with the input of the step
    /// the new run starts at changed by `edit` first (a draft corrected, a wrong answer
    /// replaced). The new run's first checkpoint holds the edited input; the run forked
    /// is left as it is.
    ///
    /// ```
    /// # #[cfg(feature = "durable")] {
    /// use typedflow::checkpoint::MemoryStore;
    /// use typedflow::durable::DurableFlow;
    /// use typedflow::prelude::*;
    ///
    /// #[node]
    /// async fn double(x: u32) -> u32 { x * 2 }
    ///
    /// #[node]
    /// async fn inc(x: u32) -> u32 { x + 1 }
    ///
    /// graph! {
    ///     #[flow(durable)]
    ///     Calc(u32) -> u32 {
    ///         START -> double -> inc -> END;
    ///     }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (store, flow, run) = (MemoryStore::new(), Calc::new(()), RunId::from_u64(1));
    /// assert_eq!(flow.run(20).checkpoint(&store).run_id(run).await?, 41);
    /// // After step 1, `inc` was given 40: give it 100 instead.
    /// let edited = flow.fork_edited(&store, run, 1, |x: &mut u32| *x = 100).await?;
    /// assert_eq!(edited, 101);
    /// # Ok::<(), FlowError>(())
    /// # }).unwrap();
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`fork`](Self::fork), and [`DurableError::EditType`] when the step does not
    /// take a `T`.
    #[inline(always)]
    fn fork_edited<'f, C: Checkpointer, T: 'static>(
        &'f self,
        store: &'f C,
        run_id: RunId,
        step: u32,
        edit: impl FnOnce(&mut T) + Send + 'static,
    ) -> new_durable_run!()
    where
        Self: Sized,
    {
        let begin = Begin::Fork {
            from: run_id,
            step,
            run_id: None,
            edit: Some(Edit::new(edit)),
        };
        assemble(self, store, begin, crate::NoHook, crate::NoHook)
    }

    /// Resumes the run `run_id`, which waits at an interrupt asking `Q`, with `answer`:
    /// the step after the interrupt takes the question and the answer
    /// ([`Answered`]), and the run goes on as [`resume`](Self::resume) would. The
    /// answer's type is the one the graph declares for `Q` ([`Asks::Answer`]); `Q` is
    /// inferred when the flow asks one question type, and named
    /// (`resume_with::<Approval>`) otherwise.
    ///
    /// The answer is saved as the run's next checkpoint before anything runs: of two
    /// calls answering one run at once, the store lets one save it, and the other ends
    /// with its conflict ([`StoreError::Conflict`]).
    ///
    /// # Errors
    ///
    /// As [`resume`](Self::resume), and [`DurableError::NotWaiting`] when the run does
    /// not wait (it was answered before), [`DurableError::WrongQuestion`] when it waits
    /// for the answer to another question.
    #[cfg(feature = "durable")]
    #[inline(always)]
    fn resume_with<'f, Q, C: Checkpointer>(
        &'f self,
        store: &'f C,
        run_id: RunId,
        answer: <Self as Asks<Q>>::Answer,
    ) -> new_durable_run!()
    where
        Self: Sized + Asks<Q>,
    {
        let begin = Begin::Answer {
            run_id,
            question: <Self as Asks<Q>>::QUESTION,
            answer: Box::new(answer),
        };
        assemble(self, store, begin, crate::NoHook, crate::NoHook)
    }

    /// As `resume_with`, with the answer as JSON text, decoded into
    /// the answer type of the interrupt the run waits at: for an answer that arrives
    /// over the wire (a web form, a chat message, a Restate promise).
    ///
    /// # Errors
    ///
    /// As `resume_with`, and [`DurableError::Decode`] when the
    /// answer is not JSON of the type the interrupt takes.
    #[inline(always)]
    fn resume_with_json<'f, C: Checkpointer>(
        &'f self,
        store: &'f C,
        run_id: RunId,
        answer: impl Into<Vec<u8>>,
    ) -> new_durable_run!()
    where
        Self: Sized,
    {
        let begin = Begin::AnswerJson {
            run_id,
            answer: answer.into(),
        };
        assemble(self, store, begin, crate::NoHook, crate::NoHook)
    }

    /// The question the run `run_id` waits on, read from its last checkpoint in
    /// `store`: for a program that did not start the run, to show the question before
    /// answering it.
    ///
    /// # Errors
    ///
    /// [`FlowError::Durable`]: [`DurableError::NotWaiting`] when the run does not wait,
    /// and as [`resume`](Self::resume) when its checkpoint cannot be read.
    fn waiting<C: Checkpointer>(
        &self,
        store: &C,
        run_id: RunId,
    ) -> impl Future<Output = Result<Waiting, FlowError>>;
}

/// Starts a durable run: implemented for every function with the signature of
/// [`DurableFlow::start_durable`], as [`Launch`](crate::run::Launch) is for runs. Nothing
/// to implement or call.
pub trait LaunchDurable<'f, F: DurableFlow + 'f, C: 'f, R> {
    /// The run's future.
    type Run: Future<Output = Result<F::RunOutput, FlowError>>;

    /// Starts the run.
    fn launch(self, flow: &'f F, begin: Begin<F::Input>, hooks: R, store: &'f C) -> Self::Run;
}

impl<'f, F, C, R, S, Fut> LaunchDurable<'f, F, C, R> for S
where
    F: DurableFlow + 'f,
    C: 'f,
    S: FnOnce(&'f F, Begin<F::Input>, R, &'f C) -> Fut,
    Fut: Future<Output = Result<F::RunOutput, FlowError>>,
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
    impl LaunchDurable<'f, F, C, (R, L), Run = impl Future<Output = Result<F::RunOutput, FlowError>>>,
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
    impl LaunchDurable<'f, F, C, (R, L), Run = impl Future<Output = Result<F::RunOutput, FlowError>>>,
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
        DurableRun<'f, F, C, $R, $L, impl LaunchDurable<'f, F, C, ($R, $L), Run = impl Future<Output = Result<F::RunOutput, FlowError>>>>
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
    ) -> EventStream<F::RunOutput, impl Future<Output = Result<F::RunOutput, FlowError>>>
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
    ) -> EventStream<F::RunOutput, impl Future<Output = Result<F::RunOutput, FlowError>>>
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
    type Output = Result<F::RunOutput, FlowError>;
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

    use super::{Begin, DurableError, Waiting};
    use crate::checkpoint::{Checkpoint, Checkpointer, Part, RunStatus, StoreError};
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
        /// The input the state holds, for a fork's edit.
        fn input_mut(&mut self) -> &mut dyn core::any::Any;
        /// The question's type, when the state is an interrupt's: a run saved in it waits.
        ///
        /// # Default
        ///
        /// `None`: a flow without interrupts never waits.
        #[inline(always)]
        fn waits(&self) -> Option<&'static str> {
            None
        }
        /// An answer, from its JSON text, of the type the interrupt of this state takes;
        /// `None` for a state that is not an interrupt's.
        ///
        /// # Default
        ///
        /// `None`: a flow without interrupts never waits.
        #[inline(always)]
        fn decode_answer(
            &self,
            answer: &[u8],
        ) -> Option<Result<Box<dyn core::any::Any + Send>, DurableError>> {
            let _ = answer;
            None
        }
        /// The waiting run of an interrupt's state, saved at `step` of the run `run_id`;
        /// `None` for another state.
        ///
        /// # Default
        ///
        /// `None`: a flow without interrupts never waits.
        #[inline(always)]
        fn into_waiting(self, run_id: RunId, step: u32) -> Option<Waiting> {
            let _ = (run_id, step);
            None
        }
    }

    /// Where a durable run's loop hands its states: a store ([`StoreSaver`]).
    pub trait Saver {
        /// The run's first state, before its first step (or the state it resumes from),
        /// and whether the store holds it already (it does for a resumed run).
        ///
        /// # Errors
        ///
        /// The run's error when the state does not encode.
        fn begin<S: DurableState>(
            &mut self,
            cx: &Context,
            state: &S,
            stored: bool,
        ) -> Result<(), FlowError>;
        /// Saves the state after the step `cx.step()`: as waiting, if it is an
        /// interrupt's.
        fn step<S: DurableState>(
            &mut self,
            cx: &Context,
            state: &S,
        ) -> impl Future<Output = Result<(), FlowError>>;
        /// The run stops at an interrupt asking `question`, whose state `encode` writes:
        /// saves it as waiting unless the last checkpoint already is, and returns the
        /// step of the waiting checkpoint.
        fn waiting<E>(
            &mut self,
            cx: &Context,
            question: &'static str,
            encode: E,
        ) -> impl Future<Output = Result<u32, FlowError>>
        where
            E: FnOnce(&mut Vec<u8>) -> Result<(), DurableError>;
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
        /// The encoded output of the call `key` inside the step running now (a fan-out's
        /// branch node, a map's item), if an earlier attempt of the run saved it.
        fn part(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, FlowError>>;
        /// Saves the encoded output of the call `key` inside the step running now.
        fn save_part(
            &self,
            key: &str,
            value: Vec<u8>,
        ) -> impl Future<Output = Result<(), FlowError>>;
        /// The run's error for a part that does not encode or decode.
        fn part_error(&self, error: DurableError) -> FlowError;
    }

    /// A durable flow's run with a store: one checkpoint per step.
    pub struct StoreSaver<'s, C> {
        store: &'s C,
        graph: &'static GraphInfo,
        /// The last checkpoint saved, or made at the start: what a failure records.
        last: Checkpoint,
        /// Whether the store failed: a failure is then not recorded in it.
        broken: bool,
        /// Whether `last` is in the store, as it was made.
        stored: bool,
        /// The step of the checkpoint a run began from (0 for a new run), while the step
        /// after it runs: parts of that step may have been saved by an earlier attempt.
        resumed: Option<u32>,
        /// The parts saved for the step a run resumed at, read on first use: those saved
        /// after its checkpoint, and those a failed attempt saved after the one before.
        parts: tokio::sync::OnceCell<(Vec<Part>, Vec<Part>)>,
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
                stored: false,
                resumed: None,
                parts: tokio::sync::OnceCell::new(),
            }
        }

        /// The parts saved by earlier attempts for the step running now, read once.
        async fn saved_parts(&self) -> Result<Option<&(Vec<Part>, Vec<Part>)>, FlowError> {
            let Some(step) = self.resumed.filter(|_| !self.broken) else {
                return Ok(None);
            };
            let run_id = self.last.run_id;
            let parts = self
                .parts
                .get_or_try_init(|| async move {
                    let parts = self.store.parts(run_id, step).await?;
                    // A failed step's checkpoint follows the one its attempt ran from, after
                    // which that attempt saved its parts.
                    let errored = match self.store.latest(run_id).await {
                        Ok(latest) => latest.step == step && latest.status == RunStatus::Errored,
                        // A run started under its id, with no checkpoint yet.
                        Err(StoreError::UnknownRun { .. }) => false,
                        Err(e) => return Err(e),
                    };
                    let older = if errored {
                        self.store.parts(run_id, step.saturating_sub(1)).await?
                    } else {
                        Vec::new()
                    };
                    Ok::<_, StoreError>((parts, older))
                })
                .await
                .map_err(|e| self.error(DurableError::Store(e)))?;
            Ok(Some(parts))
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
                Ok(()) => {
                    self.stored = true;
                    Ok(())
                }
                Err(e) => {
                    self.stored = false;
                    self.broken = true;
                    Err(self.error(DurableError::Store(e)))
                }
            }
        }

        fn encode<S: DurableState>(&mut self, state: &S) -> Result<(), FlowError> {
            self.encode_with(|out| state.encode(out))
        }

        fn encode_with(
            &mut self,
            encode: impl FnOnce(&mut Vec<u8>) -> Result<(), DurableError>,
        ) -> Result<(), FlowError> {
            self.stored = false;
            self.last.state.clear();
            match encode(&mut self.last.state) {
                Ok(()) => Ok(()),
                Err(e) => {
                    self.broken = true;
                    Err(self.error(e))
                }
            }
        }
    }

    impl<C: Checkpointer> Saver for StoreSaver<'_, C> {
        fn begin<S: DurableState>(
            &mut self,
            cx: &Context,
            state: &S,
            stored: bool,
        ) -> Result<(), FlowError> {
            self.last.step = cx.step();
            self.last.node.clear();
            self.last.node.push_str(state.step_name());
            self.encode(state)?;
            if let Some(question) = state.waits() {
                self.last.status = RunStatus::Waiting {
                    question: question.to_owned(),
                };
            }
            self.stored = stored;
            // The first step's calls may have been saved by an earlier attempt: of a
            // resumed run, or of a run started again under its id.
            self.resumed = Some(self.last.step);
            Ok(())
        }

        async fn step<S: DurableState>(
            &mut self,
            cx: &Context,
            state: &S,
        ) -> Result<(), FlowError> {
            self.resumed = None;
            self.encode(state)?;
            let status = match state.waits() {
                Some(question) => RunStatus::Waiting {
                    question: question.to_owned(),
                },
                None => RunStatus::Running,
            };
            self.save(cx.step(), state.step_name(), status).await
        }

        async fn waiting<E>(
            &mut self,
            cx: &Context,
            question: &'static str,
            encode: E,
        ) -> Result<u32, FlowError>
        where
            E: FnOnce(&mut Vec<u8>) -> Result<(), DurableError>,
        {
            if self.stored && self.last.status.question() == Some(question) {
                return Ok(self.last.step);
            }
            // Not saved yet (a new run whose first step is the interrupt), or saved as
            // running (a fork of a waiting step): saved now, before the interrupt's step.
            let step = if self.stored {
                cx.step()
            } else {
                cx.step().saturating_sub(1)
            };
            let node = core::mem::take(&mut self.last.node);
            self.encode_with(encode)?;
            let status = RunStatus::Waiting {
                question: question.to_owned(),
            };
            self.save(step, &node, status).await?;
            self.last.node = node;
            Ok(step)
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

        async fn part(&self, key: &str) -> Result<Option<Vec<u8>>, FlowError> {
            let Some((parts, older)) = self.saved_parts().await? else {
                return Ok(None);
            };
            let find =
                |parts: &[Part]| parts.iter().find(|p| p.key == key).map(|p| p.value.clone());
            if let Some(value) = find(parts) {
                return Ok(Some(value));
            }
            let Some(value) = find(older) else {
                return Ok(None);
            };
            // Saved by the attempt that failed, after the checkpoint before this one: saved
            // after this one too, so that a run resumed after another failure finds it.
            self.save_part(key, value.clone()).await?;
            Ok(Some(value))
        }

        async fn save_part(&self, key: &str, value: Vec<u8>) -> Result<(), FlowError> {
            let part = Part::new(key, value);
            match self.store.save_part(&self.last, &part).await {
                // Saved by the attempt this one resumes (a failed step's): the same call.
                Err(StoreError::Conflict { .. }) | Ok(()) => Ok(()),
                Err(e) => Err(self.error(DurableError::Store(e))),
            }
        }

        fn part_error(&self, error: DurableError) -> FlowError {
            self.error(match error {
                DurableError::Decode { reason, .. } => DurableError::Decode {
                    run_id: self.last.run_id,
                    step: self.last.step,
                    reason,
                },
                other => other,
            })
        }
    }

    /// Where a durable run begins: its context, its state, whether the store holds that
    /// state already, and the answer it was resumed with, if any.
    pub struct Begun<S> {
        /// The run's context, at the step of its state.
        pub cx: Context,
        /// The state the run begins with.
        pub state: S,
        /// Whether the store holds the state (a resumed or forked run).
        pub stored: bool,
        /// The answer to the question the run waits on (`resume_with`).
        pub answer: Option<Box<dyn core::any::Any + Send>>,
    }

    /// The context and the state of a durable run beginning at `begin`: a new run at its
    /// first step, or the run of the last checkpoint, checked to be of this flow's graph,
    /// not finished, and decodable; a run that waits is resumed only with an answer to
    /// its question.
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
    ) -> Result<Begun<S>, FlowError> {
        let begun = |cx, state, answer| Begun {
            cx,
            state,
            stored: true,
            answer,
        };
        let error = |run_id, source| FlowError::Durable {
            flow: graph.name,
            run_id,
            source,
        };
        match begin {
            Begin::Input { input, run_id } => {
                let run_id = run_id.unwrap_or_else(fresh);
                Ok(Begun {
                    cx: Context::new(graph.name, run_id),
                    state: entry(input),
                    stored: false,
                    answer: None,
                })
            }
            Begin::Resume(run_id) => {
                let (cx, state, cp) = load(graph, fingerprint, run_id, store, None).await?;
                if let Some(question) = cp.status.question() {
                    let question = question.to_owned();
                    return Err(error(run_id, DurableError::Waiting { run_id, question }));
                }
                Ok(begun(cx, state, None))
            }
            Begin::Answer {
                run_id,
                question,
                answer,
            } => {
                let (cx, state, cp) =
                    load_waiting::<S, C>(graph, fingerprint, run_id, store).await?;
                match cp.status.question() {
                    Some(waits) if waits == question => Ok(begun(cx, state, Some(answer))),
                    waits => Err(error(
                        run_id,
                        DurableError::WrongQuestion {
                            run_id,
                            waiting_for: waits.unwrap_or_default().to_owned(),
                            answered: question,
                        },
                    )),
                }
            }
            Begin::AnswerJson { run_id, answer } => {
                let (cx, state, cp) =
                    load_waiting::<S, C>(graph, fingerprint, run_id, store).await?;
                match state.decode_answer(&answer) {
                    Some(Ok(answer)) => Ok(begun(cx, state, Some(answer))),
                    Some(Err(e)) => Err(error(
                        run_id,
                        match e {
                            DurableError::Decode { reason, .. } => DurableError::Decode {
                                run_id,
                                step: cp.step,
                                reason: format!("the answer does not fit: {reason}"),
                            },
                            other => other,
                        },
                    )),
                    None => Err(error(
                        run_id,
                        DurableError::NotWaiting {
                            run_id,
                            status: cp.status.name(),
                        },
                    )),
                }
            }
            Begin::Fork {
                from,
                step,
                run_id,
                edit,
            } => {
                let (old, mut state, cp) =
                    load::<S, C>(graph, fingerprint, from, store, Some(step)).await?;
                let mut bytes = cp.state;
                if let Some(edit) = edit {
                    if let Err(edit) = edit.apply(state.input_mut()) {
                        let node = cp.node;
                        let source = DurableError::EditType {
                            run_id: from,
                            step,
                            node,
                            edit,
                        };
                        return Err(error(from, source));
                    }
                    bytes.clear();
                    state.encode(&mut bytes).map_err(|e| error(from, e))?;
                }
                let run_id = run_id.unwrap_or_else(fresh);
                let mut cx = Context::new(graph.name, run_id);
                cx.step = old.step;
                let mut copy =
                    Checkpoint::new(graph.name, fingerprint, run_id, cp.step, cp.node, bytes);
                if matches!(cp.status, RunStatus::Waiting { .. }) {
                    // A fork of a waiting step waits for its own answer.
                    copy = copy.with_status(cp.status);
                }
                store
                    .save(&copy)
                    .await
                    .map_err(|e| error(run_id, DurableError::Store(e)))?;
                Ok(begun(cx, state, None))
            }
        }
    }

    /// The waiting run `run_id`, as its last checkpoint in `store` describes it.
    ///
    /// # Errors
    ///
    /// [`FlowError::Durable`]: [`DurableError::NotWaiting`] when the run does not wait,
    /// or why its checkpoint cannot be read.
    pub async fn waiting<S: DurableState, C: Checkpointer>(
        graph: &'static GraphInfo,
        fingerprint: u64,
        store: &C,
        run_id: RunId,
    ) -> Result<Waiting, FlowError> {
        let (_, state, cp) = load_waiting::<S, C>(graph, fingerprint, run_id, store).await?;
        let status = cp.status.name();
        state
            .into_waiting(run_id, cp.step)
            .ok_or(FlowError::Durable {
                flow: graph.name,
                run_id,
                source: DurableError::NotWaiting { run_id, status },
            })
    }

    /// The last checkpoint of the run `run_id`, which must wait for an answer.
    ///
    /// # Errors
    ///
    /// [`DurableError::NotWaiting`] when it does not (a finished run included), and as
    /// [`load`].
    async fn load_waiting<S: DurableState, C: Checkpointer>(
        graph: &'static GraphInfo,
        fingerprint: u64,
        run_id: RunId,
        store: &C,
    ) -> Result<(Context, S, Checkpoint), FlowError> {
        let not_waiting = |status| FlowError::Durable {
            flow: graph.name,
            run_id,
            source: DurableError::NotWaiting { run_id, status },
        };
        let (cx, state, cp) = load(graph, fingerprint, run_id, store, None)
            .await
            .map_err(|e| match e.durable_error() {
                Some(DurableError::Finished { .. }) => not_waiting(RunStatus::Finished.name()),
                _ => e,
            })?;
        if cp.status.question().is_none() {
            return Err(not_waiting(cp.status.name()));
        }
        Ok((cx, state, cp))
    }

    /// The state a checkpoint holds, checked to be of this flow and graph and not its end.
    ///
    /// # Errors
    ///
    /// [`DurableError::OtherFlow`], [`DurableError::GraphChanged`],
    /// [`DurableError::Finished`] or [`DurableError::Decode`].
    pub fn state_of<S: DurableState>(
        graph: &'static GraphInfo,
        fingerprint: u64,
        cp: &Checkpoint,
    ) -> Result<S, DurableError> {
        let run_id = cp.run_id;
        if cp.flow != graph.name {
            let found = cp.flow.clone();
            return Err(DurableError::OtherFlow { run_id, found });
        }
        if cp.fingerprint != fingerprint {
            let (saved, current) = (cp.fingerprint, fingerprint);
            return Err(DurableError::GraphChanged {
                run_id,
                saved,
                current,
            });
        }
        if cp.status == RunStatus::Finished {
            return Err(DurableError::Finished { run_id });
        }
        S::decode(&cp.state).map_err(|e| match e {
            DurableError::Decode { reason, .. } => DurableError::Decode {
                run_id,
                step: cp.step,
                reason,
            },
            other => other,
        })
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
    #[cfg(feature = "durable")]
    pub use super::parts::{Codec, Encodable, NotEncodable, PartOf, indexed, journaled};
}

/// The calls inside a step that a durable run saves one by one: each node call of a
/// fan-out's branches and each item of a map, so that a run resumed inside the step does
/// not call them again.
#[cfg(feature = "durable")]
mod parts {
    use core::future::Future;
    use core::marker::PhantomData;

    use super::DurableError;
    use super::engine::Saver;
    use super::json::StepValue;
    use crate::FlowError;

    /// How a call's output is saved and read back: the check of the node it goes to
    /// (`checks::DurableInput`), or serde's for a value the check of the next step covers.
    pub struct Codec<T> {
        encode: fn(&T, &'static str, &mut Vec<u8>) -> Result<(), DurableError>,
        decode: fn(StepValue) -> Result<T, DurableError>,
    }

    impl<T> Codec<T> {
        /// The codec of these two functions.
        #[inline(always)]
        pub fn new(
            encode: fn(&T, &'static str, &mut Vec<u8>) -> Result<(), DurableError>,
            decode: fn(StepValue) -> Result<T, DurableError>,
        ) -> Self {
            Codec { encode, decode }
        }
    }

    /// The output type of a call, whose codec is chosen by method resolution: `(&part).codec()`
    /// is [`Encodable::codec`] for a serializable output, else [`NotEncodable::codec`].
    pub struct PartOf<T>(PhantomData<fn() -> T>);

    impl<T> PartOf<T> {
        /// The output type of `call`.
        #[inline(always)]
        pub fn of<E, F: Future<Output = Result<T, E>>>(call: &F) -> Self {
            let _ = call;
            PartOf(PhantomData)
        }
    }

    /// The codec of a serializable output.
    pub trait Encodable<T> {
        /// serde's.
        fn codec(&self) -> Option<Codec<T>>;
    }

    impl<T: serde::Serialize + serde::de::DeserializeOwned> Encodable<T> for PartOf<T> {
        #[inline(always)]
        fn codec(&self) -> Option<Codec<T>> {
            Some(Codec::new(
                super::json::encode_value,
                super::json::decode_value,
            ))
        }
    }

    /// No codec: the output of a call is not serializable. The check of the step it goes
    /// to (a join's input, a map's `Vec`) then fails to compile, so a flow that compiles
    /// never uses this.
    pub trait NotEncodable<T> {
        /// None.
        fn codec(&self) -> Option<Codec<T>>;
    }

    impl<T> NotEncodable<T> for &PartOf<T> {
        #[inline(always)]
        fn codec(&self) -> Option<Codec<T>> {
            None
        }
    }

    /// The call `call` at `site` (the `item`-th of a map's, if given) inside the step
    /// running now, saved through `saver` when it ends; read back instead when an earlier
    /// attempt of the run saved it.
    ///
    /// # Errors
    ///
    /// The call's; the saver's when the part cannot be read, decoded or saved.
    pub async fn journaled<S: Saver, T, F>(
        saver: &S,
        site: &'static str,
        item: Option<usize>,
        codec: Option<Codec<T>>,
        call: F,
    ) -> Result<T, Box<FlowError>>
    where
        F: Future<Output = Result<T, Box<FlowError>>>,
    {
        let Some(codec) = codec else {
            return call.await;
        };
        let key = match item {
            Some(item) => format!("{site}#{item}"),
            None => site.to_owned(),
        };
        if let Some(bytes) = saver.part(&key).await? {
            let value = serde_json::from_slice(&bytes)
                .map_err(super::engine::decode_error)
                .and_then(|value| (codec.decode)(StepValue::new(value)));
            return value.map_err(|e| {
                Box::new(saver.part_error(match e {
                    DurableError::Decode {
                        run_id,
                        step,
                        reason,
                    } => DurableError::Decode {
                        run_id,
                        step,
                        reason: format!("the saved output of `{key}` does not fit: {reason}"),
                    },
                    other => other,
                }))
            });
        }
        let out = call.await?;
        let mut bytes = Vec::new();
        (codec.encode)(&out, site, &mut bytes).map_err(|e| Box::new(saver.part_error(e)))?;
        saver.save_part(&key, bytes).await?;
        Ok(out)
    }

    /// The items of a map, each with its index.
    #[inline]
    pub fn indexed<I>(items: Vec<I>) -> Vec<(usize, I)> {
        items.into_iter().enumerate().collect()
    }
}

/// The JSON encoding of durable states, through serde.
#[cfg(feature = "durable")]
mod json {
    use super::DurableError;
    use super::engine::decode_error;

    /// The value of a step in a decoded state, ready to decode into its type.
    #[derive(Debug)]
    pub struct StepValue(serde_json::Value);

    impl StepValue {
        /// A step value of `value`.
        pub(crate) fn new(value: serde_json::Value) -> Self {
            StepValue(value)
        }
    }

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
