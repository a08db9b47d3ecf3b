//! Durable flows against the SQLite store: each step saved in the file, a run resumed
//! from the file by a store opened anew (as another process would), and the typed errors
//! of a resume read from disk.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use typedflow::checkpoint::{Checkpointer, RunStatus, StoreError};
use typedflow::durable::DurableError;
use typedflow::prelude::*;
use typedflow_store::SqliteStore;

/// A draft and how many times it was reviewed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    /// The text.
    pub text: String,
    /// Reviews so far.
    pub rounds: u32,
}

/// What `review` decides.
pub enum Review {
    /// Another round.
    Again(Draft),
    /// Good enough.
    Done(Draft),
}

/// Counts and switches the nodes read.
#[derive(Default, Deps)]
pub struct World {
    /// How many times `write` ran.
    pub writes: Counter,
    /// How many times `review` ran.
    pub reviews: Reviews,
}

/// Calls of `write`.
#[derive(Default)]
pub struct Counter(AtomicU32);

/// Calls of `review`, and whether it waits (for a run cut while it reviews).
#[derive(Default)]
pub struct Reviews {
    calls: AtomicU32,
    slow: AtomicBool,
}

#[node]
async fn write(topic: String, writes: &Counter) -> Draft {
    writes.0.fetch_add(1, Ordering::SeqCst);
    Draft {
        text: format!("on {topic}"),
        rounds: 0,
    }
}

#[node]
async fn review(mut draft: Draft, reviews: &Reviews) -> Review {
    reviews.calls.fetch_add(1, Ordering::SeqCst);
    if reviews.slow.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    draft.rounds += 1;
    draft.text.push('!');
    if draft.rounds < 3 {
        Review::Again(draft)
    } else {
        Review::Done(draft)
    }
}

#[node]
async fn publish(draft: Draft) -> String {
    format!("{} ({} rounds)", draft.text, draft.rounds)
}

graph! {
    #[flow(durable, deps = World)]
    Essay(String) -> String {
        START -> write -> review;
        review => {
            Review::Again -> review,
            Review::Done -> publish,
        }
        publish -> END;
    }
}

#[tokio::test]
async fn every_step_is_a_row_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("runs.db")).unwrap();
    let flow = Essay::new(World::default());
    let run = RunId::from_u64(1);
    let out = flow.run("rust".into()).checkpoint(&store).run_id(run).await;
    assert_eq!(out.unwrap(), "on rust!!! (3 rounds)");
    let history = store.history(run).await.unwrap();
    let nodes: Vec<_> = history.iter().map(|c| c.node.as_str()).collect();
    assert_eq!(nodes, ["review", "review", "review", "publish", "END"]);
    assert_eq!(history[4].status, RunStatus::Finished);
    assert_eq!(history[4].state, br#""on rust!!! (3 rounds)""#);
    let state = String::from_utf8(history[2].state.clone()).unwrap();
    assert_eq!(
        state,
        r#"{"step":"review","input":{"text":"on rust!!","rounds":2}}"#
    );
}

#[tokio::test(start_paused = true)]
async fn a_run_cut_short_resumes_from_the_file_in_a_store_opened_anew() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let run = RunId::from_u64(2);
    {
        let store = SqliteStore::open(&path).unwrap();
        let flow = Essay::new(World::default());
        flow.deps().reviews.slow.store(true, Ordering::SeqCst);
        let token = CancellationToken::new();
        let cancel = {
            let token = token.clone();
            async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                token.cancel();
            }
        };
        let (out, ()) = tokio::join!(
            flow.run("rust".into())
                .checkpoint(&store)
                .run_id(run)
                .cancel_on(&token)
                .into_future(),
            cancel
        );
        assert!(out.unwrap_err().is_cancelled());
        assert_eq!(flow.deps().writes.0.load(Ordering::SeqCst), 1);
    }
    // Another store on the same file, another flow value: as a second process would.
    let store = SqliteStore::open(&path).unwrap();
    let flow = Essay::new(World::default());
    assert_eq!(
        flow.resume(&store, run).await.unwrap(),
        "on rust!!! (3 rounds)"
    );
    assert_eq!(
        flow.deps().writes.0.load(Ordering::SeqCst),
        0,
        "write was saved"
    );
    assert_eq!(flow.deps().reviews.calls.load(Ordering::SeqCst), 3);
    assert_eq!(store.history(run).await.unwrap().len(), 5);
    // And once finished, it is not run again.
    let err = flow.resume(&store, run).await.unwrap_err();
    assert!(matches!(
        err.durable_error(),
        Some(DurableError::Finished { .. })
    ));
}

#[tokio::test]
async fn an_unknown_run_in_the_file_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("runs.db")).unwrap();
    let err = Essay::new(World::default())
        .resume(&store, RunId::from_u64(404))
        .await
        .unwrap_err();
    assert!(matches!(
        err.durable_error().and_then(DurableError::store_error),
        Some(StoreError::UnknownRun { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn two_stores_on_one_file_resuming_one_run_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let (a, b) = (
        SqliteStore::open(&path).unwrap(),
        SqliteStore::open(&path).unwrap(),
    );
    let flow = Essay::new(World::default());
    let run = RunId::from_u64(3);
    let stopped = flow
        .run("rust".into())
        .checkpoint(&a)
        .run_id(run)
        .max_steps(2)
        .await;
    assert!(stopped.unwrap_err().is_step_limit());
    // Each loads the failed step and reviews (an hour, on the paused clock); the file's
    // primary key lets the first save of the next step win.
    flow.deps().reviews.slow.store(true, Ordering::SeqCst);
    let (x, y) = tokio::join!(
        flow.resume(&a, run).into_future(),
        flow.resume(&b, run).into_future()
    );
    let lost = match (x, y) {
        (Ok(_), Err(e)) | (Err(e), Ok(_)) => e,
        other => panic!("one resume must win: {other:?}"),
    };
    assert!(
        lost.durable_error()
            .and_then(DurableError::store_error)
            .is_some_and(StoreError::is_conflict),
        "{lost:?}"
    );
}
