//! Durable flows against the SQLite store, and against Postgres when
//! `FLOW_TEST_DATABASE_URL` names a server (then a server that cannot be reached fails the
//! tests; they never skip): each step saved, a run resumed by a store opened anew (as
//! another process would), and the typed errors of a resume read from the store.
//!
//! Nothing waits for time to pass: a review that must be in progress says so and waits
//! for ever, and two reviews that must overlap wait for each other at a barrier.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use serde::{Deserialize, Serialize};
use tokio::sync::{Barrier, Notify};
use tokio_util::sync::CancellationToken;
use typedflow::checkpoint::{Checkpointer, RunStatus, StoreError};
use typedflow::durable::DurableError;
use typedflow::prelude::*;
use typedflow_store::SqliteStore;

use common::fresh_run;

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

/// Calls of `review`, and whether it holds.
pub struct Reviews {
    calls: AtomicU32,
    /// Set: a review tells `started`, then never ends (for a run cut while it reviews).
    stall: AtomicBool,
    started: Notify,
    /// Set: a review waits at `pair` for a second one (two runs reviewing at once).
    paired: AtomicBool,
    pair: Barrier,
}

impl Default for Reviews {
    fn default() -> Self {
        Reviews {
            calls: AtomicU32::new(0),
            stall: AtomicBool::new(false),
            started: Notify::new(),
            paired: AtomicBool::new(false),
            pair: Barrier::new(2),
        }
    }
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
    if reviews.stall.load(Ordering::SeqCst) {
        reviews.started.notify_one();
        core::future::pending::<()>().await;
    }
    if reviews.paired.load(Ordering::SeqCst) {
        reviews.pair.wait().await;
        // Both are past the barrier: the reviews after these do not wait.
        reviews.paired.store(false, Ordering::SeqCst);
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

/// A run of three reviews saves one checkpoint per step, and its end.
async fn every_step_is_saved(store: &impl Checkpointer, run: RunId) {
    let flow = Essay::new(World::default());
    let out = flow.run("rust".into()).checkpoint(store).run_id(run).await;
    assert_eq!(out.expect("the run"), "on rust!!! (3 rounds)");
    let history = store.history(run).await.expect("its history");
    let nodes: Vec<_> = history.iter().map(|c| c.node.as_str()).collect();
    assert_eq!(nodes, ["review", "review", "review", "publish", "END"]);
    assert_eq!(history[4].status, RunStatus::Finished);
    assert_eq!(history[4].state, br#""on rust!!! (3 rounds)""#);
    let state = String::from_utf8(history[2].state.clone()).expect("JSON");
    assert_eq!(
        state,
        r#"{"step":"review","input":{"text":"on rust!!","rounds":2}}"#
    );
}

/// Starts the run `run` and cancels it while its first review is in progress.
async fn cut_in_review(store: &impl Checkpointer, run: RunId) {
    let flow = Essay::new(World::default());
    flow.deps().reviews.stall.store(true, Ordering::SeqCst);
    let token = CancellationToken::new();
    let cancel = async {
        flow.deps().reviews.started.notified().await;
        token.cancel();
    };
    let (out, ()) = tokio::join!(
        flow.run("rust".into())
            .checkpoint(store)
            .run_id(run)
            .cancel_on(&token)
            .into_future(),
        cancel
    );
    assert!(out.expect_err("cancelled").is_cancelled());
    assert_eq!(flow.deps().writes.0.load(Ordering::SeqCst), 1);
}

/// Resumes the run cut by [`cut_in_review`] with another flow value, in `store`: it runs
/// from the review, not from `write`, and once finished is not run again.
async fn resumed_after_the_cut(store: &impl Checkpointer, run: RunId) {
    let flow = Essay::new(World::default());
    assert_eq!(
        flow.resume(store, run).await.expect("the resumed run"),
        "on rust!!! (3 rounds)"
    );
    assert_eq!(
        flow.deps().writes.0.load(Ordering::SeqCst),
        0,
        "write was saved"
    );
    assert_eq!(flow.deps().reviews.calls.load(Ordering::SeqCst), 3);
    assert_eq!(store.history(run).await.expect("its history").len(), 5);
    let err = flow.resume(store, run).await.expect_err("finished");
    assert!(matches!(
        err.durable_error(),
        Some(DurableError::Finished { .. })
    ));
}

/// Resuming a run the store has never seen is a typed error.
async fn an_unknown_run_is_a_typed_error(store: &impl Checkpointer, run: RunId) {
    let err = Essay::new(World::default())
        .resume(store, run)
        .await
        .expect_err("an unknown run");
    assert!(matches!(
        err.durable_error().and_then(DurableError::store_error),
        Some(StoreError::UnknownRun { .. })
    ));
}

/// Two stores (connections) on one database resume one run at once: each loads the
/// failed step and reviews, waiting for the other, so both have loaded before either
/// saves; the primary key lets the first save of the next step win.
async fn two_resumes_one_wins(a: &impl Checkpointer, b: &impl Checkpointer, run: RunId) {
    let flow = Essay::new(World::default());
    let stopped = flow
        .run("rust".into())
        .checkpoint(a)
        .run_id(run)
        .max_steps(2)
        .await;
    assert!(stopped.expect_err("the step limit").is_step_limit());
    flow.deps().reviews.paired.store(true, Ordering::SeqCst);
    let (x, y) = tokio::join!(
        flow.resume(a, run).into_future(),
        flow.resume(b, run).into_future()
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
    assert_eq!(
        a.latest(run).await.expect("the winner's end").status,
        RunStatus::Finished
    );
}

#[tokio::test]
async fn every_step_is_a_row_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("runs.db")).unwrap();
    every_step_is_saved(&store, fresh_run()).await;
}

#[tokio::test]
async fn a_run_cut_short_resumes_from_the_file_in_a_store_opened_anew() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let run = fresh_run();
    cut_in_review(&SqliteStore::open(&path).unwrap(), run).await;
    // Another store on the same file, another flow value: as a second process would.
    resumed_after_the_cut(&SqliteStore::open(&path).unwrap(), run).await;
}

#[tokio::test]
async fn an_unknown_run_in_the_file_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("runs.db")).unwrap();
    an_unknown_run_is_a_typed_error(&store, fresh_run()).await;
}

#[tokio::test]
async fn two_stores_on_one_file_resuming_one_run_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let (a, b) = (
        SqliteStore::open(&path).unwrap(),
        SqliteStore::open(&path).unwrap(),
    );
    two_resumes_one_wins(&a, &b, fresh_run()).await;
}

/// Many runs at once on the multi-thread runtime, their saves committed together in
/// batches: every run ends with its output and has each of its steps in the file, in
/// order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_runs_at_once_each_have_every_step_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let store = std::sync::Arc::new(SqliteStore::open(&path).unwrap());
    let flow = std::sync::Arc::new(Essay::new(World::default()));
    let runs: Vec<RunId> = (0..300).map(|_| fresh_run()).collect();
    let tasks: Vec<_> = runs
        .iter()
        .map(|&run| {
            let (store, flow) = (store.clone(), flow.clone());
            tokio::spawn(async move {
                flow.run("rust".into())
                    .checkpoint(&*store)
                    .run_id(run)
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), "on rust!!! (3 rounds)");
    }
    let again = SqliteStore::open(&path).unwrap();
    for run in runs {
        let history = again.history(run).await.unwrap();
        let nodes: Vec<_> = history.iter().map(|c| c.node.as_str()).collect();
        assert_eq!(nodes, ["review", "review", "review", "publish", "END"]);
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use crate::common::{connect, database_url};

    #[tokio::test]
    async fn postgres_every_step_is_a_row() {
        let Some(url) = database_url() else { return };
        let (store, run) = (connect(&url).await, fresh_run());
        every_step_is_saved(&store, run).await;
        store.delete(run).await.expect("delete");
    }

    #[tokio::test]
    async fn postgres_a_run_cut_short_resumes_on_another_connection() {
        let Some(url) = database_url() else { return };
        let run = fresh_run();
        cut_in_review(&connect(&url).await, run).await;
        let store = connect(&url).await;
        resumed_after_the_cut(&store, run).await;
        store.delete(run).await.expect("delete");
    }

    #[tokio::test]
    async fn postgres_an_unknown_run_is_a_typed_error() {
        let Some(url) = database_url() else { return };
        an_unknown_run_is_a_typed_error(&connect(&url).await, fresh_run()).await;
    }

    #[tokio::test]
    async fn postgres_two_connections_resuming_one_run_one_wins() {
        let Some(url) = database_url() else { return };
        let (a, b, run) = (connect(&url).await, connect(&url).await, fresh_run());
        two_resumes_one_wins(&a, &b, run).await;
        a.delete(run).await.expect("delete");
    }
}
