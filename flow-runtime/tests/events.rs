//! The event stream of a run: its sequence (pinned), cancellation by dropping it, and the
//! bound on how far a run gets ahead of a slow consumer.

#![allow(clippy::unwrap_used)] // reason: test helpers outside #[test] fns

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use flow_runtime::events::{Event, stream_buffered};
use flow_runtime::prelude::*;
use futures_util::StreamExt;
use tokio::time::sleep;

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

/// The events as lines, with run ids and durations left out.
fn lines(events: &[Event<u32>]) -> String {
    let mut out = String::new();
    for e in events {
        let _ = match e {
            Event::RunStarted { flow, .. } => writeln!(out, "run started: {flow}"),
            Event::NodeStarted { node, step } => writeln!(out, "  step {step}: {node} started"),
            Event::NodeFinished { node, step, ok, .. } => {
                writeln!(out, "  step {step}: {node} finished, ok: {ok}")
            }
            Event::RunFinished(Ok(v)) => writeln!(out, "run finished: {v}"),
            Event::RunFinished(Err(e)) => writeln!(out, "run failed: {e}"),
            _ => writeln!(out, "?"),
        };
    }
    out
}

#[tokio::test(start_paused = true)]
async fn the_event_sequence_of_a_run_with_a_loop() {
    let flow = Count::new(D::default());
    let events: Vec<_> = flow.stream(1).collect().await;
    insta::assert_snapshot!("count_events", lines(&events));
    // Durations are measured on the node's own clock.
    let Event::NodeFinished { duration, .. } = &events[2] else {
        panic!("{:?}", events[2])
    };
    assert_eq!(*duration, Duration::from_millis(10));
}

#[tokio::test(start_paused = true)]
async fn a_failing_run_ends_its_stream_with_the_error() {
    let flow = Count::new(D::default());
    let events: Vec<_> = flow.stream(98).collect().await;
    insta::assert_snapshot!("failing_events", lines(&events));
}

#[tokio::test(start_paused = true)]
async fn dropping_the_stream_midway_cancels_the_run() {
    let flow = Count::new(D::default());
    let mut stream = Box::pin(flow.stream(1));
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
    let mut stream = Box::pin(stream_buffered(&flow, 1, 1));
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
    let rest: Vec<_> = stream.collect().await;
    assert!(matches!(rest.last(), Some(Event::RunFinished(Ok(3)))));
    assert_eq!(flow.deps().log.started.load(Ordering::SeqCst), 2);
}
