//! Typed interrupts: a checkpointed run stops at an interrupt and waits, saved; the
//! answer resumes it, once; every other way of resuming it is a typed error that leaves
//! the run as it was.

use std::sync::atomic::{AtomicU32, Ordering};

use serde::{Deserialize, Serialize};
use typedflow::checkpoint::{Checkpointer, MemoryStore, RunStatus, StoreError};
use typedflow::durable::{Answered, DurableError, Outcome, Waiting};
use typedflow::prelude::*;

/// The deps of the flows: how often each node ran.
#[derive(Default, Deps)]
pub struct Log {
    /// The calls counted.
    pub calls: Calls,
}

/// How often each node ran.
#[derive(Default)]
pub struct Calls {
    write: AtomicU32,
    publish: AtomicU32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Approval {
    draft: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Edit {
    draft: String,
}

#[node]
async fn write(topic: String, calls: &Calls) -> Approval {
    calls.write.fetch_add(1, Ordering::SeqCst);
    Approval {
        draft: format!("all about {topic}"),
    }
}

#[node]
async fn publish(approved: Answered<Approval, bool>, calls: &Calls) -> String {
    calls.publish.fetch_add(1, Ordering::SeqCst);
    if approved.answer {
        approved.question.draft
    } else {
        "rejected".to_owned()
    }
}

graph! {
    #[flow(durable, deps = Log)]
    Post(String) -> String {
        interrupt review: Approval => bool;
        START -> write -> review -> publish -> END;
    }
}

/// A run that waits at its first step: the flow's input is the question.
#[node]
async fn ship(approved: Answered<Approval, bool>) -> bool {
    approved.answer
}

graph! {
    #[flow(durable)]
    Gate(Approval) -> bool {
        interrupt ask: Approval => bool;
        START -> ask -> ship -> END;
    }
}

/// Two interrupts asking two questions, one after the other.
#[node]
async fn to_edit(approved: Answered<Approval, bool>) -> Edit {
    Edit {
        draft: approved.question.draft,
    }
}

#[node]
async fn done(edited: Answered<Edit, String>) -> String {
    edited.answer
}

graph! {
    #[flow(durable)]
    Review(Approval) -> String {
        interrupt approve: Approval => bool;
        interrupt edit: Edit => String;
        START -> approve -> to_edit -> edit -> done -> END;
    }
}

async fn wait(flow: &Post, store: &MemoryStore, run_id: RunId) -> Waiting {
    match flow
        .run("rust".into())
        .checkpoint(store)
        .run_id(run_id)
        .await
    {
        Ok(Outcome::Waiting(waiting)) => waiting,
        other => panic!("expected the run to wait, got {other:?}"),
    }
}

fn durable_error(result: Result<Outcome<String>, FlowError>) -> DurableError {
    match result {
        Err(FlowError::Durable { source, .. }) => source,
        other => panic!("expected a durable error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_run_waits_saved_and_the_answer_resumes_it_to_its_end() {
    let (store, flow, run_id) = (
        MemoryStore::new(),
        Post::new(Log::default()),
        RunId::from_u64(1),
    );
    let waiting = wait(&flow, &store, run_id).await;
    assert_eq!((waiting.run_id(), waiting.step()), (run_id, 1));
    assert_eq!(
        (waiting.interrupt(), waiting.question_type()),
        ("review", "Approval")
    );
    assert_eq!(
        waiting.question::<Approval>(),
        Some(&Approval {
            draft: "all about rust".into()
        })
    );
    assert_eq!(waiting.question::<Edit>(), None);

    // Saved as waiting: the question and the interrupt, at the step after `write`.
    let latest = store.latest(run_id).await.unwrap();
    assert_eq!(
        latest.status,
        RunStatus::Waiting {
            question: "Approval".into()
        }
    );
    assert_eq!((latest.step, latest.node.as_str()), (1, "review"));
    assert_eq!(
        std::str::from_utf8(&latest.state).unwrap(),
        r#"{"step":"review","input":{"draft":"all about rust"}}"#
    );
    assert_eq!(flow.deps().calls.publish.load(Ordering::SeqCst), 0);

    let done = flow.resume_with(&store, run_id, true).await.unwrap();
    assert_eq!(done.finished().as_deref(), Some("all about rust"));
    let calls = &flow.deps().calls;
    assert_eq!(
        calls.write.load(Ordering::SeqCst),
        1,
        "the step before ran once"
    );
    assert_eq!(calls.publish.load(Ordering::SeqCst), 1);

    // The history: waiting, answered (the answer saved before `publish` ran), finished.
    let history = store.history(run_id).await.unwrap();
    let steps: Vec<_> = history
        .iter()
        .map(|cp| (cp.step, cp.node.as_str(), cp.status.name()))
        .collect();
    assert_eq!(
        steps,
        [
            (1, "review", "waiting"),
            (2, "publish", "running"),
            (3, "END", "finished")
        ]
    );
    assert_eq!(
        std::str::from_utf8(&history[1].state).unwrap(),
        r#"{"step":"publish","input":{"question":{"draft":"all about rust"},"answer":true}}"#
    );
}

#[tokio::test]
async fn a_second_answer_is_refused_and_overwrites_nothing() {
    let (store, flow, run_id) = (
        MemoryStore::new(),
        Post::new(Log::default()),
        RunId::from_u64(2),
    );
    wait(&flow, &store, run_id).await;
    let done = flow.resume_with(&store, run_id, false).await.unwrap();
    assert_eq!(done.finished().as_deref(), Some("rejected"));
    let before = store.history(run_id).await.unwrap();

    let again = durable_error(flow.resume_with(&store, run_id, true).await);
    assert!(
        matches!(
            again,
            DurableError::NotWaiting {
                status: "finished",
                ..
            }
        ),
        "{again:?}"
    );
    assert_eq!(store.history(run_id).await.unwrap(), before);
    assert_eq!(flow.deps().calls.publish.load(Ordering::SeqCst), 1);
}

/// A store that yields to the scheduler before each call, so that two runs on one task
/// interleave: both read the waiting checkpoint before either saves.
struct Yielding(MemoryStore);

impl Checkpointer for Yielding {
    async fn save(&self, checkpoint: &typedflow::checkpoint::Checkpoint) -> Result<(), StoreError> {
        tokio::task::yield_now().await;
        self.0.save(checkpoint).await
    }
    async fn latest(&self, run_id: RunId) -> Result<typedflow::checkpoint::Checkpoint, StoreError> {
        tokio::task::yield_now().await;
        self.0.latest(run_id).await
    }
    async fn history(
        &self,
        run_id: RunId,
    ) -> Result<Vec<typedflow::checkpoint::Checkpoint>, StoreError> {
        self.0.history(run_id).await
    }
    async fn runs(&self) -> Result<Vec<typedflow::checkpoint::Checkpoint>, StoreError> {
        self.0.runs().await
    }
    async fn delete(&self, run_id: RunId) -> Result<u64, StoreError> {
        self.0.delete(run_id).await
    }
}

#[tokio::test]
async fn of_two_answers_at_once_one_runs_on_and_the_other_gets_the_conflict() {
    let (store, flow, run_id) = (
        Yielding(MemoryStore::new()),
        Post::new(Log::default()),
        RunId::from_u64(3),
    );
    let waiting = flow
        .run("rust".into())
        .checkpoint(&store)
        .run_id(run_id)
        .await
        .unwrap();
    assert!(waiting.waiting().is_some());
    let (a, b) = tokio::join!(
        flow.resume_with(&store, run_id, true).into_future(),
        flow.resume_with(&store, run_id, false).into_future(),
    );
    let (won, lost) = match (a, b) {
        (Ok(won), Err(lost)) | (Err(lost), Ok(won)) => (won, lost),
        other => panic!("expected one answer to win, got {other:?}"),
    };
    assert!(won.finished().is_some());
    let lost = lost.durable_error().and_then(DurableError::store_error);
    assert!(
        matches!(lost, Some(StoreError::Conflict { .. })),
        "{lost:?}"
    );
    assert_eq!(
        flow.deps().calls.publish.load(Ordering::SeqCst),
        1,
        "one answer ran on"
    );
}

#[tokio::test]
async fn a_waiting_run_is_not_resumed_without_an_answer() {
    let (store, flow, run_id) = (
        MemoryStore::new(),
        Post::new(Log::default()),
        RunId::from_u64(4),
    );
    wait(&flow, &store, run_id).await;
    let error = durable_error(flow.resume(&store, run_id).await);
    assert!(
        matches!(&error, DurableError::Waiting { question, .. } if question == "Approval"),
        "{error:?}"
    );
    assert_eq!(store.history(run_id).await.unwrap().len(), 1);
    // It still waits, and the answer resumes it.
    let done = flow.resume_with(&store, run_id, true).await.unwrap();
    assert!(done.finished().is_some());
}

#[tokio::test]
async fn another_program_reads_the_question_from_the_store() {
    let (store, run_id) = (MemoryStore::new(), RunId::from_u64(5));
    wait(&Post::new(Log::default()), &store, run_id).await;

    // Another instance of the flow, as a second process would have.
    let flow = Post::new(Log::default());
    let waiting = flow.waiting(&store, run_id).await.unwrap();
    assert_eq!((waiting.step(), waiting.interrupt()), (1, "review"));
    let question: Approval = waiting.into_question().unwrap();
    assert_eq!(question.draft, "all about rust");
    let done = flow.resume_with(&store, run_id, true).await.unwrap();
    assert!(done.finished().is_some());

    let error = flow.waiting(&store, run_id).await.unwrap_err();
    assert!(
        matches!(
            error.durable_error(),
            Some(DurableError::NotWaiting {
                status: "finished",
                ..
            })
        ),
        "{error:?}"
    );
    let unknown = flow.waiting(&store, RunId::from_u64(99)).await.unwrap_err();
    let unknown = unknown.durable_error().and_then(DurableError::store_error);
    assert!(
        matches!(unknown, Some(StoreError::UnknownRun { .. })),
        "{unknown:?}"
    );
}

#[tokio::test]
async fn without_a_store_a_run_cannot_wait_and_says_so() {
    let flow = Post::new(Log::default());
    let error = flow.run("rust".into()).await.unwrap_err();
    assert!(
        matches!(
            error.durable_error(),
            Some(DurableError::NoStore {
                interrupt: "review",
                question: "Approval",
                ..
            })
        ),
        "{error:?}"
    );
    let source = std::error::Error::source(&error).map(ToString::to_string);
    assert!(
        source
            .as_deref()
            .is_some_and(|s| s.contains(".checkpoint(&store)")),
        "{source:?}"
    );
}

#[tokio::test]
async fn a_run_can_wait_at_its_first_step() {
    let (store, run_id) = (MemoryStore::new(), RunId::from_u64(6));
    let flow = Gate::new(());
    let question = Approval {
        draft: "ship it".into(),
    };
    let outcome = flow
        .run(question.clone())
        .checkpoint(&store)
        .run_id(run_id)
        .await;
    let Ok(Outcome::Waiting(waiting)) = outcome else {
        panic!("expected the run to wait, got {outcome:?}");
    };
    assert_eq!((waiting.step(), waiting.interrupt()), (0, "ask"));
    let latest = store.latest(run_id).await.unwrap();
    assert_eq!((latest.step, latest.status.name()), (0, "waiting"));
    let done = flow.resume_with(&store, run_id, true).await.unwrap();
    assert_eq!(done.finished(), Some(true));
}

#[tokio::test]
async fn each_question_takes_its_own_answer() {
    let (store, run_id) = (MemoryStore::new(), RunId::from_u64(7));
    let flow = Review::new(());
    let question = Approval {
        draft: "draft".into(),
    };
    let first = flow
        .run(question)
        .checkpoint(&store)
        .run_id(run_id)
        .await
        .unwrap();
    assert_eq!(first.waiting().map(Waiting::interrupt), Some("approve"));

    // An answer to the other question: refused, nothing saved.
    let wrong = flow
        .resume_with::<Edit, _>(&store, run_id, "edited".into())
        .await;
    let Err(FlowError::Durable {
        source:
            DurableError::WrongQuestion {
                waiting_for,
                answered,
                ..
            },
        ..
    }) = wrong
    else {
        panic!("expected a wrong question, got {wrong:?}");
    };
    assert_eq!((waiting_for.as_str(), answered), ("Approval", "Edit"));
    assert_eq!(store.history(run_id).await.unwrap().len(), 1);

    let second = flow
        .resume_with::<Approval, _>(&store, run_id, true)
        .await
        .unwrap();
    let waiting = second.waiting().expect("waits at `edit`");
    assert_eq!(
        (waiting.interrupt(), waiting.question_type()),
        ("edit", "Edit")
    );
    assert_eq!(
        waiting.question::<Edit>().map(|e| e.draft.as_str()),
        Some("draft")
    );

    let done = flow
        .resume_with::<Edit, _>(&store, run_id, "final".into())
        .await
        .unwrap();
    assert_eq!(done.finished().as_deref(), Some("final"));
}

#[tokio::test]
async fn a_fork_of_a_waiting_step_waits_for_its_own_answer() {
    let (store, run_id, fork_id) = (MemoryStore::new(), RunId::from_u64(8), RunId::from_u64(9));
    let flow = Post::new(Log::default());
    wait(&flow, &store, run_id).await;

    let forked = flow.fork(&store, run_id, 1).run_id(fork_id).await.unwrap();
    assert_eq!(forked.waiting().map(Waiting::run_id), Some(fork_id));
    let done = flow.resume_with(&store, fork_id, false).await.unwrap();
    assert_eq!(done.finished().as_deref(), Some("rejected"));

    // The original still waits.
    let latest = store.latest(run_id).await.unwrap();
    assert_eq!(latest.status.name(), "waiting");
    assert_eq!(store.history(run_id).await.unwrap().len(), 1);
}

#[test]
fn the_diagrams_show_where_a_run_can_wait() {
    assert!(
        Post::<typedflow::NoHook>::MERMAID.contains(r#"n1{{"review: waits for Approval"}}"#),
        "{}",
        Post::<typedflow::NoHook>::MERMAID
    );
    assert!(
        Post::<typedflow::NoHook>::DOT
            .contains(r#"n1 [shape=hexagon, label="review: waits for Approval"];"#),
        "{}",
        Post::<typedflow::NoHook>::DOT
    );
    assert!(Post::<typedflow::NoHook>::MERMAID.contains(r#"n0["write"]"#));
}

/// An interrupt after a fan-out's join, and one straight before `END`: the flow's output
/// is then the question and its answer.
mod shapes {
    use super::*;

    #[node]
    async fn split(topic: String) -> String {
        topic
    }

    #[node]
    async fn pros(topic: String) -> String {
        format!("{topic} is fast")
    }

    #[node]
    async fn cons(topic: String) -> String {
        format!("{topic} is strict")
    }

    #[node]
    async fn weigh((pros, cons): (String, String)) -> Approval {
        Approval {
            draft: format!("{pros}; {cons}"),
        }
    }

    graph! {
        #[flow(durable)]
        Weigh(String) -> Answered<Approval, bool> {
            interrupt sign_off: Approval => bool;
            START -> split -> (pros, cons) -> weigh -> sign_off -> END;
        }
    }

    #[tokio::test]
    async fn an_interrupt_after_a_join_and_before_the_end() {
        let (store, run_id) = (MemoryStore::new(), RunId::from_u64(10));
        let flow = Weigh::new(());
        let first = flow
            .run("rust".into())
            .checkpoint(&store)
            .run_id(run_id)
            .await
            .unwrap();
        let waiting = first.waiting().expect("waits after the join");
        assert_eq!(
            waiting.question::<Approval>().map(|q| q.draft.as_str()),
            Some("rust is fast; rust is strict")
        );
        let done = flow.resume_with(&store, run_id, true).await.unwrap();
        let answered = done.finished().expect("ends after the answer");
        assert!(answered.answer);
        assert_eq!(answered.question.draft, "rust is fast; rust is strict");
        assert_eq!(
            store.latest(run_id).await.unwrap().status,
            RunStatus::Finished
        );
    }
}

#[tokio::test]
async fn the_event_stream_shows_the_wait_then_a_run_that_ended_without_an_error() {
    use futures_util::StreamExt;
    use typedflow::events::Event;

    let (store, flow, run_id) = (
        MemoryStore::new(),
        Post::new(Log::default()),
        RunId::from_u64(11),
    );
    let mut stream = flow
        .run("rust".into())
        .checkpoint(&store)
        .run_id(run_id)
        .stream();
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        events.push(event);
    }
    let outcome = stream.output().await.unwrap();
    assert!(outcome.waiting().is_some());
    let waited = events.iter().position(|e| {
        matches!(
            e,
            Event::Waiting {
                node: "review",
                step: 2,
                question: "Approval"
            }
        )
    });
    let finished = events
        .iter()
        .position(|e| matches!(e, Event::RunFinished { error: None, .. }));
    assert!(
        matches!((waited, finished), (Some(w), Some(f)) if w + 1 == f),
        "{events:?}"
    );
}

#[tokio::test]
async fn an_answer_as_json_resumes_the_run_and_one_that_does_not_fit_saves_nothing() {
    let (store, flow, run_id) = (MemoryStore::new(), Review::new(()), RunId::from_u64(12));
    let first = flow
        .run(Approval {
            draft: "draft".into(),
        })
        .checkpoint(&store)
        .run_id(run_id)
        .await
        .unwrap();
    assert!(first.waiting().is_some());

    // `approve` takes a bool: a string does not fit, and nothing is saved.
    let wrong = flow.resume_with_json(&store, run_id, r#""yes""#).await;
    match wrong {
        Err(FlowError::Durable {
            source: DurableError::Decode {
                step: 0, reason, ..
            },
            ..
        }) => {
            assert!(reason.starts_with("the answer does not fit"), "{reason}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert_eq!(store.history(run_id).await.unwrap().len(), 1);

    let second = flow.resume_with_json(&store, run_id, "true").await.unwrap();
    assert_eq!(second.waiting().map(Waiting::interrupt), Some("edit"));
    let done = flow
        .resume_with_json(&store, run_id, r#""final""#)
        .await
        .unwrap();
    assert_eq!(done.finished().as_deref(), Some("final"));

    let again = flow.resume_with_json(&store, run_id, "true").await;
    assert!(
        matches!(
            &again,
            Err(FlowError::Durable {
                source: DurableError::NotWaiting { .. },
                ..
            })
        ),
        "{again:?}"
    );
}

#[tokio::test]
async fn generic_code_sees_every_durable_run_as_an_outcome() {
    use typedflow::durable::DurableFlow;

    async fn finish<F: DurableFlow>(
        flow: &F,
        store: &MemoryStore,
        input: F::Input,
    ) -> Option<F::Output> {
        let output = flow.run(input).checkpoint(store).await.ok()?;
        F::outcome(output).finished()
    }
    let store = MemoryStore::new();
    // A flow with an interrupt waits; one without finishes.
    assert!(
        finish(&Post::new(Log::default()), &store, "rust".into())
            .await
            .is_none()
    );
    assert_eq!(
        finish(&shapes_free::Plain::new(()), &store, 2).await,
        Some(3)
    );
}

mod shapes_free {
    use super::*;

    #[node]
    async fn inc(x: u32) -> u32 {
        x + 1
    }

    graph! {
        #[flow(durable)]
        pub Plain(u32) -> u32 {
            START -> inc -> END;
        }
    }
}

#[tokio::test]
async fn the_program_that_owns_the_flow_reads_each_checkpoint_as_its_typed_state() {
    let (store, flow, run_id) = (
        MemoryStore::new(),
        Post::new(Log::default()),
        RunId::from_u64(13),
    );
    wait(&flow, &store, run_id).await;
    let done = flow.resume_with(&store, run_id, true).await.unwrap();
    assert!(done.finished().is_some());

    let history = store.history(run_id).await.unwrap();
    match PostState::from_checkpoint(&history[0]).unwrap() {
        PostState::Review(question) => assert_eq!(question.draft, "all about rust"),
        other => panic!("expected the interrupt's state, got `{}`", other.node()),
    }
    match PostState::from_checkpoint(&history[1]).unwrap() {
        PostState::Publish(answered) => assert!(answered.answer),
        other => panic!("expected `publish`'s state, got `{}`", other.node()),
    }
    // The end holds the output, not a state; another flow's checkpoint is refused.
    assert!(matches!(
        PostState::from_checkpoint(&history[2]),
        Err(DurableError::Finished { .. })
    ));
    assert!(matches!(
        GateState::from_checkpoint(&history[0]),
        Err(DurableError::OtherFlow { .. })
    ));
}

/// `Metered` counts a run that stops to wait in `flow_waits_total{flow, node}`, and the
/// run itself as ended well.
#[cfg(feature = "metrics")]
#[test]
fn a_wait_is_counted_under_its_interrupt() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let flow = Post::new(Log::default()).with_hook(typedflow::telemetry::Metered);
    let store = MemoryStore::new();
    metrics::with_local_recorder(&recorder, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        for topic in ["a", "b"] {
            let out = rt.block_on(flow.run(topic.into()).checkpoint(&store).into_future());
            assert!(matches!(out, Ok(Outcome::Waiting(_))));
        }
    });
    let counters: Vec<(String, u64)> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| {
            let DebugValue::Counter(n) = value else {
                return None;
            };
            let labels: Vec<String> = key
                .key()
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            Some((format!("{}{{{}}}", key.key().name(), labels.join(",")), n))
        })
        .collect();
    assert!(
        counters.contains(&("flow_waits_total{flow=Post,node=review}".to_owned(), 2)),
        "{counters:?}"
    );
    assert!(
        counters.contains(&("flow_runs_total{flow=Post,outcome=ok}".to_owned(), 2)),
        "{counters:?}"
    );
}
