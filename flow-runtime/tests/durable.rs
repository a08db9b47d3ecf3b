//! Durable runs: a checkpoint after each step, the run's end recorded, resume from the
//! last checkpoint, and a typed error for each way a resume can go wrong.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use typedflow::ErrorKind;
use typedflow::checkpoint::{Checkpoint, Checkpointer, MemoryStore, RunStatus, StoreError};
use typedflow::durable::DurableError;
use typedflow::prelude::*;

/// What the nodes did, per test (each test has its own deps).
/// The deps of the flows.
#[derive(Default, Deps)]
pub struct Log {
    /// What the nodes did.
    pub calls: Calls,
}

/// Counts and switches the nodes read.
#[derive(Default)]
pub struct Calls {
    outline: AtomicU32,
    write: AtomicU32,
    /// The idempotency keys `write` was called with.
    keys: Mutex<Vec<String>>,
    /// While set, `write` waits an hour (for a run cut in the middle of it).
    slow: AtomicBool,
    /// While set, `write` fails.
    fail: AtomicBool,
}

#[derive(Debug, thiserror::Error)]
#[error("the writer is down")]
struct Down;

#[node]
async fn outline(topic: String, calls: &Calls) -> Vec<String> {
    calls.outline.fetch_add(1, Ordering::SeqCst);
    vec![format!("{topic}: why"), format!("{topic}: how")]
}

#[node]
async fn write(points: Vec<String>, calls: &Calls, cx: &Context) -> Result<String, Down> {
    calls.write.fetch_add(1, Ordering::SeqCst);
    calls
        .keys
        .lock()
        .expect("not poisoned")
        .push(cx.idempotency_key());
    if calls.slow.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    if calls.fail.load(Ordering::SeqCst) {
        return Err(Down);
    }
    Ok(points.join("\n"))
}

#[node]
async fn count(text: String) -> usize {
    text.lines().count()
}

graph! {
    #[flow(durable, deps = Log)]
    Essay(String) -> usize {
        START -> outline -> write -> count -> END;
    }
}

/// Another graph under the same name: its checkpoints are not `Essay`'s.
mod changed {
    use super::*;

    #[node]
    async fn shout(text: String) -> String {
        text.to_uppercase()
    }

    graph! {
        #[flow(durable, deps = Log, name = "Essay")]
        pub Essay2(String) -> usize {
            START -> outline -> write -> shout -> count -> END;
        }
    }
}

graph! {
    #[flow(durable, deps = Log)]
    Other(String) -> usize {
        START -> outline -> write -> count -> END;
    }
}

fn essay() -> Essay {
    Essay::new(Log::default())
}

/// Runs `flow` as run `run` until its step limit of 1 stops it, recorded as failed.
async fn stop_after_one_step(flow: &Essay, store: &MemoryStore, run: RunId) {
    let out = flow
        .run("rust".into())
        .checkpoint(store)
        .run_id(run)
        .max_steps(1)
        .await;
    assert!(out.expect_err("the limit stops it").is_step_limit());
}

fn calls(flow: &Essay) -> &Calls {
    &flow.deps().calls
}

#[tokio::test]
async fn a_checkpointed_run_saves_each_step_before_the_next_and_records_its_end() {
    let store = MemoryStore::new();
    let flow = essay();
    let run = RunId::from_u64(1);
    let out = flow.run("rust".into()).checkpoint(&store).run_id(run).await;
    assert_eq!(out.unwrap(), 2);
    let history = store.history(run).await.unwrap();
    let steps: Vec<_> = history
        .iter()
        .map(|c| (c.step, c.node.as_str(), c.status.clone()))
        .collect();
    assert_eq!(
        steps,
        [
            (1, "write", RunStatus::Running),
            (2, "count", RunStatus::Running),
            (3, "END", RunStatus::Finished),
        ]
    );
    for cp in &history {
        assert_eq!(cp.flow, "Essay");
        assert_eq!(cp.fingerprint, Essay::FINGERPRINT);
        assert_eq!(cp.run_id, run);
    }
    // The state is the next step's input, as JSON; the end holds the output.
    let state = String::from_utf8(history[0].state.clone()).unwrap();
    assert_eq!(
        state,
        r#"{"step":"write","input":["rust: why","rust: how"]}"#
    );
    assert_eq!(history[2].state, b"2");
}

#[tokio::test]
async fn a_durable_flow_without_a_store_runs_as_any_other() {
    let flow = essay();
    assert_eq!(flow.run("rust".into()).await.unwrap(), 2);
    assert_eq!(calls(&flow).write.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn fresh_runs_get_distinct_ids() {
    let store = MemoryStore::new();
    let flow = essay();
    flow.run("a".into()).checkpoint(&store).await.unwrap();
    flow.run("b".into()).checkpoint(&store).await.unwrap();
    assert_eq!(store.runs().await.unwrap().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_run_cut_in_a_node_resumes_there_and_runs_that_node_again() {
    let store = MemoryStore::new();
    let flow = essay();
    let run = RunId::from_u64(2);
    calls(&flow).slow.store(true, Ordering::SeqCst);
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
    // `write` started and was cut: the last checkpoint is the one before it.
    let last = store.latest(run).await.unwrap();
    assert_eq!((last.step, last.node.as_str()), (1, "write"));

    calls(&flow).slow.store(false, Ordering::SeqCst);
    assert_eq!(flow.resume(&store, run).await.unwrap(), 2);
    let c = calls(&flow);
    assert_eq!(
        c.outline.load(Ordering::SeqCst),
        1,
        "outline was saved: not run again"
    );
    assert_eq!(
        c.write.load(Ordering::SeqCst),
        2,
        "write runs again: at least once"
    );
    let keys = c.keys.lock().unwrap().clone();
    assert_eq!(keys, ["0000000000000002-2", "0000000000000002-2"]);
    assert_eq!(store.latest(run).await.unwrap().status, RunStatus::Finished);
    assert_eq!(store.history(run).await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_failed_run_records_its_failure_and_resumes_at_the_failed_step() {
    let store = MemoryStore::new();
    let flow = essay();
    let run = RunId::from_u64(3);
    calls(&flow).fail.store(true, Ordering::SeqCst);
    let err = flow
        .run("rust".into())
        .checkpoint(&store)
        .run_id(run)
        .await
        .unwrap_err();
    assert_eq!(err.node(), Some("write"));
    let last = store.latest(run).await.unwrap();
    assert_eq!(
        (last.step, last.node.as_str(), last.status),
        (2, "write", RunStatus::Errored)
    );
    // The failed step's input is kept: after a fix, the run goes on from there.
    calls(&flow).fail.store(false, Ordering::SeqCst);
    assert_eq!(flow.resume(&store, run).await.unwrap(), 2);
    assert_eq!(calls(&flow).outline.load(Ordering::SeqCst), 1);
    let statuses: Vec<_> = store
        .history(run)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.step, c.status))
        .collect();
    assert_eq!(
        statuses,
        [
            (1, RunStatus::Running),
            (2, RunStatus::Errored),
            (3, RunStatus::Running),
            (4, RunStatus::Finished),
        ]
    );
}

/// A store that refuses saves after `allowed` of them, as a full disk would.
struct Failing {
    inner: MemoryStore,
    allowed: AtomicU32,
}

impl Checkpointer for Failing {
    async fn save(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        if self.allowed.load(Ordering::SeqCst) == 0 {
            return Err(StoreError::full(std::io::Error::other("disk full")));
        }
        self.allowed.fetch_sub(1, Ordering::SeqCst);
        self.inner.save(checkpoint).await
    }
    async fn latest(&self, run_id: RunId) -> Result<Checkpoint, StoreError> {
        self.inner.latest(run_id).await
    }
    async fn history(&self, run_id: RunId) -> Result<Vec<Checkpoint>, StoreError> {
        self.inner.history(run_id).await
    }
    async fn runs(&self) -> Result<Vec<Checkpoint>, StoreError> {
        self.inner.runs().await
    }
    async fn delete(&self, run_id: RunId) -> Result<u64, StoreError> {
        self.inner.delete(run_id).await
    }
}

#[tokio::test]
async fn a_store_error_ends_the_run_with_a_typed_error_and_loses_nothing() {
    let store = Failing {
        inner: MemoryStore::new(),
        allowed: AtomicU32::new(1),
    };
    let flow = essay();
    let run = RunId::from_u64(4);
    let err = flow
        .run("rust".into())
        .checkpoint(&store)
        .run_id(run)
        .await
        .unwrap_err();
    assert!(matches!(err, FlowError::Durable { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Durable);
    let store_err = err.durable_error().and_then(DurableError::store_error);
    assert!(
        matches!(store_err, Some(StoreError::Full { .. })),
        "{err:?}"
    );
    // The step that could not be saved did not go on: `count` never ran, and the
    // checkpoint saved before is there.
    assert_eq!(calls(&flow).write.load(Ordering::SeqCst), 1);
    let history = store.inner.history(run).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].node, "write");

    store.allowed.store(10, Ordering::SeqCst);
    assert_eq!(flow.resume(&store, run).await.unwrap(), 2);
}

fn durable(err: FlowError) -> DurableError {
    match err {
        FlowError::Durable { source, .. } => source,
        other => panic!("not a durable error: {other:?}"),
    }
}

#[tokio::test]
async fn resuming_an_unknown_run_is_a_typed_error() {
    let store = MemoryStore::new();
    let err = durable(
        essay()
            .resume(&store, RunId::from_u64(99))
            .await
            .unwrap_err(),
    );
    assert!(matches!(
        err,
        DurableError::Store(StoreError::UnknownRun { .. })
    ));
}

#[tokio::test]
async fn resuming_a_finished_run_is_a_typed_error_and_writes_nothing() {
    let store = MemoryStore::new();
    let flow = essay();
    let run = RunId::from_u64(5);
    flow.run("rust".into())
        .checkpoint(&store)
        .run_id(run)
        .await
        .unwrap();
    let err = durable(flow.resume(&store, run).await.unwrap_err());
    assert!(matches!(err, DurableError::Finished { .. }), "{err:?}");
    assert_eq!(store.history(run).await.unwrap().len(), 3);
    assert_eq!(calls(&flow).write.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_changed_graph_refuses_the_run() {
    let store = MemoryStore::new();
    let flow = essay();
    let run = RunId::from_u64(6);
    calls(&flow).fail.store(true, Ordering::SeqCst);
    flow.run("rust".into())
        .checkpoint(&store)
        .run_id(run)
        .await
        .unwrap_err();
    assert_ne!(Essay::FINGERPRINT, changed::Essay2::FINGERPRINT);
    let err = changed::Essay2::new(Log::default())
        .resume(&store, run)
        .await
        .unwrap_err();
    let err = durable(err);
    assert!(
        matches!(err, DurableError::GraphChanged { saved, current, .. }
            if saved == Essay::FINGERPRINT && current == changed::Essay2::FINGERPRINT),
        "{err:?}"
    );
    assert!(err.to_string().contains("another version of the graph"));
    // Nothing was written.
    assert_eq!(store.history(run).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_run_of_another_flow_is_refused() {
    let store = MemoryStore::new();
    let run = RunId::from_u64(7);
    stop_after_one_step(&essay(), &store, run).await;
    let err = durable(
        Other::new(Log::default())
            .resume(&store, run)
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, DurableError::OtherFlow { ref found, .. } if found == "Essay"));
}

#[tokio::test]
async fn a_corrupt_state_is_a_typed_error() {
    let store = MemoryStore::new();
    let save = |run: u64, state: &[u8]| {
        let cp = Checkpoint::new(
            "Essay",
            Essay::FINGERPRINT,
            RunId::from_u64(run),
            1,
            "write",
            state.to_vec(),
        );
        let store = store.clone();
        async move { store.save(&cp).await.unwrap() }
    };
    save(10, b"{\"step\":\"write\",\"input\":[\"trunc").await;
    save(11, br#"{"step":"publish","input":1}"#).await;
    save(12, br#"{"step":"write","input":42}"#).await;
    let flow = essay();
    for (run, why) in [(10, "EOF"), (11, "no step `publish`"), (12, "invalid type")] {
        let err = durable(flow.resume(&store, RunId::from_u64(run)).await.unwrap_err());
        assert!(
            matches!(&err, DurableError::Decode { step: 1, reason, .. } if reason.contains(why)),
            "{err:?}"
        );
    }
    assert_eq!(calls(&flow).write.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn two_resumes_of_one_run_at_once_one_wins() {
    let store = MemoryStore::new();
    let flow = essay();
    let run = RunId::from_u64(8);
    stop_after_one_step(&flow, &store, run).await;
    // Both load the failed step 2 and run `write` (an hour, on the paused clock); the
    // second to save step 3 finds it saved.
    calls(&flow).slow.store(true, Ordering::SeqCst);
    let (a, b) = tokio::join!(
        flow.resume(&store, run).into_future(),
        flow.resume(&store, run).into_future()
    );
    let (won, lost) = match (a, b) {
        (Ok(out), Err(err)) | (Err(err), Ok(out)) => (out, err),
        other => panic!("one resume must win: {other:?}"),
    };
    assert_eq!(won, 2);
    let lost = durable(lost);
    assert!(
        lost.store_error().is_some_and(StoreError::is_conflict),
        "{lost:?}"
    );
}

#[tokio::test]
async fn a_resumed_run_takes_the_settings_of_a_run() {
    let store = MemoryStore::new();
    let flow = essay();
    let run = RunId::from_u64(9);
    stop_after_one_step(&flow, &store, run).await;
    // The resumed run counts the steps before it: a limit of 2 stops it again.
    let err = flow.resume(&store, run).max_steps(2).await.unwrap_err();
    assert!(err.is_step_limit());
    let out = flow
        .resume(&store, run)
        .hook(typedflow::telemetry::Traced)
        .timeout(Duration::from_secs(5))
        .await;
    assert_eq!(out.unwrap(), 2);
}

#[tokio::test]
async fn a_fork_from_an_earlier_step_is_a_new_run_and_leaves_the_original_as_it_was() {
    let store = MemoryStore::new();
    let flow = essay();
    let run = RunId::from_u64(20);
    flow.run("rust".into())
        .checkpoint(&store)
        .run_id(run)
        .await
        .unwrap();
    let before = store.history(run).await.unwrap();

    // From step 1 (after `outline`): `write` and `count` run again, `outline` does not.
    let fork = RunId::from_u64(21);
    let out = flow.fork(&store, run, 1).run_id(fork).await;
    assert_eq!(out.unwrap(), 2);
    assert_eq!(calls(&flow).outline.load(Ordering::SeqCst), 1);
    assert_eq!(calls(&flow).write.load(Ordering::SeqCst), 2);
    assert_eq!(store.history(run).await.unwrap(), before);
    let forked: Vec<_> = store
        .history(fork)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.step, c.node, c.status))
        .collect();
    assert_eq!(
        forked,
        [
            (1, "write".to_string(), RunStatus::Running),
            (2, "count".to_string(), RunStatus::Running),
            (3, "END".to_string(), RunStatus::Finished),
        ]
    );
    // A fork without an id gets a fresh one; a fork into an id in use is refused.
    flow.fork(&store, run, 2).await.unwrap();
    assert_eq!(store.runs().await.unwrap().len(), 3);
    let taken = durable(flow.fork(&store, run, 1).run_id(fork).await.unwrap_err());
    assert!(taken.store_error().is_some_and(StoreError::is_conflict));
    assert_eq!(store.history(run).await.unwrap(), before);
}

#[tokio::test]
async fn a_fork_of_a_step_that_is_not_there_is_a_typed_error() {
    let store = MemoryStore::new();
    let flow = essay();
    let run = RunId::from_u64(22);
    flow.run("rust".into())
        .checkpoint(&store)
        .run_id(run)
        .await
        .unwrap();
    let missing = durable(flow.fork(&store, run, 9).await.unwrap_err());
    assert!(
        matches!(missing, DurableError::NoStep { step: 9, .. }),
        "{missing:?}"
    );
    let end = durable(flow.fork(&store, run, 3).await.unwrap_err());
    assert!(matches!(end, DurableError::Finished { .. }), "{end:?}");
    let unknown = durable(
        flow.fork(&store, RunId::from_u64(404), 1)
            .await
            .unwrap_err(),
    );
    assert!(matches!(
        unknown,
        DurableError::Store(StoreError::UnknownRun { .. })
    ));
    assert_eq!(store.runs().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_resumed_run_streams_the_events_of_its_own_steps() {
    use futures_util::StreamExt;
    use typedflow::events::Event;

    let store = MemoryStore::new();
    let flow = essay();
    let run = RunId::from_u64(30);
    stop_after_one_step(&flow, &store, run).await;
    let mut stream = flow.resume(&store, run).stream();
    let mut started = Vec::new();
    while let Some(event) = stream.next().await {
        if let Event::NodeStarted { node, step, .. } = event {
            started.push((node, step));
        }
    }
    assert_eq!(stream.output().await.unwrap(), 2);
    // The run stopped before step 2 and recorded it as failed: it goes on at step 3.
    assert_eq!(started, [("write", 3), ("count", 4)]);
}

#[tokio::test]
async fn a_fork_with_an_edited_input_runs_on_from_it_and_leaves_the_run_forked_as_it_was() {
    let (store, flow) = (MemoryStore::new(), essay());
    let (run, fork) = (RunId::from_u64(0xed17), RunId::from_u64(0xed18));
    assert_eq!(
        flow.run("rust".into())
            .checkpoint(&store)
            .run_id(run)
            .await
            .unwrap(),
        2
    );
    let before = store.history(run).await.unwrap();

    // After step 1 `write` was given the outline's two points: give it three.
    let out = flow
        .fork_edited(&store, run, 1, |points: &mut Vec<String>| {
            points.push("rust: when".into())
        })
        .run_id(fork)
        .await
        .unwrap();
    assert_eq!(out, 3);
    let first = &store.history(fork).await.unwrap()[0];
    assert_eq!(first.step, 1);
    assert!(
        std::str::from_utf8(&first.state)
            .unwrap()
            .contains("rust: when"),
        "the fork's first checkpoint holds the edited input"
    );
    assert_eq!(
        store.history(run).await.unwrap(),
        before,
        "the run forked is untouched"
    );
    assert_eq!(
        flow.deps().calls.outline.load(Ordering::SeqCst),
        1,
        "only the steps after ran"
    );
}

#[tokio::test]
async fn an_edit_of_another_type_than_the_step_takes_is_a_typed_error_and_saves_nothing() {
    let (store, flow) = (MemoryStore::new(), essay());
    let (run, fork) = (RunId::from_u64(0xed19), RunId::from_u64(0xed1a));
    flow.run("rust".into())
        .checkpoint(&store)
        .run_id(run)
        .await
        .unwrap();
    let error = flow
        .fork_edited(&store, run, 1, |n: &mut u64| *n += 1)
        .run_id(fork)
        .await
        .unwrap_err();
    match error.durable_error() {
        Some(DurableError::EditType {
            step: 1,
            node,
            edit,
            ..
        }) => {
            assert_eq!((node.as_str(), *edit), ("write", "u64"));
        }
        other => panic!("expected an edit of the wrong type, got {other:?}"),
    }
    assert!(matches!(
        store.history(fork).await,
        Err(StoreError::UnknownRun { .. })
    ));
}
