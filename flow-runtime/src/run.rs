//! One run of a flow, set up before it starts: [`Flow::run`] returns a [`Run`], which is
//! awaited as it is or first given what this run alone needs.
//!
//! ```
//! use std::time::Duration;
//! use typedflow::prelude::*;
//! use typedflow::telemetry::Traced;
//! use tokio_util::sync::CancellationToken;
//!
//! #[node]
//! async fn double(x: u32) -> u32 {
//!     x * 2
//! }
//!
//! graph! {
//!     Double(u32) -> u32 {
//!         START -> double -> END;
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let flow = Double::new(());
//! assert_eq!(flow.run(21).await?, 42);
//!
//! let token = CancellationToken::new();
//! let out = flow
//!     .run(21)
//!     .hook(Traced)
//!     .cancel_on(&token)
//!     .timeout(Duration::from_secs(30))
//!     .max_steps(10)
//!     .await?;
//! assert_eq!(out, 42);
//! # Ok::<(), FlowError>(())
//! # }).unwrap();
//! ```
//!
//! Each setting is a type, not a flag checked at run time: a run that sets nothing costs
//! what the flow's loop costs, and a setting costs only the runs that use it.

use core::future::{Future, IntoFuture};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::events::{EVENT_BUFFER, EventHook, EventStream};
use crate::{Flow, FlowError, GraphInfo, NoHook, RunId, RunStart, StepHook};

/// A run of the flow `F`, ready to start: await it (it implements [`IntoFuture`]), or set
/// what this run alone needs first.
///
/// - [`hook`](Run::hook): one more [`StepHook`] for this run, inside the flow's own;
/// - [`cancel_on`](Run::cancel_on): end the run when a token is cancelled;
/// - [`deadline`](Run::deadline) / [`timeout`](Run::timeout): end it at a time;
/// - [`max_steps`](Run::max_steps): a tighter step limit than the flow's;
/// - [`stream`](Run::stream): take its [`Event`](crate::events::Event)s as they happen.
///
/// The limits end the run with [`FlowError::Cancelled`], [`FlowError::Timeout`] or
/// [`FlowError::StepLimit`], which every hook sees as the run's outcome, whatever order
/// the settings were given in. A per-run limit can only tighten the flow's own: a run
/// bounded by `#[flow(timeout = 10s)]` and `.timeout(1h)` ends after 10 seconds.
///
/// Where a function wants a [`Future`] rather than something to `.await` (`block_on`,
/// `join_all`, `tokio::spawn`), pass `run.into_future()`. The future is `Send` whenever
/// the flow's nodes and the run's hooks allow it.
///
/// `R` is the run's hooks ([`NoHook`] or [`Hooks`]), `L` its limits ([`NoHook`] or
/// [`Limits`]), and `S` the function that starts it. Each setting is a type, so a run
/// that sets nothing runs exactly the loop a flow without the builder would.
#[must_use = "a run does nothing until it is awaited"]
pub struct Run<'f, F: Flow, R, L, S> {
    flow: &'f F,
    input: F::Input,
    hooks: R,
    limits: L,
    launch: S,
}

/// The hooks given to one run with [`Run::hook`]: named in the type of a [`Run`].
#[derive(Debug, Clone, Copy)]
pub struct Hooks<T>(T);

/// The limits given to one run ([`Run::cancel_on`], [`Run::deadline`],
/// [`Run::max_steps`]): named in the type of a [`Run`].
#[derive(Debug, Clone, Copy)]
pub struct Limits<T>(T);

/// A run's hooks with one more: what [`Run::hook`] makes of [`NoHook`] or [`Hooks`].
pub trait AddHook<H> {
    /// The hooks with `H` inside them.
    type Out;
    /// Adds `hook`.
    fn add(self, hook: H) -> Self::Out;
}

impl<H> AddHook<H> for NoHook {
    type Out = Hooks<H>;
    #[inline(always)]
    fn add(self, hook: H) -> Hooks<H> {
        Hooks(hook)
    }
}

impl<T, H> AddHook<H> for Hooks<T> {
    type Out = Hooks<(T, H)>;
    #[inline(always)]
    fn add(self, hook: H) -> Hooks<(T, H)> {
        Hooks((self.0, hook))
    }
}

/// A run's limits with one more: what the limit setters of [`Run`] make of [`NoHook`] or
/// [`Limits`].
pub trait AddLimit<X> {
    /// The limits with `X` inside them.
    type Out;
    /// Adds `limit`.
    fn add(self, limit: X) -> Self::Out;
}

impl<X> AddLimit<X> for NoHook {
    type Out = Limits<X>;
    #[inline(always)]
    fn add(self, limit: X) -> Limits<X> {
        Limits(limit)
    }
}

impl<T, X> AddLimit<X> for Limits<T> {
    type Out = Limits<(T, X)>;
    #[inline(always)]
    fn add(self, limit: X) -> Limits<(T, X)> {
        Limits((self.0, limit))
    }
}

mod sealed {
    pub trait Sealed {}
}

/// What one run adds to the flow's own hook: the hooks and limits of a [`Run`], handed to
/// [`Flow::start`]. Implemented for the pairs a [`Run`] makes; nothing to implement.
pub trait PerRun: sealed::Sealed + Sized {
    /// The hook a run's steps go through, given the flow's own hook `H`.
    type Hook<'a, H: StepHook + 'a>: StepHook + 'a
    where
        Self: 'a;

    /// The flow's own hook `flow`, with this run's hooks and then its limits inside it. A
    /// run that sets nothing goes through `flow` alone.
    fn within<'a, H: StepHook + 'a>(&'a self, flow: &'a H) -> Self::Hook<'a, H>;

    /// Starts the run that `begin` makes (it returns the flow's hook, the graph, the run's
    /// id and what [`StepHook::start`] starts) through [`within`](PerRun::within)`(flow)`'s
    /// [`StepHook::start`], when the run is first polled: the future keeps this run's hooks
    /// and limits, which the hook borrows. A run that sets nothing begins through the
    /// flow's hook alone ([`StepHook::begin`]), keeping nothing of its own.
    #[inline(always)]
    fn start<'a, H: StepHook + 'a, T, S: RunStart<T>>(
        self,
        begin: impl FnOnce() -> (&'a H, &'static GraphInfo, RunId, S),
    ) -> impl Future<Output = Result<T, FlowError>> {
        async move {
            let (flow, graph, run_id, start) = begin();
            StepHook::start(&self.within(flow), graph, run_id, start).await
        }
    }
}

impl sealed::Sealed for (NoHook, NoHook) {}
impl PerRun for (NoHook, NoHook) {
    type Hook<'a, H: StepHook + 'a> = &'a H;

    #[inline(always)]
    fn within<'a, H: StepHook + 'a>(&'a self, flow: &'a H) -> &'a H {
        flow
    }

    #[inline(always)]
    fn start<'a, H: StepHook + 'a, T, S: RunStart<T>>(
        self,
        begin: impl FnOnce() -> (&'a H, &'static GraphInfo, RunId, S),
    ) -> impl Future<Output = Result<T, FlowError>> {
        H::begin(begin)
    }
}

impl<T: StepHook> sealed::Sealed for (Hooks<T>, NoHook) {}
impl<T: StepHook> PerRun for (Hooks<T>, NoHook) {
    type Hook<'a, H: StepHook + 'a>
        = (&'a H, &'a T)
    where
        T: 'a;

    #[inline(always)]
    fn within<'a, H: StepHook + 'a>(&'a self, flow: &'a H) -> (&'a H, &'a T) {
        (flow, &self.0.0)
    }
}

impl<U: StepHook> sealed::Sealed for (NoHook, Limits<U>) {}
impl<U: StepHook> PerRun for (NoHook, Limits<U>) {
    type Hook<'a, H: StepHook + 'a>
        = (&'a H, &'a U)
    where
        U: 'a;

    #[inline(always)]
    fn within<'a, H: StepHook + 'a>(&'a self, flow: &'a H) -> (&'a H, &'a U) {
        (flow, &self.1.0)
    }
}

impl<T: StepHook, U: StepHook> sealed::Sealed for (Hooks<T>, Limits<U>) {}
impl<T: StepHook, U: StepHook> PerRun for (Hooks<T>, Limits<U>) {
    type Hook<'a, H: StepHook + 'a>
        = (&'a H, (&'a T, &'a U))
    where
        T: 'a,
        U: 'a;

    #[inline(always)]
    fn within<'a, H: StepHook + 'a>(&'a self, flow: &'a H) -> (&'a H, (&'a T, &'a U)) {
        (flow, (&self.0.0, &self.1.0))
    }
}

/// Starts a run of a flow: what [`Run`] calls when it is awaited.
///
/// It is implemented for every function with the signature of [`Flow::start`]; there is
/// nothing to implement or call. It is named in the type of a [`Run`], which is how the
/// future a run becomes can be named on stable Rust.
pub trait Launch<'f, F: Flow + 'f, R> {
    /// The run's future.
    type Run: Future<Output = Result<F::Output, FlowError>>;

    /// Starts the run.
    fn launch(self, flow: &'f F, input: F::Input, hooks: R) -> Self::Run;
}

impl<'f, F, R, S, Fut> Launch<'f, F, R> for S
where
    F: Flow + 'f,
    S: FnOnce(&'f F, F::Input, R) -> Fut,
    Fut: Future<Output = Result<F::Output, FlowError>>,
{
    type Run = Fut;

    #[inline(always)]
    fn launch(self, flow: &'f F, input: F::Input, hooks: R) -> Fut {
        self(flow, input, hooks)
    }
}

/// A run of `flow` with `input`, `hooks` and `limits`, started by [`Flow::start`].
///
/// The launcher is a function item, so it takes no room and its call is inlined; naming
/// it through `impl Launch<.., Run = impl Future>` keeps the future's auto traits
/// (`Send`) visible to callers.
#[allow(clippy::type_complexity)] // reason: an opaque type cannot be named by an alias on stable Rust
#[inline(always)]
fn assemble<'f, F: Flow + 'f, R, L>(
    flow: &'f F,
    input: F::Input,
    hooks: R,
    limits: L,
) -> Run<
    'f,
    F,
    R,
    L,
    impl Launch<'f, F, (R, L), Run = impl Future<Output = Result<F::Output, FlowError>>>,
>
where
    (R, L): PerRun,
{
    Run {
        flow,
        input,
        hooks,
        limits,
        launch: F::start::<(R, L)>,
    }
}

/// The run of `flow` with `input` and nothing set: what [`Flow::run`] returns.
#[allow(clippy::type_complexity)] // reason: an opaque type cannot be named by an alias on stable Rust
#[inline(always)]
pub(crate) fn new<F: Flow>(
    flow: &F,
    input: F::Input,
) -> Run<
    '_,
    F,
    NoHook,
    NoHook,
    impl Launch<'_, F, (NoHook, NoHook), Run = impl Future<Output = Result<F::Output, FlowError>>>,
> {
    assemble(flow, input, NoHook, NoHook)
}

/// The type of a [`Run`] with hooks `R` and limits `L`.
macro_rules! run_type {
    ($R:ty, $L:ty) => {
        Run<'f, F, $R, $L, impl Launch<'f, F, ($R, $L), Run = impl Future<Output = Result<F::Output, FlowError>>>>
    };
}

impl<'f, F: Flow + 'f, R, L, S> Run<'f, F, R, L, S> {
    /// The run with one more limit, inside those it has.
    #[inline(always)]
    fn limit<X>(self, limit: X) -> run_type!(R, L::Out)
    where
        L: AddLimit<X>,
        (R, L::Out): PerRun,
    {
        assemble(self.flow, self.input, self.hooks, self.limits.add(limit))
    }

    /// Adds a hook for this run only. The flow's own hook (`with_hook`) wraps it, and a
    /// hook added earlier wraps one added later; the limits of the run are inside them
    /// all, so every hook sees a run they end as its outcome.
    ///
    /// # Example
    ///
    /// A [`Traced`](crate::telemetry::Traced) span for this run only:
    ///
    /// ```
    /// use typedflow::prelude::*;
    /// use typedflow::telemetry::Traced;
    ///
    /// #[node]
    /// async fn double(x: u32) -> u32 { x * 2 }
    ///
    /// graph! {
    ///     Double(u32) -> u32 {
    ///         START -> double -> END;
    ///     }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// assert_eq!(Double::new(()).run(21).hook(Traced).await.unwrap(), 42);
    /// # });
    /// ```
    #[inline(always)]
    pub fn hook<H: StepHook>(self, hook: H) -> run_type!(R::Out, L)
    where
        R: AddHook<H>,
        (R::Out, L): PerRun,
    {
        assemble(self.flow, self.input, self.hooks.add(hook), self.limits)
    }

    /// Ends the run with [`FlowError::Cancelled`] as soon as `token` is cancelled (at once
    /// if it already is). The node in progress, any retry wait with it, is dropped where
    /// it stands and no further step starts, as when the run's future is dropped; the
    /// run's hooks see the `Cancelled` outcome (`flow_runs_total{outcome="cancelled"}`).
    ///
    /// ```
    /// use typedflow::prelude::*;
    /// use tokio_util::sync::CancellationToken;
    ///
    /// #[node]
    /// async fn wait(x: u32) -> u32 {
    ///     tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    ///     x
    /// }
    ///
    /// graph! {
    ///     Slow(u32) -> u32 {
    ///         START -> wait -> END;
    ///     }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
    /// let token = CancellationToken::new();
    /// token.cancel();
    /// let err = Slow::new(()).run(1).cancel_on(&token).await.unwrap_err();
    /// assert!(err.is_cancelled());
    /// # });
    /// ```
    #[inline(always)]
    pub fn cancel_on(self, token: &CancellationToken) -> run_type!(R, L::Out)
    where
        L: AddLimit<CancelOn>,
        (R, L::Out): PerRun,
    {
        self.limit(CancelOn(token.clone()))
    }

    /// Ends the run with [`FlowError::Timeout`] if it has not ended by `at` (on tokio's
    /// clock). The flow's own `#[flow(timeout = ..)]` still applies: the earlier one ends
    /// the run.
    #[inline(always)]
    pub fn deadline(self, at: Instant) -> run_type!(R, L::Out)
    where
        L: AddLimit<Deadline>,
        (R, L::Out): PerRun,
    {
        self.limit(Deadline(Bound::At(at)))
    }

    /// Ends the run with [`FlowError::Timeout`] if it takes longer than `timeout`, counted
    /// from when it starts. The flow's own `#[flow(timeout = ..)]` still applies.
    ///
    /// ```
    /// use std::time::Duration;
    /// use typedflow::prelude::*;
    ///
    /// #[node]
    /// async fn wait(x: u32) -> u32 {
    ///     tokio::time::sleep(Duration::from_secs(60)).await;
    ///     x
    /// }
    ///
    /// graph! {
    ///     Slow(u32) -> u32 {
    ///         START -> wait -> END;
    ///     }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
    /// let err = Slow::new(()).run(1).timeout(Duration::from_secs(5)).await.unwrap_err();
    /// assert!(err.is_timeout());
    /// # });
    /// ```
    #[inline(always)]
    pub fn timeout(self, timeout: Duration) -> run_type!(R, L::Out)
    where
        L: AddLimit<Deadline>,
        (R, L::Out): PerRun,
    {
        self.limit(Deadline(Bound::After(timeout)))
    }

    /// Ends the run with [`FlowError::StepLimit`] before it would take step `max_steps + 1`,
    /// if the flow's own limit (`#[flow(max_steps = ..)]`, or
    /// [`DEFAULT_MAX_STEPS`](crate::DEFAULT_MAX_STEPS)) is not lower: the way to give one
    /// run of a looping flow a smaller budget than others.
    ///
    /// ```
    /// use typedflow::prelude::*;
    ///
    /// #[node]
    /// async fn count(n: u32) -> Next {
    ///     if n == 0 { Next::Done(()) } else { Next::Again(n - 1) }
    /// }
    ///
    /// pub enum Next {
    ///     Again(u32),
    ///     Done(()),
    /// }
    ///
    /// #[node]
    /// async fn done(_: ()) -> &'static str { "done" }
    ///
    /// graph! {
    ///     Countdown(u32) -> &'static str {
    ///         START -> count;
    ///         count => {
    ///             Next::Again -> count,
    ///             Next::Done -> done,
    ///         }
    ///         done -> END;
    ///     }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let flow = Countdown::new(());
    /// assert_eq!(flow.run(5).max_steps(10).await.unwrap(), "done");
    /// assert!(flow.run(50).max_steps(10).await.unwrap_err().is_step_limit());
    /// # });
    /// ```
    #[inline(always)]
    pub fn max_steps(self, max_steps: u32) -> run_type!(R, L::Out)
    where
        L: AddLimit<StepLimit>,
        (R, L::Out): PerRun,
    {
        self.limit(StepLimit(max_steps))
    }

    /// Saves a checkpoint of the run to `store` after each step, before the next step
    /// starts, so the run can be resumed ([`DurableFlow::resume`](crate::durable::DurableFlow::resume))
    /// after a crash: for a `#[flow(durable)]` flow only. The run keeps its settings and
    /// takes more: see [`DurableRun`](crate::durable::DurableRun). It gives the flow's
    /// output, or for a flow with interrupts an [`Outcome`](crate::durable::Outcome):
    /// the output, or the question the run waits on.
    ///
    /// ```
    /// # #[cfg(feature = "durable")] {
    /// use typedflow::prelude::*;
    /// use typedflow::checkpoint::{Checkpointer, MemoryStore};
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
    /// let store = MemoryStore::new();
    /// let run = RunId::from_u64(1);
    /// let out = Calc::new(()).run(20).max_steps(5).checkpoint(&store).run_id(run).await;
    /// assert_eq!(out.unwrap(), 41);
    /// assert_eq!(store.history(run).await.unwrap().len(), 2);
    /// # });
    /// # }
    /// ```
    #[allow(clippy::type_complexity)] // reason: an opaque type cannot be named by an alias on stable Rust
    #[inline(always)]
    pub fn checkpoint<C: crate::checkpoint::Checkpointer + 'f>(
        self,
        store: &'f C,
    ) -> crate::durable::DurableRun<
        'f,
        F,
        C,
        R,
        L,
        impl crate::durable::LaunchDurable<
            'f,
            F,
            C,
            (R, L),
            Run = impl Future<Output = Result<F::RunOutput, FlowError>>,
        >,
    >
    where
        F: crate::durable::DurableFlow,
        (R, L): PerRun,
    {
        crate::durable::checkpointed(self.flow, store, self.input, self.hooks, self.limits)
    }

    /// Runs and streams the run's [`Event`](crate::events::Event)s as they happen, then
    /// gives its output: see [`EventStream`]. Buffers at most
    /// [`EVENT_BUFFER`] events before the run waits for the consumer.
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

    /// As [`stream`](Run::stream), buffering at most `buffer` events (at least one).
    pub fn stream_buffered(
        self,
        buffer: usize,
    ) -> EventStream<F::Output, impl Future<Output = Result<F::Output, FlowError>>>
    where
        R: AddHook<EventHook>,
        (R::Out, L): PerRun,
    {
        let Run {
            flow,
            input,
            hooks,
            limits,
            ..
        } = self;
        EventStream::new(buffer, F::NAME, move |events| {
            assemble(flow, input, hooks.add(events), limits).into_future()
        })
    }
}

impl<'f, F, R, L, S> IntoFuture for Run<'f, F, R, L, S>
where
    F: Flow + 'f,
    S: Launch<'f, F, (R, L)>,
{
    type Output = Result<F::Output, FlowError>;
    type IntoFuture = S::Run;

    #[inline(always)]
    fn into_future(self) -> S::Run {
        self.launch
            .launch(self.flow, self.input, (self.hooks, self.limits))
    }
}

impl<F: Flow, R, L, S> core::fmt::Debug for Run<'_, F, R, L, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Run")
            .field("flow", &F::NAME)
            .finish_non_exhaustive()
    }
}

// -- the limits of one run: hooks that end it -------------------------------------

/// The limit [`Run::cancel_on`] sets: ends the run when its token is cancelled. Its
/// steps go through unchanged.
#[derive(Debug, Clone)]
pub struct CancelOn(CancellationToken);

impl CancelOn {
    /// The limit of a run ended by `token`.
    pub(crate) fn new(token: &CancellationToken) -> Self {
        CancelOn(token.clone())
    }
}

impl StepHook for CancelOn {
    const READS_STEP: bool = false;

    async fn start<T, St: RunStart<T>>(
        &self,
        graph: &'static GraphInfo,
        _run_id: RunId,
        start: St,
    ) -> Result<T, FlowError> {
        // The steps run without this hook: cancelling drops them where they stand.
        match self.0.run_until_cancelled(start.start(NoHook)).await {
            Some(result) => result,
            None => Err(crate::__private::cancelled(graph.name)),
        }
    }
}

/// When a [`Deadline`] ends its run.
#[derive(Debug, Clone, Copy)]
enum Bound {
    At(Instant),
    After(Duration),
}

/// The limit [`Run::deadline`] and [`Run::timeout`] set: ends the run at a time. Its
/// steps go through unchanged.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(Bound);

impl Deadline {
    /// The limit of a run ended at `at`.
    pub(crate) fn at(at: Instant) -> Self {
        Deadline(Bound::At(at))
    }

    /// The limit of a run ended `timeout` after it starts.
    pub(crate) fn after(timeout: Duration) -> Self {
        Deadline(Bound::After(timeout))
    }
}

impl StepHook for Deadline {
    const READS_STEP: bool = false;

    async fn start<T, St: RunStart<T>>(
        &self,
        graph: &'static GraphInfo,
        _run_id: RunId,
        start: St,
    ) -> Result<T, FlowError> {
        let timeout = match self.0 {
            Bound::At(at) => at.saturating_duration_since(Instant::now()),
            Bound::After(timeout) => timeout,
        };
        crate::policy::deadline(graph.name, timeout, start.start(NoHook)).await
    }
}

/// The limit [`Run::max_steps`] sets: a step limit for this run, reported to the run loop
/// through [`StepHook::step_limit`].
#[derive(Debug, Clone, Copy)]
pub struct StepLimit(u32);

impl StepLimit {
    /// The limit of a run of at most `max_steps` steps.
    pub(crate) fn new(max_steps: u32) -> Self {
        StepLimit(max_steps)
    }
}

impl StepHook for StepLimit {
    const READS_STEP: bool = false;

    #[inline(always)]
    fn step_limit(&self) -> Option<u32> {
        Some(self.0)
    }
}
