//! A subgraph's nodes are seen by the hooks of the flow that uses it: its event stream, a
//! recording hook and its spans see every inner node, named by its path from the outer
//! flow (`Write/draft`, `Chapter/Write/draft`, `intro/draft` under an alias), with the
//! inner flow's own context (its name and step count).

#![allow(clippy::unwrap_used)] // reason: test helpers outside #[test] fns

use core::future::Future;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt as _;
use typedflow::events::Event;
use typedflow::prelude::*;
use typedflow::{Context, NodeInfo};

#[node]
async fn draft(topic: String) -> String {
    format!("draft on {topic}")
}

#[node]
async fn polish(text: String) -> Result<String, std::io::Error> {
    if text.to_lowercase().contains("spam") {
        return Err(std::io::Error::other("spam is not allowed"));
    }
    Ok(format!("{text}, polished"))
}

graph! {
    Write(String) -> String {
        START -> draft -> polish -> END;
    }
}

#[node]
async fn title(topic: String) -> String {
    topic.to_uppercase()
}

graph! {
    Chapter(String) -> String {
        START -> title -> Write -> END;
    }
}

graph! {
    /// Two levels: `Chapter` runs `Write`.
    Book(String) -> String {
        START -> Chapter -> END;
    }
}

#[node]
async fn outline(topic: String) -> Vec<String> {
    vec![format!("{topic} 1"), format!("{topic} 2")]
}

#[node]
async fn bind((parts, intro): (Vec<String>, String)) -> String {
    format!("{intro} | {}", parts.join("; "))
}

graph! {
    /// A subgraph under an alias, and mapped as a fan-out branch.
    Anthology(String) -> String {
        node intro = Write;
        START -> (outline -> [Write; 2], intro) -> bind -> END;
    }
}

/// One node call as a hook sees it: the flow of its context, the node's name, the step.
type Call = (&'static str, &'static str, u32);

/// Records every node call it wraps.
#[derive(Clone, Default)]
struct Record(Arc<Mutex<Vec<Call>>>);

impl StepHook for Record {
    fn step<N: Node, F: Future<Output = Result<N::Output, N::Error>>>(
        &self,
        cx: &Context,
        node: &'static NodeInfo,
        call: F,
    ) -> impl Future<Output = F::Output> {
        self.0
            .lock()
            .unwrap()
            .push((cx.flow(), node.name, cx.step()));
        call
    }
}

fn started(events: &[Event]) -> Vec<(&'static str, u32)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::NodeStarted { node, step } => Some((*node, *step)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_event_stream_sees_a_subgraphs_nodes_by_their_path() {
    let flow = Chapter::new(());
    let mut stream = flow.run("rust".into()).stream();
    let events: Vec<_> = stream.by_ref().collect().await;
    // Each inner node is a step of the inner flow, which counts its own steps.
    assert_eq!(
        started(&events),
        [
            ("title", 1),
            ("Write", 2),
            ("Write/draft", 1),
            ("Write/polish", 2)
        ]
    );
    let finished: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::NodeFinished {
                node, error: None, ..
            } => Some(*node),
            _ => None,
        })
        .collect();
    assert_eq!(finished, ["title", "Write/draft", "Write/polish", "Write"]);
    assert!(matches!(
        events.last(),
        Some(Event::RunFinished { error: None, .. })
    ));
    assert_eq!(stream.output().await.unwrap(), "draft on RUST, polished");
}

#[tokio::test]
async fn an_inner_failure_is_seen_on_the_inner_node_and_on_the_subgraph() {
    let events: Vec<_> = Chapter::new(()).run("spam".into()).stream().collect().await;
    let failed: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::NodeFinished {
                node,
                error: Some(_),
                ..
            } => Some(*node),
            _ => None,
        })
        .collect();
    assert_eq!(failed, ["Write/polish", "Write"]);
}

#[tokio::test]
async fn a_recording_hook_sees_every_level_with_the_inner_context() {
    let record = Record::default();
    let book = Book::new(()).with_hook(record.clone());
    assert_eq!(
        book.run("go".into()).await.unwrap(),
        "draft on GO, polished"
    );
    assert_eq!(
        *record.0.lock().unwrap(),
        [
            ("Book", "Chapter", 1),
            ("Chapter", "Chapter/title", 1),
            ("Chapter", "Chapter/Write", 2),
            ("Write", "Chapter/Write/draft", 1),
            ("Write", "Chapter/Write/polish", 2),
        ]
    );
    // A hook of one run sees them too.
    let once = Record::default();
    Book::new(())
        .run("go".into())
        .hook(once.clone())
        .await
        .unwrap();
    assert_eq!(once.0.lock().unwrap().len(), 5);
}

#[tokio::test]
async fn an_aliased_or_mapped_subgraph_is_named_as_the_outer_flow_names_it() {
    let flow = Anthology::new(());
    let mut stream = flow.run("x".into()).stream();
    let events: Vec<_> = stream.by_ref().collect().await;
    let mut names: Vec<&str> = started(&events).into_iter().map(|(n, _)| n).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "Write",
            "Write",
            "Write/draft",
            "Write/draft",
            "Write/polish",
            "Write/polish",
            "bind",
            "intro",
            "intro/draft",
            "intro/polish",
            "outline",
        ]
    );
    assert!(matches!(
        events.last(),
        Some(Event::RunFinished { error: None, .. })
    ));
    assert_eq!(
        stream.output().await.unwrap(),
        "draft on x, polished | draft on x 1, polished; draft on x 2, polished"
    );
}

#[test]
fn a_flow_lists_the_nodes_it_runs_inside_itself() {
    assert_eq!(<Write as Node>::NESTED, ["draft", "polish"]);
    assert_eq!(
        <Chapter as Node>::NESTED,
        ["title", "Write", "Write/draft", "Write/polish"]
    );
    assert_eq!(
        <Book as Node>::NESTED,
        [
            "Chapter",
            "Chapter/title",
            "Chapter/Write",
            "Chapter/Write/draft",
            "Chapter/Write/polish"
        ]
    );
    assert_eq!(
        <Anthology as Node>::NESTED,
        [
            "outline",
            "Write",
            "intro",
            "bind",
            "Write/draft",
            "Write/polish",
            "intro/draft",
            "intro/polish"
        ]
    );
    assert!(<draft as Node>::NESTED.is_empty());
}

/// The `flow.node` spans as `node (flow) in parent-node`, in the order they open.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<String>>>);

#[derive(Default)]
struct SpanFields {
    flow: String,
    node: String,
}

impl tracing::field::Visit for SpanFields {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        match field.name() {
            "flow" => self.flow = value.to_owned(),
            "node" => self.node = value.to_owned(),
            _ => {}
        }
    }

    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
}

impl<S> tracing_subscriber::Layer<S> for Spans
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if attrs.metadata().name() != "flow.node" {
            return;
        }
        let mut fields = SpanFields::default();
        attrs.record(&mut fields);
        let parent = ctx
            .span(id)
            .and_then(|s| s.parent())
            .map(|p| {
                let mut outer = String::from(p.name());
                if let Some(f) = p.extensions().get::<String>() {
                    outer = f.clone();
                }
                outer
            })
            .unwrap_or_default();
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields.node.clone());
        }
        self.0
            .lock()
            .unwrap()
            .push(format!("{} ({}) in {parent}", fields.node, fields.flow));
    }
}

#[test]
fn the_spans_of_inner_nodes_nest_in_the_subgraphs_span() {
    use tracing_subscriber::layer::SubscriberExt as _;
    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    tracing::subscriber::with_default(subscriber, || {
        tracing::callsite::rebuild_interest_cache();
        let flow = Book::new(()).with_hook(typedflow::telemetry::Traced);
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(flow.run("go".into()).into_future())
            .unwrap();
    });
    assert_eq!(
        *spans.0.lock().unwrap(),
        [
            "Chapter (Book) in flow.run",
            "Chapter/title (Chapter) in Chapter",
            "Chapter/Write (Chapter) in Chapter",
            "Chapter/Write/draft (Write) in Chapter/Write",
            "Chapter/Write/polish (Write) in Chapter/Write",
        ]
    );
}

#[cfg(feature = "metrics")]
#[test]
fn the_metrics_of_inner_nodes_carry_the_outer_flow_and_the_path() {
    use metrics_util::debugging::DebuggingRecorder;

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let flow = Chapter::new(()).with_hook(typedflow::telemetry::Metered);
    metrics::with_local_recorder(&recorder, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(flow.run("go".into()).into_future())
            .unwrap();
    });
    let mut durations: Vec<String> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(key, ..)| key.key().name() == "flow_node_duration_seconds")
        .map(|(key, ..)| {
            let labels: Vec<String> = key
                .key()
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            labels.join(",")
        })
        .collect();
    durations.sort();
    assert_eq!(
        durations,
        [
            "flow=Chapter,node=Write",
            "flow=Chapter,node=Write/draft",
            "flow=Chapter,node=Write/polish",
            "flow=Chapter,node=title",
        ]
    );
}

// What a subgraph costs with no hook, and a hook that chooses not to see into it
// (`StepHook::start_nested`).
use typedflow::{NoHook, NodeFn, RunId, RunStart};

/// [`Record`], leaving out the nodes inside a subgraph: the subgraph's call is one step.
#[derive(Clone, Default)]
struct RecordOuter(Record);

impl StepHook for RecordOuter {
    fn step<N: Node, F: Future<Output = Result<N::Output, N::Error>>>(
        &self,
        cx: &Context,
        node: &'static NodeInfo,
        call: F,
    ) -> impl Future<Output = F::Output> {
        self.0.step::<N, F>(cx, node, call)
    }

    fn start_nested<T, S: RunStart<T>>(
        &self,
        _nested: &'static [NodeInfo],
        start: S,
    ) -> impl Future<Output = Result<T, FlowError>> {
        start.start(NoHook)
    }
}

#[tokio::test]
async fn a_hook_can_leave_a_subgraphs_nodes_out_and_a_hook_inside_it_still_sees_them() {
    let outer = RecordOuter::default();
    let inner = Record::default();
    let flow = Chapter::new(()).with_hook(outer.clone());
    let out = flow.run("go".into()).hook(inner.clone()).await.unwrap();
    assert_eq!(out, "draft on GO, polished");
    assert_eq!(
        *outer.0.0.lock().unwrap(),
        [("Chapter", "title", 1), ("Chapter", "Write", 2)]
    );
    assert_eq!(
        *inner.0.lock().unwrap(),
        [
            ("Chapter", "title", 1),
            ("Chapter", "Write", 2),
            ("Write", "Write/draft", 1),
            ("Write", "Write/polish", 2),
        ]
    );
}

/// The size of the future of one call of `Write` as a node, plain and under `hook`.
fn call_sizes<H: StepHook>(hook: &H) -> (usize, usize) {
    let state = <Write as Node>::state();
    let cx = Context::new("Chapter", RunId::from_u64(1));
    let plain = <Write as NodeFn<()>>::call(&(), &state, &cx, "x".into());
    let hooked = <Write as NodeFn<()>>::call_hooked(&(), &state, &cx, hook, &[], "x".into());
    (size_of_val(&plain), size_of_val(&hooked))
}

#[test]
fn with_no_hook_a_subgraph_call_is_its_plain_call() {
    // What a run that sets nothing hands its steps (`&NoHook`), and a pair of hooks that
    // both chose `NoHook` for a run: the hook chooses `NoHook` for the subgraph too, so
    // its call keeps nothing for a hook (`scripts/bench-steps.sh count` measures the rest).
    for (plain, hooked) in [
        call_sizes(&NoHook),
        call_sizes(&&NoHook),
        call_sizes(&(NoHook, &NoHook)),
    ] {
        assert_eq!(hooked, plain);
    }
    // A hook that sees the inner nodes is kept in the call, with their names.
    let (plain, hooked) = call_sizes(&Record::default());
    assert!(hooked > plain, "{hooked} > {plain}");
}

#[tokio::test]
async fn a_run_with_a_subgraph_can_be_spawned_whatever_its_hooks() {
    // The subgraph's run is started by the hook (`StepHook::start_nested`), in a future
    // of the hook's choosing: the run's future must stay `Send` when the hooks are.
    let plain = Chapter::new(());
    let seen = Chapter::new(()).with_hook(Record::default());
    let outer = Chapter::new(()).with_hook(RecordOuter::default());
    let runs = (
        tokio::spawn(async move { plain.run("a".into()).await }),
        tokio::spawn(async move { seen.run("b".into()).max_steps(9).await }),
        tokio::spawn(async move { outer.run("c".into()).hook(Record::default()).await }),
    );
    assert_eq!(runs.0.await.unwrap().unwrap(), "draft on A, polished");
    assert_eq!(runs.1.await.unwrap().unwrap(), "draft on B, polished");
    assert_eq!(runs.2.await.unwrap().unwrap(), "draft on C, polished");
}
