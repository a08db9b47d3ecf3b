//! One run, set up with the `Run` builder: its hooks, its limits (cancellation, deadline,
//! timeout, step limit), its event stream, and how they combine.

#![allow(clippy::unwrap_used)] // reason: test helpers outside #[test] fns

use core::future::{Future, IntoFuture};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;
use typedflow::events::Event;
use typedflow::prelude::*;
use typedflow::telemetry::Traced;
use typedflow::{ErrorKind, GraphInfo, NodeInfo, RunStart};

/// Records the steps it sees and the outcome of each run it wraps, under its name.
#[derive(Clone, Default)]
struct Record(Arc<Mutex<Vec<String>>>, &'static str);

impl Record {
    fn named(name: &'static str) -> Self {
        Record(Arc::default(), name)
    }

    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl StepHook for Record {
    fn step<N: Node, F: Future<Output = Result<N::Output, N::Error>>>(
        &self,
        cx: &Context,
        node: &'static NodeInfo,
        call: F,
    ) -> impl Future<Output = F::Output> {
        // Recorded when the call starts, so that a hook wrapping another records first.
        let line = format!("{} step {} {}", self.1, cx.step(), node.name);
        async move {
            self.0.lock().unwrap().push(line);
            call.await
        }
    }

    async fn run<T, F: Future<Output = Result<T, FlowError>>>(
        &self,
        _graph: &'static GraphInfo,
        _run_id: RunId,
        run: F,
    ) -> F::Output {
        let out = run.await;
        let outcome = match &out {
            Ok(_) => "ok".to_string(),
            Err(err) => format!("{:?}", err.kind()),
        };
        let line = format!("{} end {outcome}", self.1);
        self.0.lock().unwrap().push(line);
        out
    }
}

/// What `tick` decides.
pub enum Next {
    /// Count on from here.
    Again(u32),
    /// Done.
    Done(u32),
}

/// Counts down, one step at a time, a second of work per step.
#[node]
async fn tick(n: u32) -> Next {
    sleep(Duration::from_secs(1)).await;
    if n == 0 {
        Next::Done(0)
    } else {
        Next::Again(n - 1)
    }
}

#[flow(max_steps = 20)]
graph! {
    Countdown(u32) -> u32 {
        START -> tick;
        tick => {
            Next::Again -> tick,
            Next::Done -> END,
        }
    }
}

#[node]
async fn one(x: u32) -> u32 {
    x + 1
}

#[node]
async fn two(x: u32) -> u32 {
    x * 2
}

#[node]
async fn three(x: u32) -> u32 {
    x + 3
}

graph! {
    Chain(u32) -> u32 {
        START -> one -> two -> three -> END;
    }
}

#[tokio::test(start_paused = true)]
async fn a_run_with_nothing_set_is_the_flows_run() {
    let flow = Countdown::new(());
    assert_eq!(flow.run(3).await.unwrap(), 0);
    assert_eq!(Chain::new(()).run(1).await.unwrap(), 7);
}

#[tokio::test(start_paused = true)]
async fn a_runs_step_limit_tightens_the_flows() {
    let flow = Countdown::new(());
    // 4 steps are enough for 3: the limit is not reached.
    assert_eq!(flow.run(3).max_steps(4).await.unwrap(), 0);
    let err = flow.run(10).max_steps(4).await.unwrap_err();
    assert!(
        matches!(
            err,
            FlowError::StepLimit {
                flow: "Countdown",
                max_steps: 4,
                node: "tick",
                ..
            }
        ),
        "{err:?}"
    );
    // A run cannot raise the flow's own limit of 20.
    let err = flow.run(30).max_steps(100).await.unwrap_err();
    assert!(
        matches!(err, FlowError::StepLimit { max_steps: 20, .. }),
        "{err:?}"
    );
    // Two limits on one run: the lower applies, whatever the order.
    let err = flow.run(10).max_steps(3).max_steps(8).await.unwrap_err();
    assert!(
        matches!(err, FlowError::StepLimit { max_steps: 3, .. }),
        "{err:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_step_limit_applies_to_an_acyclic_flow_too() {
    let flow = Chain::new(());
    assert_eq!(flow.run(1).max_steps(3).await.unwrap(), 7);
    let err = flow.run(1).max_steps(2).await.unwrap_err();
    assert!(
        matches!(
            err,
            FlowError::StepLimit {
                max_steps: 2,
                node: "three",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_timeout_ends_the_run_at_its_time() {
    let flow = Countdown::new(());
    let begin = Instant::now();
    let err = flow
        .run(10)
        .timeout(Duration::from_millis(2500))
        .await
        .unwrap_err();
    assert!(
        matches!(err, FlowError::Timeout { flow: "Countdown", timeout, .. } if timeout == Duration::from_millis(2500)),
        "{err:?}"
    );
    assert_eq!(begin.elapsed(), Duration::from_millis(2500));
    // Long enough: the run ends on its own.
    assert_eq!(
        flow.run(2).timeout(Duration::from_secs(10)).await.unwrap(),
        0
    );
}

#[tokio::test(start_paused = true)]
async fn a_deadline_counts_from_when_it_is_given_and_the_earlier_limit_wins() {
    let flow = Countdown::new(());
    let begin = Instant::now();
    let deadline = begin + Duration::from_secs(3);
    let err = flow
        .run(10)
        .deadline(deadline)
        .timeout(Duration::from_secs(60))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(begin.elapsed(), Duration::from_secs(3));
    // A deadline already past ends the run before its first step ends.
    let err = flow.run(1).deadline(begin).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(begin.elapsed(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn hooks_see_the_limits_outcome_whatever_the_order_they_were_given_in() {
    let flow = Countdown::new(()).with_hook(Record::named("flow"));
    let first = Record::named("first");
    let second = Record::named("second");
    let token = CancellationToken::new();
    let run = flow
        .run(10)
        .cancel_on(&token)
        .hook(first.clone())
        .max_steps(50)
        .hook(second.clone());
    let (result, ()) = tokio::join!(run, async {
        sleep(Duration::from_millis(1500)).await;
        token.cancel();
    });
    assert!(result.unwrap_err().is_cancelled());
    // Every hook saw both steps that started and the `Cancelled` end of the run.
    for (hook, name) in [
        (flow.hook(), "flow"),
        (&first, "first"),
        (&second, "second"),
    ] {
        assert_eq!(
            hook.lines(),
            [
                format!("{name} step 1 tick"),
                format!("{name} step 2 tick"),
                format!("{name} end Cancelled"),
            ]
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_run_hook_added_first_wraps_one_added_later() {
    let log = Record::named("shared");
    let outer = Record(log.0.clone(), "outer");
    let inner = Record(log.0.clone(), "inner");
    let flow = Chain::new(());
    assert_eq!(flow.run(1).hook(outer).hook(inner).await.unwrap(), 7);
    assert_eq!(
        log.lines(),
        [
            "outer step 1 one",
            "inner step 1 one",
            "outer step 2 two",
            "inner step 2 two",
            "outer step 3 three",
            "inner step 3 three",
            "inner end ok",
            "outer end ok",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_streamed_run_takes_hooks_and_limits() {
    let flow = Countdown::new(());
    let hook = Record::named("run");
    let token = CancellationToken::new();
    let mut stream = flow
        .run(10)
        .hook(hook.clone())
        .cancel_on(&token)
        .max_steps(2)
        .stream();
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        events.push(event);
    }
    let starts = events
        .iter()
        .filter(|e| matches!(e, Event::NodeStarted { .. }))
        .count();
    assert_eq!(starts, 2);
    assert!(
        matches!(
            events.last(),
            Some(Event::RunFinished {
                flow: "Countdown",
                error: Some(ErrorKind::StepLimit),
                duration,
            }) if *duration == Duration::from_secs(2)
        ),
        "{:?}",
        events.last()
    );
    let err = stream.output().await.unwrap_err();
    assert!(
        matches!(err, FlowError::StepLimit { max_steps: 2, .. }),
        "{err:?}"
    );
    assert_eq!(hook.lines().last().unwrap(), "run end StepLimit");
}

#[tokio::test(start_paused = true)]
async fn output_before_the_end_finishes_the_run() {
    let flow = Countdown::new(());
    let mut stream = flow.run(3).stream_buffered(1);
    assert!(matches!(
        stream.next().await,
        Some(Event::RunStarted { .. })
    ));
    assert_eq!(stream.output().await.unwrap(), 0);
}

#[tokio::test(start_paused = true)]
async fn runs_become_futures_for_functions_that_want_one() {
    let flow = Chain::new(());
    let all = futures_util::future::join_all((0..3).map(|x| flow.run(x).into_future())).await;
    let all: Vec<u32> = all.into_iter().map(Result::unwrap).collect();
    assert_eq!(all, [5, 7, 9]);
}

/// Generic code over flows uses the same builder.
async fn twice<F: Flow<Input = u32, Output = u32>>(flow: &F, x: u32) -> Result<u32, FlowError> {
    let once = flow.run(x).max_steps(10).await?;
    flow.run(once).hook(Traced).await
}

#[tokio::test(start_paused = true)]
async fn generic_code_sets_up_runs_too() {
    assert_eq!(twice(&Chain::new(()), 1).await.unwrap(), 19);
}

/// Spawns runs on a multi-threaded runtime from code generic over the flow: the caller,
/// which knows the flow's type, says how to start one (see `Flow`'s docs on `Send`).
async fn spawn_all<F, S, Fut>(flow: Arc<F>, inputs: Vec<F::Input>, start: S) -> Vec<F::Output>
where
    F: Flow + Send + Sync + 'static,
    F::Input: Send + 'static,
    F::Output: Send + 'static,
    S: Fn(Arc<F>, F::Input) -> Fut,
    Fut: Future<Output = Result<F::Output, FlowError>> + Send + 'static,
{
    let tasks: Vec<_> = inputs
        .into_iter()
        .map(|input| tokio::spawn(start(Arc::clone(&flow), input)))
        .collect();
    let mut outputs = Vec::new();
    for task in tasks {
        outputs.push(task.await.unwrap().unwrap());
    }
    outputs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_with_every_setting_are_send_and_spawn() {
    let flow = Arc::new(Chain::new(()).with_hook(Traced));
    let token = CancellationToken::new();
    let task = tokio::spawn({
        let flow = Arc::clone(&flow);
        let hook = Record::named("run");
        async move {
            let out = flow
                .run(1)
                .hook(hook)
                .cancel_on(&token)
                .timeout(Duration::from_secs(5))
                .max_steps(5)
                .await;
            let streamed = flow.run(2).hook(Traced).stream().output().await;
            (out, streamed)
        }
    });
    let (out, streamed) = task.await.unwrap();
    assert_eq!((out.unwrap(), streamed.unwrap()), (7, 9));

    let outputs = spawn_all(flow, vec![0, 1, 2], |flow, x| async move {
        flow.run(x).max_steps(3).await
    })
    .await;
    assert_eq!(outputs, [5, 7, 9]);
}

// -- when a run begins --------------------------------------------------------------

/// Logs when its `start` is called, in the call itself (not in the future it returns).
#[derive(Clone, Default)]
struct Begins(Arc<Mutex<Vec<&'static str>>>);

impl StepHook for Begins {
    fn start<T, S: RunStart<T>>(
        &self,
        _graph: &'static GraphInfo,
        _run_id: RunId,
        start: S,
    ) -> impl Future<Output = Result<T, FlowError>> {
        self.0.lock().unwrap().push("start");
        start.start(self)
    }
}

#[tokio::test(start_paused = true)]
async fn a_hooks_start_runs_when_the_run_is_first_polled_not_when_it_is_made() {
    // The flow's own hook: the run's future, made, has not begun.
    let hook = Begins::default();
    let flow = Chain::new(()).with_hook(hook.clone());
    let run = flow.run(1).into_future();
    assert!(hook.0.lock().unwrap().is_empty());
    assert_eq!(run.await.unwrap(), 7);
    assert_eq!(*hook.0.lock().unwrap(), ["start"]);

    // A hook of the run alone: the same.
    let hook = Begins::default();
    let flow = Chain::new(());
    let run = flow.run(1).hook(hook.clone()).into_future();
    assert!(hook.0.lock().unwrap().is_empty());
    assert_eq!(run.await.unwrap(), 7);
    assert_eq!(*hook.0.lock().unwrap(), ["start"]);
}

#[flow(timeout = 5s)]
graph! {
    TimedChain(u32) -> u32 {
        START -> one -> two -> three -> END;
    }
}

#[test]
fn a_run_can_be_made_outside_the_runtime_it_runs_on() {
    // A run that sets nothing begins when its future is made (its hook, `NoHook`, has
    // nothing to begin); the flow's and the run's timeouts still start their clocks in
    // the runtime, when first polled.
    let (chain, flow) = (Chain::new(()), TimedChain::new(()));
    let plain = chain.run(1).into_future();
    let timed = flow.run(1).into_future();
    let limited = flow.run(2).timeout(Duration::from_secs(1)).into_future();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(plain).unwrap(), 7);
    assert_eq!(rt.block_on(timed).unwrap(), 7);
    assert_eq!(rt.block_on(limited).unwrap(), 9);
}
