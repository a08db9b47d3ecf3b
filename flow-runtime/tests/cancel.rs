//! Cancelling a run, by dropping its future or through a token: the node in progress is
//! dropped, and no further step or attempt starts.

#![allow(clippy::unwrap_used)] // reason: test helpers outside #[test] fns

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;
use typedflow::prelude::*;

#[derive(Default)]
struct Log {
    started: AtomicU32,
    dropped: AtomicU32,
    finished: AtomicU32,
    after: AtomicU32,
}

#[derive(Deps, Default)]
struct D {
    log: Log,
}

/// Counts when it is dropped before finishing.
struct Guard<'a>(&'a Log, bool);

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if !self.1 {
            self.0.dropped.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[node]
async fn long(x: u32, log: &Log) -> u32 {
    log.started.fetch_add(1, Ordering::SeqCst);
    let mut guard = Guard(log, false);
    sleep(Duration::from_secs(60)).await;
    guard.1 = true;
    log.finished.fetch_add(1, Ordering::SeqCst);
    x
}

#[node]
async fn next(x: u32, log: &Log) -> u32 {
    log.after.fetch_add(1, Ordering::SeqCst);
    x
}

#[flow(deps = D)]
graph! {
    Long(u32) -> u32 {
        START -> long -> next -> END;
    }
}

#[tokio::test(start_paused = true)]
async fn a_token_cancels_the_run_where_it_stands() {
    let flow = Long::new(D::default());
    let token = CancellationToken::new();
    let begin = Instant::now();
    let (result, ()) = tokio::join!(flow.run(1).cancel_on(&token), async {
        sleep(Duration::from_secs(1)).await;
        token.cancel();
    });
    let err = result.unwrap_err();
    assert!(
        matches!(err, FlowError::Cancelled { flow: "Long", .. }),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "flow `Long` was cancelled");
    assert_eq!(begin.elapsed(), Duration::from_secs(1));
    let log = &flow.deps().log;
    assert_eq!(log.started.load(Ordering::SeqCst), 1);
    assert_eq!(
        log.dropped.load(Ordering::SeqCst),
        1,
        "the node in progress was dropped"
    );
    assert_eq!(log.finished.load(Ordering::SeqCst), 0);
    // Nothing runs later either.
    sleep(Duration::from_secs(120)).await;
    assert_eq!(
        log.after.load(Ordering::SeqCst),
        0,
        "no further step started"
    );
}

#[tokio::test(start_paused = true)]
async fn dropping_the_run_future_cancels_it() {
    let flow = Long::new(D::default());
    let run = flow.run(1);
    assert!(
        tokio::time::timeout(Duration::from_secs(1), run)
            .await
            .is_err()
    );
    sleep(Duration::from_secs(120)).await;
    let log = &flow.deps().log;
    assert_eq!(log.dropped.load(Ordering::SeqCst), 1);
    assert_eq!(log.after.load(Ordering::SeqCst), 0);
}

#[node(retry(attempts = 5, backoff = constant(10s), jitter = none))]
async fn flaky(x: u32, log: &Log) -> Result<u32, std::io::Error> {
    log.started.fetch_add(1, Ordering::SeqCst);
    let _ = x;
    Err(std::io::Error::from(std::io::ErrorKind::TimedOut))
}

#[flow(deps = D)]
graph! {
    Flaky(u32) -> u32 {
        START -> flaky -> END;
    }
}

#[tokio::test(start_paused = true)]
async fn cancelling_during_a_backoff_starts_no_further_attempt() {
    let flow = Flaky::new(D::default());
    let token = CancellationToken::new();
    let (result, ()) = tokio::join!(flow.run(1).cancel_on(&token), async {
        // Attempts at 0 s and 10 s; cancel during the wait before the third.
        sleep(Duration::from_secs(15)).await;
        token.cancel();
    });
    assert!(
        matches!(result, Err(FlowError::Cancelled { .. })),
        "{result:?}"
    );
    sleep(Duration::from_secs(100)).await;
    assert_eq!(flow.deps().log.started.load(Ordering::SeqCst), 2);
}
