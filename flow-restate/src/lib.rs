//! Runs typedflow's durable flows on [Restate](https://restate.dev): each flow is a
//! Restate workflow keyed by run id, and each step of a run is a journaled action, so a
//! run survives the worker it started on.
//!
//! A flow declared `#[flow(durable)]` runs here unchanged: same nodes, same graph, same
//! types, same hooks. [`workflow!`] turns a flow into a [`Workflow`], which binds to a
//! Restate endpoint as any service does:
//!
//! ```no_run
//! use restate_sdk::prelude::*;
//! use serde::{Deserialize, Serialize};
//! use typedflow::prelude::*;
//!
//! #[derive(Serialize, Deserialize)]
//! pub struct Draft {
//!     pub text: String,
//! }
//!
//! #[node]
//! async fn write(topic: String) -> Draft {
//!     Draft { text: format!("on {topic}") }
//! }
//!
//! #[node]
//! async fn publish(draft: Draft) -> String {
//!     draft.text
//! }
//!
//! graph! {
//!     #[flow(durable)]
//!     Essay(String) -> String {
//!         START -> write -> publish -> END;
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() {
//!     let essay = typedflow_restate::workflow!(Essay::new(()));
//!     // The service is named after the flow and its graph's fingerprint.
//!     assert!(essay.name().starts_with("Essay-"));
//!     HttpServer::new(Endpoint::builder().bind(essay).build())
//!         .listen_and_serve("127.0.0.1:9080".parse().unwrap())
//!         .await;
//! }
//! ```
//!
//! Register the endpoint with Restate, then start a run by calling the workflow's `run`
//! handler with the run id as the key and the flow's input as JSON:
//! `POST /Essay-<fingerprint>/<run id>/run` on Restate's ingress. The run's output is
//! the handler's JSON response.
//!
//! # How a run maps to Restate
//!
//! - **One workflow per flow and graph version.** The service is `<flow>-<fingerprint>`
//!   (16 hex digits): a changed graph is another service, so Restate never replays the
//!   journal of a run of the old graph into the new one. Keep the old worker serving
//!   until its runs are drained.
//! - **The key is the run id**, 16 hex digits as [`RunId`] prints it
//!   ([`run_key`]); a node reads it as `cx.run_id()`. Restate runs a workflow's `run`
//!   handler once per key: the same run id submitted twice is one run.
//! - **Each step is one journaled action**, named `<step>:<node>`, whose result is the
//!   run's checkpoint after that step (the encoding of `docs/durability.md`). After a
//!   crash, Restate replays the journal: the steps journaled are not run again, the run
//!   goes on from the last one, and the node that was running runs again
//!   (at-least-once; its [`idempotency_key`](typedflow::Context::idempotency_key) is the
//!   same both times).
//! - **Inside a fan-out or a map, each call is journaled as it ends:** each node of a
//!   branch and each item of a map, as an action of its own under the step's name. A
//!   replay reads them back, so only the calls in progress at a crash run again.
//! - **One in-process run per attempt.** Inside the handler the flow runs through its
//!   hooks as it does in-process, from the last journaled step: events, spans and
//!   metrics are those of a resumed durable run.
//! - **An interrupt waits on a durable promise.** A run that stops at an interrupt
//!   journals its waiting step, puts its question in the workflow's state and awaits the
//!   promise `answer-<step>`, holding no worker. The workflow's shared `question` handler
//!   reads the question ([`question_path`]), its `answer` handler resolves the promise
//!   ([`answer_request`] makes the request, the answer's type checked at compile time).
//! - **Retries stay ours.** A node's policies (retries, timeouts, circuit breaker) run
//!   inside its step; a node that fails after them fails the run with a terminal error.
//!   A run cut short by a cancellation or a shutdown is retried by Restate from its last
//!   journaled step.
//!
//! See `docs/restate.md` for what maps how and what is not done.

use core::future::Future;
use core::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use restate_sdk::context::RunFuture as _;
use restate_sdk::discovery;
use restate_sdk::endpoint::{ContextInternal, Error as EndpointError};
use restate_sdk::errors::{HandlerError, HandlerResult, TerminalError};
use restate_sdk::serde::Json;
use restate_sdk::service::{IntoServiceDefinition, Service, ServiceDefinition};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, mpsc, oneshot};
use typedflow::checkpoint::{Checkpoint, Checkpointer, Part, RunStatus, StoreError};
use typedflow::durable::{Begin, DurableFlow};
use typedflow::{Flow, FlowError, NoHook, RunId};

#[doc(hidden)]
pub use restate_sdk as __restate;

/// The run of a durable flow that a [`Workflow`] drives: what the start function of
/// [`workflow!`] returns.
pub type RunFuture<O> = Pin<Box<dyn Future<Output = Result<O, FlowError>> + Send>>;

/// Starts a run of `F` from `begin`, saving its steps to the [`Journal`]: a function the
/// caller writes where the flow's type is known, so that the run's future can be proven
/// `Send` (code generic over a flow cannot prove it on stable Rust). [`workflow!`] writes
/// it.
pub type StartFn<F> = fn(
    Arc<F>,
    Begin<<F as Flow>::Input>,
    Journal,
) -> RunFuture<typedflow::durable::Outcome<<F as Flow>::Output>>;

/// Serves the durable flow `F` as a Restate workflow keyed by run id.
///
/// Make it with [`workflow!`], set its options, and bind it to an
/// [`Endpoint`](restate_sdk::endpoint::Endpoint) (it is an [`IntoServiceDefinition`]).
pub struct Workflow<F: RestateFlow> {
    flow: Arc<F>,
    start: StartFn<F>,
    name: String,
    inactivity: Duration,
    abort: Duration,
}

impl<F: RestateFlow> core::fmt::Debug for Workflow<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Workflow")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A durable flow served as a Restate workflow: `workflow!(flow)` is a
/// [`Workflow`] of `flow`, which must be `#[flow(durable)]`, and whose nodes and hooks
/// are `Send`.
///
/// ```
/// use typedflow::prelude::*;
///
/// #[node]
/// async fn double(x: u32) -> u32 { x * 2 }
///
/// graph! {
///     #[flow(durable)]
///     Double(u32) -> u32 {
///         START -> double -> END;
///     }
/// }
///
/// let served = typedflow_restate::workflow!(Double::new(()));
/// assert_eq!(served.name(), format!("Double-{:016x}", Double::FINGERPRINT));
/// ```
///
/// A flow that is not durable is one error, on the macro:
///
/// ```text
/// error[E0277]: flow `Double` is not durable, so it cannot run on Restate
///    = help: the trait `DurableOnly<Double, Restate>` is not implemented for `Graph`
///    = note: declare the flow `#[flow(durable)]` in its `graph!`: a durable run saves its
///            state after each step, which Restate journals
/// ```
#[macro_export]
macro_rules! workflow {
    ($flow:expr $(,)?) => {{
        #[allow(unused_imports)]
        use $crate::dispatch::{Fallback as _, Served as _};
        let flow = $flow;
        // The checks: a flow that is not durable, or not `Send + Sync`, is one error
        // here, and the rest goes through `dispatch::Fallback`, which adds none.
        <::typedflow::checks::Graph as ::typedflow::checks::DurableOnly<_, $crate::Restate>>::check(
            &flow,
        );
        $crate::dispatch::shared(&flow);
        let check = $crate::dispatch::Check::of(&flow);
        (&check).workflow()(flow, |flow, begin, journal| {
            let check = $crate::dispatch::Check::of_arc(&flow);
            ::std::boxed::Box::pin((&check).start(flow, begin, journal))
        })
    }};
}

/// Restate, as the checks name it: [`workflow!`] checks its flow with
/// [`DurableOnly<F, Restate>`](typedflow::checks::DurableOnly), so that a flow that is
/// not durable is one error: "flow `Double` is not durable, so it cannot run on Restate".
#[derive(Debug, Clone, Copy)]
pub struct Restate;

/// A flow that can run on Restate: every `#[flow(durable)]` flow. [`workflow!`] takes
/// its flow through it; there is nothing to implement.
pub trait RestateFlow:
    Flow<Input: serde::de::DeserializeOwned + Send + 'static> + Sized + 'static
{
    /// The graph's fingerprint ([`DurableFlow::FINGERPRINT`]).
    const FINGERPRINT: u64;

    /// The run of `flow` from `begin`, saving its steps to `journal`, through the flow's
    /// own hooks: what the start function of [`workflow!`] returns, boxed.
    fn run(
        flow: Arc<Self>,
        begin: Begin<Self::Input>,
        journal: Journal,
    ) -> impl Future<Output = Result<typedflow::durable::Outcome<Self::Output>, FlowError>> + 'static;
}

impl<F> RestateFlow for F
where
    F: DurableFlow + 'static,
    <F as Flow>::Input: serde::de::DeserializeOwned + Send + 'static,
{
    const FINGERPRINT: u64 = <F as DurableFlow>::FINGERPRINT;

    async fn run(
        flow: Arc<Self>,
        begin: Begin<<F as Flow>::Input>,
        journal: Journal,
    ) -> Result<typedflow::durable::Outcome<<F as Flow>::Output>, FlowError> {
        let output = flow
            .start_durable(begin, (NoHook, NoHook), &journal)
            .await?;
        Ok(F::outcome(output))
    }
}

/// How [`workflow!`] reaches the adapter with one error at most: the flow is checked
/// (durable, by [`DurableOnly`](typedflow::checks::DurableOnly), and
/// [`shared`](dispatch::shared)), and the rest dispatches on whether those hold (a method
/// of [`Served`](dispatch::Served) when they do, of [`Fallback`](dispatch::Fallback) when
/// they do not), so that a flow that fails a check is not reported again. Nothing here
/// is called by hand.
pub mod dispatch {
    use core::marker::PhantomData;

    use super::*;

    /// Checks that `flow` can be shared by the runs of a worker's threads.
    pub fn shared<F: Send + Sync>(flow: &F) {
        let _ = flow;
    }

    /// The type of a flow, to dispatch on.
    #[derive(Debug)]
    pub struct Check<F>(PhantomData<fn() -> F>);

    impl<F> Check<F> {
        /// The type of `flow`.
        pub fn of(flow: &F) -> Self {
            let _ = flow;
            Check(PhantomData)
        }

        /// The type of the flow in `flow`.
        pub fn of_arc(flow: &Arc<F>) -> Self {
            let _ = flow;
            Check(PhantomData)
        }
    }

    /// The adapter, for a flow that passes the checks.
    pub trait Served<F: Flow> {
        /// Makes the [`Workflow`] of a flow and its start function.
        fn workflow(&self) -> fn(F, StartFn<F>) -> Workflow<F>
        where
            F: RestateFlow;

        /// A run of the flow: [`RestateFlow::run`].
        fn start(
            &self,
            flow: Arc<F>,
            begin: Begin<F::Input>,
            journal: Journal,
        ) -> impl Future<Output = Result<typedflow::durable::Outcome<F::Output>, FlowError>> + 'static;
    }

    impl<F: RestateFlow + Send + Sync> Served<F> for Check<F> {
        fn workflow(&self) -> fn(F, StartFn<F>) -> Workflow<F> {
            Workflow::with_start
        }

        fn start(
            &self,
            flow: Arc<F>,
            begin: Begin<F::Input>,
            journal: Journal,
        ) -> impl Future<Output = Result<typedflow::durable::Outcome<F::Output>, FlowError>> + 'static
        {
            <F as RestateFlow>::run(flow, begin, journal)
        }
    }

    /// What [`workflow!`] reaches for a flow that fails a check, which is then already
    /// a compile error: it type-checks, so that no second error follows the first, and
    /// is never run.
    pub trait Fallback<F: Flow> {
        /// Never returns (the program that would call it does not compile).
        fn workflow(&self) -> fn(F, StartFn<F>) -> !;

        /// A run that never ends (never started: the program does not compile).
        fn start(
            &self,
            flow: Arc<F>,
            begin: Begin<F::Input>,
            journal: Journal,
        ) -> core::future::Pending<Result<typedflow::durable::Outcome<F::Output>, FlowError>>;
    }

    impl<F: Flow> Fallback<F> for &Check<F> {
        fn workflow(&self) -> fn(F, StartFn<F>) -> ! {
            never
        }

        fn start(
            &self,
            _: Arc<F>,
            _: Begin<F::Input>,
            _: Journal,
        ) -> core::future::Pending<Result<typedflow::durable::Outcome<F::Output>, FlowError>>
        {
            core::future::pending()
        }
    }

    fn never<F: Flow>(_: F, _: StartFn<F>) -> ! {
        loop {
            std::thread::park();
        }
    }
}

/// The key of the run `run_id` in a workflow: its 16 hex digits.
///
/// ```
/// use typedflow::RunId;
///
/// assert_eq!(typedflow_restate::run_key(RunId::from_u64(42)), "000000000000002a");
/// ```
pub fn run_key(run_id: RunId) -> String {
    run_id.to_string()
}

/// The run id of a workflow's key, if it is one: up to 16 hex digits.
///
/// ```
/// use typedflow::RunId;
///
/// assert_eq!(typedflow_restate::parse_key("2a"), Some(RunId::from_u64(42)));
/// assert_eq!(typedflow_restate::parse_key("order-7"), None);
/// ```
pub fn parse_key(key: &str) -> Option<RunId> {
    if key.is_empty() || key.len() > 16 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(key, 16).ok().map(RunId::from_u64)
}

/// The service name of flow `F`: its name, `-`, and its graph's fingerprint in 16 hex
/// digits. Characters Restate does not allow in a name become `_`.
pub fn service_name<F: RestateFlow>() -> String {
    let mut name: String = F::NAME
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name.insert_str(0, "_f");
    }
    format!("{name}-{:016x}", F::FINGERPRINT)
}

/// The inactivity timeout of a flow without a timeout of its own.
const DEFAULT_INACTIVITY: Duration = Duration::from_secs(15 * 60);

impl<F: RestateFlow + Send + Sync> Workflow<F> {
    /// The workflow of `flow`, whose runs `start` starts: what [`workflow!`] calls, with
    /// the start function it writes.
    pub fn with_start(flow: F, start: StartFn<F>) -> Self {
        // A step must not trip Restate's inactivity timeout while its node works: a
        // flow's own timeout bounds its steps, and a flow without one gets a generous
        // default.
        let inactivity = F::GRAPH.timeout.unwrap_or(DEFAULT_INACTIVITY);
        Workflow {
            flow: Arc::new(flow),
            start,
            name: service_name::<F>(),
            inactivity,
            abort: Duration::from_secs(60),
        }
    }

    /// The service's name: see [`service_name`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How long a step may go without a journal entry before Restate asks the worker to
    /// suspend the run (which it then retries from its last journaled step). Default:
    /// the flow's timeout, or 15 minutes for a flow without one. Set it above the
    /// longest node call, with its retries.
    #[must_use]
    pub fn inactivity_timeout(mut self, timeout: Duration) -> Self {
        self.inactivity = timeout;
        self
    }

    /// How long after the inactivity timeout Restate waits before it aborts the
    /// attempt. Default: one minute.
    #[must_use]
    pub fn abort_timeout(mut self, timeout: Duration) -> Self {
        self.abort = timeout;
        self
    }

    fn discovery(&self) -> discovery::Service {
        let millis = |d: Duration| Some(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let handler = discovery::Handler {
            // "run" matches Restate's handler name pattern: it cannot fail.
            #[allow(clippy::expect_used)]
            name: discovery::HandlerName::try_from("run").expect("a valid handler name"),
            input: Some(discovery::InputPayload::from_metadata::<
                Json<serde_json::Value>,
            >()),
            output: Some(discovery::OutputPayload::from_metadata::<
                Json<serde_json::Value>,
            >()),
            ty: Some(discovery::HandlerType::Workflow),
            documentation: Some(format!("A run of the durable flow `{}`.", F::NAME)),
            metadata: Default::default(),
            abort_timeout: None,
            inactivity_timeout: None,
            journal_retention: None,
            idempotency_retention: None,
            workflow_completion_retention: None,
            enable_lazy_state: None,
            ingress_private: None,
            retry_policy_initial_interval: None,
            retry_policy_max_interval: None,
            retry_policy_max_attempts: None,
            retry_policy_exponentiation_factor: None,
            retry_policy_on_max_attempts: None,
        };
        let shared = |name: &str, input: bool, documentation: String| discovery::Handler {
            // Both names match Restate's handler name pattern: it cannot fail.
            #[allow(clippy::expect_used)]
            name: discovery::HandlerName::try_from(name.to_owned()).expect("a valid handler name"),
            input: input.then(discovery::InputPayload::from_metadata::<Json<serde_json::Value>>),
            output: Some(discovery::OutputPayload::from_metadata::<
                Json<serde_json::Value>,
            >()),
            ty: Some(discovery::HandlerType::Shared),
            documentation: Some(documentation),
            ..handler.clone()
        };
        let answer = shared(
            "answer",
            true,
            "Answers the question the run waits on (JSON of the interrupt's answer type)."
                .to_owned(),
        );
        let question = shared(
            "question",
            false,
            "The question the run waits on: its interrupt, type, step and value; null if it does not wait.".to_owned(),
        );
        discovery::Service {
            ty: discovery::ServiceType::Workflow,
            // `service_name` keeps only the characters Restate allows, and begins with a
            // letter: it cannot fail.
            #[allow(clippy::expect_used)]
            name: discovery::ServiceName::try_from(self.name.clone())
                .expect("a valid service name"),
            handlers: vec![handler, answer, question],
            documentation: Some(format!(
                "The durable flow `{}`, graph fingerprint {:016x}.",
                F::NAME,
                F::FINGERPRINT
            )),
            metadata: Default::default(),
            abort_timeout: millis(self.abort),
            inactivity_timeout: millis(self.inactivity),
            journal_retention: None,
            idempotency_retention: None,
            enable_lazy_state: None,
            ingress_private: None,
            retry_policy_initial_interval: None,
            retry_policy_max_interval: None,
            retry_policy_max_attempts: None,
            retry_policy_exponentiation_factor: None,
            retry_policy_on_max_attempts: None,
        }
    }
}

impl<F: RestateFlow + Send + Sync> IntoServiceDefinition for Workflow<F> {
    fn into_service_definition(self) -> ServiceDefinition {
        let discovery = self.discovery();
        let dispatcher = Dispatcher {
            flow: self.flow,
            start: self.start,
        };
        restate_sdk::service::macro_support::service_definition(dispatcher, discovery)
    }
}

/// What the endpoint calls for each invocation of the workflow.
struct Dispatcher<F: RestateFlow> {
    flow: Arc<F>,
    start: StartFn<F>,
}

impl<F: RestateFlow + Send + Sync> Service for Dispatcher<F> {
    type Future = restate_sdk::service::macro_support::ServiceBoxFuture;

    fn handle(&self, ctx: ContextInternal) -> Self::Future {
        let flow = Arc::clone(&self.flow);
        let start = self.start;
        Box::pin(async move {
            match ctx.handler_name() {
                "run" => {}
                "answer" => {
                    let result = answer(&ctx).await;
                    ctx.handle_handler_result(result.map(Json));
                    ctx.end();
                    return Ok(());
                }
                "question" => {
                    let _ = ctx.input::<()>().await;
                    let result = ctx.get::<Json<serde_json::Value>>(WAITING).await;
                    let question = result
                        .map(|w| w.map_or(serde_json::Value::Null, |Json(w)| w))
                        .map_err(HandlerError::from);
                    ctx.handle_handler_result(question.map(Json));
                    ctx.end();
                    return Ok(());
                }
                other => {
                    return Err(EndpointError::unknown_handler(ctx.service_name(), other));
                }
            }
            let (Json(input), meta) = ctx.input::<Json<F::Input>>().await;
            let result = match parse_key(&meta.key) {
                Some(run_id) => drive(&ctx, flow, start, run_id, input).await,
                None => Err(TerminalError::new_with_code(
                    400,
                    format!(
                        "`{}` is not a run id: a key of this workflow is a run id in 16 hex digits",
                        meta.key
                    ),
                )
                .into()),
            };
            ctx.handle_handler_result(result.map(Json));
            ctx.end();
            Ok(())
        })
    }
}

/// The journaled outcome of one step: the checkpoint after it, or the run's output.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum Outcome {
    /// The run goes on: the step just completed, the node that runs next and the
    /// encoded state (`{"step":..,"input":..}`).
    Step {
        step: u32,
        node: String,
        state: serde_json::Value,
        /// The question's type when the run waits at the interrupt `node`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        waiting: Option<String>,
    },
    /// A call inside the step after `step` ended (a fan-out's branch node, a map's item):
    /// its key and encoded output, which a later attempt reads instead of calling it.
    Part {
        step: u32,
        key: String,
        value: serde_json::Value,
    },
    /// The run finished with this output.
    Finished { output: serde_json::Value },
}

/// The handler's loop: one journaled action per step, until the run's end.
async fn drive<F>(
    ctx: &ContextInternal,
    flow: Arc<F>,
    start: StartFn<F>,
    run_id: RunId,
    input: F::Input,
) -> HandlerResult<serde_json::Value>
where
    F: RestateFlow + Send + Sync,
{
    let runner = Arc::new(Mutex::new(Runner::<F> {
        flow,
        start,
        run_id,
        input: Some(input),
        last: None,
        parts: Vec::new(),
        answer: None,
        live: None,
    }));
    let mut step = 0u32;
    let mut node = F::GRAPH.entry.to_owned();
    loop {
        let this = Arc::clone(&runner);
        let action = ctx
            .run(move || async move { this.lock().await.next().await.map(Json) })
            .name(format!("{}:{node}", step + 1));
        let Json(outcome) = action.await?;
        match outcome {
            Outcome::Step {
                step: done,
                node: next,
                state,
                waiting,
            } => {
                step = done;
                node.clone_from(&next);
                let checkpoint = Checkpoint::new(
                    F::NAME,
                    F::FINGERPRINT,
                    run_id,
                    done,
                    next,
                    serde_json::to_vec(&state).map_err(HandlerError::from)?,
                );
                let Some(question) = waiting else {
                    // The run's checkpoint, for the run this attempt starts if the next
                    // step is not journaled yet; an answer given is in it now.
                    let mut runner = runner.lock().await;
                    runner.answer = None;
                    if runner.live.is_none() {
                        runner.last = Some(checkpoint);
                        runner.parts.clear();
                    }
                    continue;
                };
                let answer = wait_for_answer(ctx, done, &node, &question, &state).await?;
                // The run in progress is held in its save of the waiting step: it ends
                // here, and the step after the interrupt starts a run with the answer.
                let mut runner = runner.lock().await;
                runner.live = None;
                runner.last = Some(checkpoint.with_status(RunStatus::Waiting { question }));
                runner.answer = Some(answer);
            }
            Outcome::Part { step, key, value } => {
                // A run in progress has the call's output; a run this attempt starts
                // later reads it instead of calling the node again.
                let mut runner = runner.lock().await;
                if runner.live.is_none() {
                    let value = serde_json::to_vec(&value).map_err(HandlerError::from)?;
                    // Journaled after the step's checkpoint, as the step ran.
                    if runner.last.as_ref().map_or(0, |cp| cp.step) == step {
                        runner.parts.push(Part::new(key, value));
                    }
                }
            }
            Outcome::Finished { output } => return Ok(output),
        }
    }
}

/// The workflow's state key that holds the question a run waits on.
const WAITING: &str = "waiting";

/// The name of the durable promise the answer to the question of step `step` resolves.
fn promise_name(step: u32) -> String {
    format!("answer-{step}")
}

/// Waits for the answer to the question the run's step `step` asks at `interrupt`: the
/// question goes in the workflow's state, where the `question` handler reads it, and the
/// `answer` handler resolves the durable promise this awaits. A run that waits holds no
/// worker: Restate suspends the invocation until the promise is resolved.
async fn wait_for_answer(
    ctx: &ContextInternal,
    step: u32,
    interrupt: &str,
    question_type: &str,
    state: &serde_json::Value,
) -> HandlerResult<Vec<u8>> {
    let promise = promise_name(step);
    let question = serde_json::json!({
        "promise": promise,
        "step": step,
        "interrupt": interrupt,
        "question_type": question_type,
        "question": state.get("input").cloned().unwrap_or(serde_json::Value::Null),
    });
    ctx.set(WAITING, Json(question));
    let Json(answer) = ctx.promise::<Json<serde_json::Value>>(&promise).await?;
    ctx.clear(WAITING);
    serde_json::to_vec(&answer).map_err(HandlerError::from)
}

/// The `answer` handler: resolves the promise of the question the run waits on with the
/// answer given. A run that does not wait is a 409.
async fn answer(ctx: &ContextInternal) -> HandlerResult<serde_json::Value> {
    let (Json(answer), meta) = ctx.input::<Json<serde_json::Value>>().await;
    let waiting = ctx.get::<Json<serde_json::Value>>(WAITING).await?;
    let promise = waiting
        .as_ref()
        .and_then(|Json(w)| w.get("promise"))
        .and_then(serde_json::Value::as_str);
    match promise {
        Some(promise) => {
            ctx.resolve_promise(promise, Json(answer));
            Ok(serde_json::Value::Null)
        }
        None => Err(TerminalError::new_with_code(
            409,
            format!("run {} is not waiting for an answer", meta.key),
        )
        .into()),
    }
}

/// The request that answers the run `run_id` of flow `F`, waiting at an interrupt asking
/// `Q`, with `answer`: the path on Restate's ingress (`/<service>/<run id>/answer`, a
/// `POST`) and its JSON body. The answer's type is the one the graph declares for `Q`,
/// checked at compile time as [`resume_with`](typedflow::durable::DurableFlow::resume_with)
/// checks it.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use typedflow::durable::Answered;
/// use typedflow::prelude::*;
///
/// #[derive(Serialize, Deserialize)]
/// struct Approval {
///     draft: String,
/// }
///
/// #[node]
/// async fn write(topic: String) -> Approval {
///     Approval { draft: topic }
/// }
///
/// #[node]
/// async fn publish(approved: Answered<Approval, bool>) -> String {
///     approved.question.draft
/// }
///
/// graph! {
///     #[flow(durable)]
///     Post(String) -> String {
///         interrupt review: Approval => bool;
///         START -> write -> review -> publish -> END;
///     }
/// }
///
/// let (path, body) = typedflow_restate::answer_request::<Post, Approval>(RunId::from_u64(7), &true)?;
/// assert_eq!(path, format!("/Post-{:016x}/0000000000000007/answer", Post::FINGERPRINT));
/// assert_eq!(body, b"true");
/// # Ok::<(), serde_json::Error>(())
/// ```
///
/// # Errors
///
/// The serializer's, for an answer that does not serialize (a map whose keys are not
/// strings, say).
pub fn answer_request<F, Q>(
    run_id: RunId,
    answer: &<F as typedflow::durable::Asks<Q>>::Answer,
) -> Result<(String, Vec<u8>), serde_json::Error>
where
    F: RestateFlow + typedflow::durable::Asks<Q>,
    <F as typedflow::durable::Asks<Q>>::Answer: Serialize,
{
    let body = serde_json::to_vec(answer)?;
    Ok((
        format!("/{}/{}/answer", service_name::<F>(), run_key(run_id)),
        body,
    ))
}

/// The path on Restate's ingress of the question the run `run_id` of flow `F` waits on
/// (a `POST` with no body): JSON with the interrupt, the question's type, the step and
/// the question, or `null` when the run does not wait.
pub fn question_path<F: RestateFlow>(run_id: RunId) -> String {
    format!("/{}/{}/question", service_name::<F>(), run_key(run_id))
}

/// What a saved step sends to the handler.
enum Saved {
    /// A step's checkpoint; the run goes on when the sender is answered.
    Step(Checkpoint, oneshot::Sender<()>),
    /// A call inside the step after the checkpoint of `step` ended; its call goes on when
    /// the sender is answered.
    Part(u32, Part, oneshot::Sender<()>),
    /// The run's output, encoded.
    Finished(Vec<u8>),
}

/// The run a worker is driving for one invocation, started at the first step not yet
/// journaled.
struct Runner<F: RestateFlow> {
    flow: Arc<F>,
    start: StartFn<F>,
    run_id: RunId,
    /// The flow's input, until the run starts.
    input: Option<F::Input>,
    /// The last journaled checkpoint, until the run starts.
    last: Option<Checkpoint>,
    /// The calls journaled inside the step after `last`, until the run starts.
    parts: Vec<Part>,
    /// The answer to the question the last journaled checkpoint waits on, as JSON.
    answer: Option<Vec<u8>>,
    live: Option<Live<typedflow::durable::Outcome<F::Output>>>,
}

/// A run in progress, stopped between two steps (or not yet at its first).
struct Live<O> {
    run: RunFuture<O>,
    saved: mpsc::Receiver<Saved>,
    /// The answer that lets the run go on after its last saved step.
    go_on: Option<oneshot::Sender<()>>,
    output: Option<Vec<u8>>,
}

impl<F: RestateFlow> Runner<F> {
    /// Runs one step: starts the run (from the input or the last journaled step) or lets
    /// it go on, and returns what it saves next.
    async fn next(&mut self) -> HandlerResult<Outcome> {
        let live = match &mut self.live {
            Some(live) => live,
            live @ None => {
                let (tx, rx) = mpsc::channel(1);
                let journal = Journal {
                    last: self.last.take(),
                    parts: core::mem::take(&mut self.parts),
                    saved: tx,
                };
                let begin = match (
                    journal.last.is_some(),
                    self.input.take(),
                    self.answer.take(),
                ) {
                    (true, _, Some(answer)) => Begin::AnswerJson {
                        run_id: self.run_id,
                        answer,
                    },
                    (false, Some(input), _) => Begin::Input {
                        input,
                        run_id: Some(self.run_id),
                    },
                    _ => Begin::Resume(self.run_id),
                };
                live.insert(Live {
                    run: (self.start)(Arc::clone(&self.flow), begin, journal),
                    saved: rx,
                    go_on: None,
                    output: None,
                })
            }
        };
        if let Some(go_on) = live.go_on.take() {
            // The run waits for this answer; if it is gone, the run's future says why.
            let _ = go_on.send(());
        }
        loop {
            tokio::select! {
                biased;
                Some(saved) = live.saved.recv() => match saved {
                    Saved::Step(cp, go_on) => {
                        live.go_on = Some(go_on);
                        let state = serde_json::from_slice(&cp.state).map_err(HandlerError::from)?;
                        let waiting = cp.status.question().map(str::to_owned);
                        return Ok(Outcome::Step { step: cp.step, node: cp.node, state, waiting });
                    }
                    Saved::Part(step, part, go_on) => {
                        live.go_on = Some(go_on);
                        let value = serde_json::from_slice(&part.value).map_err(HandlerError::from)?;
                        return Ok(Outcome::Part { step, key: part.key, value });
                    }
                    Saved::Finished(output) => live.output = Some(output),
                },
                result = &mut live.run => {
                    // The end is saved in the same poll as the run ends: it is in the
                    // channel, not yet taken.
                    while let Ok(saved) = live.saved.try_recv() {
                        if let Saved::Finished(output) = saved {
                            live.output = Some(output);
                        }
                    }
                    return match (result, live.output.take()) {
                        (Ok(_), Some(output)) => {
                            let output = serde_json::from_slice(&output).map_err(HandlerError::from)?;
                            Ok(Outcome::Finished { output })
                        }
                        (Ok(_), None) => Err(TerminalError::new("the run ended without its output").into()),
                        (Err(err), _) => Err(run_error(err)),
                    };
                }
            }
        }
    }
}

/// A run's error as a step's: a cancellation or a shutdown is retried by Restate from
/// the last journaled step; any other error ends the run.
fn run_error(err: FlowError) -> HandlerError {
    // The message Restate keeps: the error and each of its causes.
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    if err.is_cancelled() || err.is_shutting_down() {
        HandlerError::from(message)
    } else {
        TerminalError::new(message).into()
    }
}

/// The checkpoint store of a run on Restate: it hands each step's checkpoint to the
/// handler, which journals it, and holds the run until the next step's journaled action
/// starts. It resumes a run from the last journaled step.
pub struct Journal {
    last: Option<Checkpoint>,
    /// The calls journaled inside the step after `last`.
    parts: Vec<Part>,
    saved: mpsc::Sender<Saved>,
}

impl core::fmt::Debug for Journal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Journal")
            .field("last", &self.last.as_ref().map(|cp| cp.step))
            .finish_non_exhaustive()
    }
}

impl Journal {
    fn gone() -> StoreError {
        StoreError::unavailable("the Restate handler", "the invocation ended")
    }
}

impl Checkpointer for Journal {
    async fn save(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        match checkpoint.status {
            // A waiting step is journaled as any other; the handler then waits for the
            // answer.
            RunStatus::Running | RunStatus::Waiting { .. } => {
                let (tx, rx) = oneshot::channel();
                self.saved
                    .send(Saved::Step(checkpoint.clone(), tx))
                    .await
                    .map_err(|_| Self::gone())?;
                rx.await.map_err(|_| Self::gone())
            }
            RunStatus::Finished => self
                .saved
                .send(Saved::Finished(checkpoint.state.clone()))
                .await
                .map_err(|_| Self::gone()),
            // A failure is the run's error, which the handler journals.
            RunStatus::Errored => Ok(()),
            _ => Err(StoreError::unavailable(
                "the Restate journal",
                "a checkpoint of a status this adapter does not know",
            )),
        }
    }

    async fn latest(&self, run_id: RunId) -> Result<Checkpoint, StoreError> {
        self.last
            .clone()
            .ok_or_else(|| StoreError::unknown_run(run_id))
    }

    async fn history(&self, run_id: RunId) -> Result<Vec<Checkpoint>, StoreError> {
        self.latest(run_id).await.map(|cp| vec![cp])
    }

    async fn runs(&self) -> Result<Vec<Checkpoint>, StoreError> {
        Ok(self.last.iter().cloned().collect())
    }

    async fn delete(&self, _run_id: RunId) -> Result<u64, StoreError> {
        Ok(0)
    }

    async fn save_part(&self, checkpoint: &Checkpoint, part: &Part) -> Result<(), StoreError> {
        // Journaled as an action of its own; the call it ends goes on once it is.
        let (tx, rx) = oneshot::channel();
        self.saved
            .send(Saved::Part(checkpoint.step, part.clone(), tx))
            .await
            .map_err(|_| Self::gone())?;
        rx.await.map_err(|_| Self::gone())
    }

    async fn parts(&self, _run_id: RunId, step: u32) -> Result<Vec<Part>, StoreError> {
        // Before the first checkpoint, the parts of the first step (step 0).
        if self.last.as_ref().map_or(0, |cp| cp.step) == step {
            Ok(self.parts.clone())
        } else {
            Ok(Vec::new())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use typedflow::prelude::*;

    use super::*;

    /// How many times each node ran.
    #[derive(Deps, Default)]
    pub struct Calls {
        pub calls: Counts,
    }

    #[derive(Default)]
    pub struct Counts([AtomicU32; 3]);

    #[node]
    async fn one(x: u32, calls: &Counts) -> u32 {
        calls.0[0].fetch_add(1, Ordering::SeqCst);
        x + 1
    }

    #[node]
    async fn two(x: u32, calls: &Counts) -> u32 {
        calls.0[1].fetch_add(1, Ordering::SeqCst);
        x * 10
    }

    #[node]
    async fn three(x: u32, calls: &Counts) -> Result<String, std::io::Error> {
        calls.0[2].fetch_add(1, Ordering::SeqCst);
        if x == 0 {
            return Err(std::io::Error::other("zero"));
        }
        Ok(format!("={x}"))
    }

    graph! {
        #[flow(durable, deps = Calls)]
        Three(u32) -> String {
            START -> one -> two -> three -> END;
        }
    }

    /// The runner of the run 7 of `$flow` (an `Arc` of a `$ty`) on `$input`, from the
    /// journaled checkpoint `$last` and the parts journaled after it.
    macro_rules! runner_of {
        ($ty:ty, $flow:expr, $input:expr, $last:expr, $parts:expr) => {
            Runner::<$ty> {
                flow: Arc::clone($flow),
                start: |flow, begin, journal| {
                    Box::pin(<$ty as RestateFlow>::run(flow, begin, journal))
                },
                run_id: RunId::from_u64(7),
                input: Some($input),
                last: $last,
                parts: $parts,
                answer: None,
                live: None,
            }
        };
    }

    fn runner(flow: &Arc<Three>, input: u32, last: Option<Checkpoint>) -> Runner<Three> {
        runner_of!(Three, flow, input, last, Vec::new())
    }

    /// The journaled checkpoint of run 7 of `Three` after step 2: `three` runs next, on
    /// `input`.
    fn at_three(input: u32) -> Checkpoint {
        let state = format!(r#"{{"step":"three","input":{input}}}"#).into_bytes();
        Checkpoint::new(
            "Three",
            Three::FINGERPRINT,
            RunId::from_u64(7),
            2,
            "three",
            state,
        )
    }

    fn calls(flow: &Three) -> [u32; 3] {
        let c = &flow.deps().calls.0;
        [0, 1, 2].map(|i| c[i].load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn each_next_runs_one_step_and_returns_its_checkpoint_then_the_output() {
        let flow = Arc::new(Three::new(Calls::default()));
        let mut runner = runner(&flow, 4, None);
        let Outcome::Step {
            step, node, state, ..
        } = runner.next().await.unwrap()
        else {
            panic!("a step")
        };
        assert_eq!((step, node.as_str()), (1, "two"));
        assert_eq!(state, serde_json::json!({"step": "two", "input": 5}));
        // The run waits: the next node has not run.
        assert_eq!(calls(&flow), [1, 0, 0]);
        let Outcome::Step { step, node, .. } = runner.next().await.unwrap() else {
            panic!("a step")
        };
        assert_eq!((step, node.as_str()), (2, "three"));
        assert_eq!(calls(&flow), [1, 1, 0]);
        let Outcome::Finished { output } = runner.next().await.unwrap() else {
            panic!("the end")
        };
        assert_eq!(output, serde_json::json!("=50"));
        assert_eq!(calls(&flow), [1, 1, 1]);
    }

    #[node]
    async fn both(pair: (u32, u32), calls: &Counts) -> String {
        calls.0[2].fetch_add(1, Ordering::SeqCst);
        format!("{}+{}", pair.0, pair.1)
    }

    graph! {
        #[flow(durable, deps = Calls)]
        Fork(u32) -> String {
            START -> (one, two) -> both -> END;
        }
    }

    fn fork_runner(flow: &Arc<Fork>, parts: Vec<Part>) -> Runner<Fork> {
        runner_of!(Fork, flow, 10, None, parts)
    }

    #[tokio::test]
    async fn each_branch_of_a_fan_out_is_journaled_as_it_ends_and_a_replay_skips_it() {
        let flow = Arc::new(Fork::new(Calls::default()));
        let mut runner = fork_runner(&flow, Vec::new());
        // The fan-out is the first step: its branches are journaled after step 0.
        let Outcome::Part { step, key, value } = runner.next().await.unwrap() else {
            panic!("a part")
        };
        assert_eq!(
            (step, key.as_str(), value),
            (0, "0.0:one", serde_json::json!(11))
        );
        let Outcome::Part { key, .. } = runner.next().await.unwrap() else {
            panic!("a part")
        };
        assert_eq!(key, "1.0:two");
        let Outcome::Step { step, node, .. } = runner.next().await.unwrap() else {
            panic!("a step")
        };
        assert_eq!((step, node.as_str()), (1, "both"));

        // Another attempt, with `one`'s part replayed: only `two` runs.
        let again = Arc::new(Fork::new(Calls::default()));
        let mut runner = fork_runner(&again, vec![Part::new("0.0:one", b"11".to_vec())]);
        let Outcome::Part { key, .. } = runner.next().await.unwrap() else {
            panic!("a part")
        };
        assert_eq!(key, "1.0:two");
        let Outcome::Step { .. } = runner.next().await.unwrap() else {
            panic!("a step")
        };
        let Outcome::Finished { output } = runner.next().await.unwrap() else {
            panic!("the end")
        };
        assert_eq!(output, serde_json::json!("11+100"));
        let c = &again.deps().calls.0;
        let calls = [0, 1, 2].map(|i| c[i].load(Ordering::SeqCst));
        assert_eq!(calls, [0, 1, 1]);
    }

    #[derive(Debug, Serialize, Deserialize)]
    struct Approval {
        draft: String,
    }

    #[node]
    async fn draft(x: u32) -> Approval {
        Approval {
            draft: format!("draft {x}"),
        }
    }

    #[node]
    async fn publish(approved: typedflow::durable::Answered<Approval, bool>) -> String {
        format!("{} ({})", approved.question.draft, approved.answer)
    }

    graph! {
        #[flow(durable)]
        Post(u32) -> String {
            interrupt review: Approval => bool;
            START -> draft -> review -> publish -> END;
        }
    }

    #[tokio::test]
    async fn a_waiting_step_is_journaled_and_the_answer_starts_the_step_after_it() {
        let flow = Arc::new(Post::new(()));
        let mut runner = runner_of!(Post, &flow, 3, None, Vec::new());
        let Outcome::Step {
            step,
            node,
            state,
            waiting,
        } = runner.next().await.unwrap()
        else {
            panic!("a step")
        };
        assert_eq!(
            (step, node.as_str(), waiting.as_deref()),
            (1, "review", Some("Approval"))
        );
        assert_eq!(
            state,
            serde_json::json!({"step": "review", "input": {"draft": "draft 3"}})
        );

        // What the handler does with the promise's answer.
        runner.live = None;
        let waiting = RunStatus::Waiting {
            question: "Approval".into(),
        };
        let state = serde_json::to_vec(&state).unwrap();
        let last = Checkpoint::new(
            "Post",
            Post::FINGERPRINT,
            RunId::from_u64(7),
            1,
            "review",
            state,
        );
        runner.last = Some(last.with_status(waiting));
        runner.answer = Some(b"true".to_vec());
        let Outcome::Step { step, node, .. } = runner.next().await.unwrap() else {
            panic!("the answered step")
        };
        assert_eq!((step, node.as_str()), (2, "publish"));
        let Outcome::Finished { output } = runner.next().await.unwrap() else {
            panic!("the end")
        };
        assert_eq!(output, serde_json::json!("draft 3 (true)"));
    }

    #[tokio::test]
    async fn a_run_replayed_to_a_journaled_step_goes_on_from_it_without_running_earlier_nodes() {
        let flow = Arc::new(Three::new(Calls::default()));
        let last = at_three(70);
        let mut runner = runner(&flow, 0, Some(last));
        let Outcome::Finished { output } = runner.next().await.unwrap() else {
            panic!("the end")
        };
        assert_eq!(output, serde_json::json!("=70"));
        assert_eq!(calls(&flow), [0, 0, 1]);
    }

    #[tokio::test]
    async fn a_failed_node_is_a_terminal_error_and_a_changed_graph_is_refused() {
        let flow = Arc::new(Three::new(Calls::default()));
        let last = at_three(0);
        let err = runner(&flow, 0, Some(last)).next().await.unwrap_err();
        let text = format!("{err:?}");
        assert!(
            text.contains("Terminal") && text.contains("`three` failed"),
            "{text}"
        );

        // A checkpoint of another graph: refused, never run into this one.
        let state = br#"{"step":"three","input":1}"#.to_vec();
        let old = Checkpoint::new("Three", 1, RunId::from_u64(7), 2, "three", state);
        let err = runner(&flow, 0, Some(old)).next().await.unwrap_err();
        assert!(
            format!("{err:?}").contains("another version of the graph"),
            "{err:?}"
        );
        assert_eq!(calls(&flow), [0, 0, 1]);
    }

    #[test]
    fn the_service_name_is_the_flow_and_its_fingerprint() {
        assert_eq!(
            service_name::<Three>(),
            format!("Three-{:016x}", Three::FINGERPRINT)
        );
        assert_ne!(Three::FINGERPRINT, 0);
    }
}
