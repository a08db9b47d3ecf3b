//! The event stream of a run: its sequence (pinned), cancellation by dropping it, and the
//! bound on how far a run gets ahead of a slow consumer.

#![allow(clippy::unwrap_used)] // reason: test helpers outside #[test] fns

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::time::sleep;
use typedflow::events::{Event, EventStream};
use typedflow::prelude::*;
use typedflow::{Failed, PolicyError};

#[derive(Default)]
struct Log {
    started: AtomicU32,
}

#[derive(Deps, Default)]
struct D {
    log: Log,
}

enum Next {
    Again(u32),
    Done(u32),
}

#[node]
async fn bump(x: u32, log: &Log) -> u32 {
    log.started.fetch_add(1, Ordering::SeqCst);
    sleep(Duration::from_millis(10)).await;
    x + 1
}

#[node]
async fn check(x: u32) -> Result<Next, std::io::Error> {
    if x == 99 {
        return Err(std::io::Error::other("99 is not allowed"));
    }
    Ok(if x < 3 { Next::Again(x) } else { Next::Done(x) })
}

#[flow(deps = D)]
graph! {
    Count(u32) -> u32 {
        START -> bump -> check;
        check => {
            Next::Again -> bump,
            Next::Done -> END,
        }
    }
}

/// A streamed run's events, then its result.
async fn streamed<O, F: Future<Output = Result<O, FlowError>>>(
    mut stream: EventStream<O, F>,
) -> (Vec<Event>, Result<O, FlowError>) {
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        events.push(event);
    }
    (events, stream.output().await)
}

/// The events as lines, with run ids and durations left out, and the run's result.
fn lines<O: std::fmt::Display>((events, result): &(Vec<Event>, Result<O, FlowError>)) -> String {
    let mut out = String::new();
    for e in events {
        let _ = match e {
            Event::RunStarted { flow, .. } => writeln!(out, "run started: {flow}"),
            Event::NodeStarted { node, step } => writeln!(out, "  step {step}: {node} started"),
            Event::NodeFinished {
                node, step, error, ..
            } => match error {
                None => writeln!(out, "  step {step}: {node} finished"),
                Some(kind) => writeln!(out, "  step {step}: {node} failed ({kind})"),
            },
            Event::RetryScheduled {
                node,
                step,
                attempt,
                delay,
            } => writeln!(
                out,
                "  step {step}: {node} attempt {attempt} failed, retry in {delay:?}"
            ),
            Event::AttemptTimedOut {
                node,
                step,
                attempt,
                timeout,
            } => writeln!(
                out,
                "  step {step}: {node} attempt {attempt} timed out after {timeout:?}"
            ),
            Event::BreakerChanged { node, from, to } => {
                writeln!(out, "  {node}: breaker {from} -> {to}")
            }
            Event::Token { node, step, text } => {
                writeln!(out, "  step {step}: {node} token {text:?}")
            }
            Event::RunFinished { .. } => match result {
                Ok(v) => writeln!(out, "run finished: {v}"),
                Err(e) => writeln!(out, "run failed: {e}"),
            },
            _ => writeln!(out, "?"),
        };
    }
    out
}

#[derive(Default)]
struct Calls(AtomicU32);

#[derive(Deps, Default)]
struct AskDeps {
    calls: Calls,
}

/// Times out once, fails once, then answers in two tokens.
#[node(retry(attempts = 3, backoff = constant(100ms), jitter = none), timeout = 1s)]
async fn ask(question: u32, calls: &Calls, cx: &Context) -> Result<String, std::io::Error> {
    match calls.0.fetch_add(1, Ordering::SeqCst) {
        0 => {
            sleep(Duration::from_secs(5)).await;
            Ok("too late".into())
        }
        1 => Err(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
        _ => {
            cx.emit_token("forty").await;
            cx.emit_token("-two").await;
            Ok(format!("answer to {question}"))
        }
    }
}

/// Always fails: its breaker opens at the first failure.
#[node(circuit_breaker(failures = 1, cool_down = 30s))]
async fn store(answer: String) -> Result<String, std::io::Error> {
    Err(std::io::Error::other(format!("cannot store {answer}")))
}

#[node]
async fn keep(failed: Failed<String, PolicyError<std::io::Error>>) -> String {
    format!("kept {} in memory", failed.input)
}

#[flow(deps = AskDeps)]
graph! {
    Ask(u32) -> String {
        START -> ask -> store -> END;
        store !-> keep;
        keep -> END;
    }
}

#[tokio::test(start_paused = true)]
async fn retries_timeouts_breaker_changes_and_tokens_are_events() {
    let flow = Ask::new(AskDeps::default());
    let run = streamed(flow.run(42).stream()).await;
    insta::assert_snapshot!("ask_events", lines(&run));
    // The second run finds the breaker open: refused without a call.
    let run = streamed(flow.run(43).stream()).await;
    insta::assert_snapshot!("ask_events_open_circuit", lines(&run));
}

#[tokio::test(start_paused = true)]
async fn tokens_go_nowhere_when_nobody_streams() {
    let flow = Ask::new(AskDeps::default());
    assert_eq!(flow.run(42).await.unwrap(), "kept answer to 42 in memory");
}

#[tokio::test(start_paused = true)]
async fn the_event_sequence_of_a_run_with_a_loop() {
    let flow = Count::new(D::default());
    let run = streamed(flow.run(1).stream()).await;
    insta::assert_snapshot!("count_events", lines(&run));
    // Durations are measured on the node's own clock.
    let Event::NodeFinished { duration, .. } = &run.0[2] else {
        panic!("{:?}", run.0[2])
    };
    assert_eq!(*duration, Duration::from_millis(10));
}

#[tokio::test(start_paused = true)]
async fn a_failing_run_ends_its_stream_with_the_error() {
    let flow = Count::new(D::default());
    let run = streamed(flow.run(98).stream()).await;
    insta::assert_snapshot!("failing_events", lines(&run));
}

#[tokio::test(start_paused = true)]
async fn dropping_the_stream_midway_cancels_the_run() {
    let flow = Count::new(D::default());
    let mut stream = flow.run(1).stream();
    // Run started, bump started: then the consumer goes away.
    assert!(matches!(
        stream.next().await,
        Some(Event::RunStarted { .. })
    ));
    assert!(matches!(
        stream.next().await,
        Some(Event::NodeStarted { step: 1, .. })
    ));
    drop(stream);
    sleep(Duration::from_secs(10)).await;
    assert_eq!(
        flow.deps().log.started.load(Ordering::SeqCst),
        1,
        "nothing ran after the drop"
    );
}

#[tokio::test(start_paused = true)]
async fn a_slow_consumer_holds_the_run_back() {
    let flow = Count::new(D::default());
    let mut stream = flow.run(1).stream_buffered(1);
    let mut taken = 0;
    while taken < 3 {
        stream.next().await.unwrap();
        taken += 1;
        // However long the consumer dawdles, the run does not get further ahead.
        sleep(Duration::from_secs(1)).await;
        let started = flow.deps().log.started.load(Ordering::SeqCst);
        assert!(
            started <= 1 + taken / 2,
            "{started} nodes started after {taken} events"
        );
    }
    let rest: Vec<_> = stream.by_ref().collect().await;
    assert!(matches!(
        rest.last(),
        Some(Event::RunFinished { error: None, .. })
    ));
    assert_eq!(stream.output().await.unwrap(), 3);
    assert_eq!(flow.deps().log.started.load(Ordering::SeqCst), 2);
}

#[derive(Deps, Default)]
struct TalkDeps {
    said: Calls,
}

/// Says 100 words, counting each one handed over.
#[node]
async fn talk(words: u32, said: &Calls, cx: &Context) -> u32 {
    for _ in 0..words {
        cx.emit_token("word ").await;
        said.0.fetch_add(1, Ordering::SeqCst);
    }
    words
}

#[flow(deps = TalkDeps)]
graph! {
    Talk(u32) -> u32 {
        START -> talk -> END;
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_consumer_holds_back_a_node_emitting_tokens() {
    let flow = Talk::new(TalkDeps::default());
    let mut stream = flow.run(100).stream_buffered(2);
    for taken in 1..=10u32 {
        stream.next().await.unwrap();
        sleep(Duration::from_secs(1)).await;
        let said = flow.deps().said.0.load(Ordering::SeqCst);
        // Run started and talk started come first; then at most two tokens wait unread.
        assert!(
            said <= taken,
            "{said} tokens handed over after {taken} events"
        );
    }
    let rest: Vec<_> = stream.by_ref().collect().await;
    assert_eq!(stream.output().await.unwrap(), 100);
    let tokens = rest
        .iter()
        .filter(|e| matches!(e, Event::Token { .. }))
        .count();
    assert!(matches!(
        rest.last(),
        Some(Event::RunFinished { error: None, .. })
    ));
    assert_eq!(flow.deps().said.0.load(Ordering::SeqCst), 100);
    assert!(tokens >= 90, "{tokens} tokens in the rest");
}

#[tokio::test(start_paused = true)]
async fn a_streamed_run_with_policies_and_tokens_can_be_spawned() {
    let flow = std::sync::Arc::new(Ask::new(AskDeps::default()));
    let events = tokio::spawn({
        let flow = flow.clone();
        async move { streamed(flow.run(42).stream()).await }
    })
    .await
    .unwrap();
    assert!(matches!(
        events.0.last(),
        Some(Event::RunFinished { error: None, .. })
    ));
    assert!(events.1.is_ok());
}
