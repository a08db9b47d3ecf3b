//! Fan-out and join, maps, and error edges: concurrency on tokio's paused clock, the
//! order of results, and that failed inputs reach their handlers, all of them, once.

#![allow(clippy::unwrap_used)] // reason: test helpers outside #[test] fns

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::time::{Instant, sleep};
use typedflow::prelude::*;
use typedflow::{EdgeKind, Endpoint, Failed};

// -- fan-out and join -------------------------------------------------------------

#[node]
async fn split(topic: String) -> String {
    topic
}

#[node]
async fn summary(topic: String) -> String {
    sleep(Duration::from_secs(1)).await;
    format!("summary of {topic}")
}

#[node]
async fn length(topic: String) -> usize {
    sleep(Duration::from_secs(1)).await;
    topic.len()
}

#[node]
async fn shout(topic: String) -> String {
    sleep(Duration::from_secs(1)).await;
    topic.to_uppercase()
}

#[node]
async fn join((summary, length, shout): (String, usize, String)) -> String {
    format!("{summary} | {length} | {shout}")
}

graph! {
    Fan(String) -> String {
        START -> split -> (summary, length, shout) -> join -> END;
    }
}

#[tokio::test(start_paused = true)]
async fn branches_overlap_in_time_and_join_in_declared_order() {
    let start = Instant::now();
    let out = Fan::new(()).run("rust".into()).await.unwrap();
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(1),
        "three 1 s branches take 1 s, not 3 s"
    );
    assert_eq!(out, "summary of rust | 4 | RUST");
}

#[node]
async fn good(x: u32) -> Result<u32, std::io::Error> {
    sleep(Duration::from_secs(5)).await;
    Ok(x)
}

#[node]
async fn bad(x: u32) -> Result<u32, std::io::Error> {
    sleep(Duration::from_secs(1)).await;
    Err(std::io::Error::other(format!("bad {x}")))
}

#[node]
async fn pair((a, b): (u32, u32)) -> u32 {
    a + b
}

#[node]
async fn start(x: u32) -> u32 {
    x
}

graph! {
    FailingBranch(u32) -> u32 {
        START -> start -> (good, bad) -> pair -> END;
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_branch_fails_the_join_at_once() {
    let begin = Instant::now();
    let err = FailingBranch::new(()).run(7).await.unwrap_err();
    assert_eq!(err.node(), Some("bad"));
    assert_eq!(err.node_error().unwrap().to_string(), "bad 7");
    // The other branch is dropped, not waited for.
    assert_eq!(begin.elapsed(), Duration::from_secs(1));
}

#[node]
async fn bad2(x: u32) -> Result<u32, std::io::Error> {
    Err(std::io::Error::other(format!("bad {x}")))
}

#[node]
async fn stand_in(failed: Failed<u32, std::io::Error>) -> u32 {
    failed.input * 100
}

graph! {
    RecoveredBranch(u32) -> u32 {
        START -> start -> (good, bad2) -> pair -> END;
        bad2 !-> stand_in;
    }
}

#[tokio::test(start_paused = true)]
async fn a_branch_error_edge_stands_in_for_the_branch() {
    assert_eq!(RecoveredBranch::new(()).run(3).await.unwrap(), 3 + 300);
}

// -- maps -------------------------------------------------------------------------

#[derive(Default)]
struct Gauge {
    now: AtomicU32,
    max: AtomicU32,
}

#[derive(Deps)]
struct MapDeps {
    gauge: Gauge,
    seen: Mutex<Vec<u32>>,
}

#[node]
async fn items(n: u32) -> Vec<u32> {
    (1..=n).collect()
}

#[node]
async fn square(x: u32, gauge: &Gauge) -> u32 {
    let now = gauge.now.fetch_add(1, Ordering::SeqCst) + 1;
    gauge.max.fetch_max(now, Ordering::SeqCst);
    // Later items finish sooner, so completion order differs from input order.
    sleep(Duration::from_millis(u64::from(100 - x))).await;
    gauge.now.fetch_sub(1, Ordering::SeqCst);
    x * x
}

#[node]
async fn total(squares: Vec<u32>) -> (u32, Vec<u32>) {
    (squares.iter().sum(), squares)
}

#[flow(deps = MapDeps)]
graph! {
    Squares(u32) -> (u32, Vec<u32>) {
        START -> items -> [square; 3] -> total -> END;
    }
}

fn map_deps() -> MapDeps {
    MapDeps {
        gauge: Gauge::default(),
        seen: Mutex::default(),
    }
}

#[tokio::test(start_paused = true)]
async fn a_map_keeps_input_order_and_its_bound() {
    let flow = Squares::new(map_deps());
    let (sum, squares) = flow.run(10).await.unwrap();
    assert_eq!(squares, [1, 4, 9, 16, 25, 36, 49, 64, 81, 100]);
    assert_eq!(sum, 385);
    assert_eq!(
        flow.deps().gauge.max.load(Ordering::SeqCst),
        3,
        "never more than 3 at once"
    );
}

#[node]
async fn check(x: u32, seen: &Mutex<Vec<u32>>) -> Result<u32, std::io::Error> {
    seen.lock().unwrap().push(x);
    sleep(Duration::from_millis(10)).await;
    if x.is_multiple_of(3) {
        Err(std::io::Error::other(format!("{x} is a multiple of 3")))
    } else {
        Ok(x)
    }
}

#[node]
async fn keep(values: Vec<u32>) -> Vec<u32> {
    values
}

#[flow(deps = MapDeps)]
graph! {
    FailFast(u32) -> Vec<u32> {
        START -> items -> [check; 2] -> keep -> END;
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_item_fails_the_map_and_starts_no_more_items() {
    let flow = FailFast::new(map_deps());
    let err = flow.run(10).await.unwrap_err();
    assert_eq!(err.node(), Some("check"));
    assert_eq!(
        err.node_error().unwrap().to_string(),
        "3 is a multiple of 3"
    );
    // 1 and 2 ran together, then 3 and 4; 3 failed: 5.. never started.
    assert_eq!(*flow.deps().seen.lock().unwrap(), [1, 2, 3, 4]);
}

#[node]
async fn stall_or_fail(x: u32) -> Result<u32, std::io::Error> {
    match x {
        // The first item never finishes: the map must not wait for it.
        1 => std::future::pending().await,
        2 => {
            sleep(Duration::from_millis(5)).await;
            Err(std::io::Error::other("2 failed"))
        }
        _ => Ok(x),
    }
}

#[flow(deps = MapDeps)]
graph! {
    NoWait(u32) -> Vec<u32> {
        START -> items -> [stall_or_fail; 2] -> keep -> END;
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_item_ends_the_map_at_once_whatever_its_position() {
    let flow = NoWait::new(map_deps());
    let start = tokio::time::Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(60), flow.run(5))
        .await
        .expect("the map fails without waiting for the stalled item")
        .unwrap_err();
    assert_eq!(err.node_error().unwrap().to_string(), "2 failed");
    assert_eq!(start.elapsed(), Duration::from_millis(5));
}

#[node]
async fn dead_letter(failed: Failed<u32, std::io::Error>, seen: &Mutex<Vec<u32>>) -> u32 {
    assert_eq!(failed.node, "check");
    assert_eq!(
        failed.error.to_string(),
        format!("{} is a multiple of 3", failed.input)
    );
    seen.lock().unwrap().push(1000 + failed.input);
    0
}

#[flow(deps = MapDeps)]
graph! {
    DeadLetter(u32) -> Vec<u32> {
        START -> items -> [check; 4] -> keep -> END;
        check !-> dead_letter;
    }
}

#[tokio::test(start_paused = true)]
async fn every_failed_item_reaches_the_error_edge_once() {
    let flow = DeadLetter::new(map_deps());
    let out = flow.run(10).await.unwrap();
    assert_eq!(out, [1, 2, 0, 4, 5, 0, 7, 8, 0, 10]);
    let mut letters: Vec<u32> = flow
        .deps()
        .seen
        .lock()
        .unwrap()
        .iter()
        .copied()
        .filter(|x| *x > 1000)
        .collect();
    letters.sort_unstable();
    assert_eq!(
        letters,
        [1003, 1006, 1009],
        "each failed item exactly once, none dropped"
    );
}

// -- error edges of steps -----------------------------------------------------------

#[node]
async fn parse(text: String) -> Result<u32, std::num::ParseIntError> {
    text.trim().parse()
}

#[node]
async fn double(n: u32) -> u32 {
    n * 2
}

#[node]
async fn rescue(failed: Failed<String, std::num::ParseIntError>) -> u32 {
    assert_eq!(failed.node, "parse");
    assert_eq!(failed.attempts, 1);
    failed.input.len() as u32
}

graph! {
    Rescue(String) -> u32 {
        START -> parse -> double -> END;
        parse !-> rescue;
        rescue -> double;
    }
}

#[tokio::test]
async fn a_step_error_edge_gets_the_failed_input_and_the_run_goes_on() {
    let flow = Rescue::new(());
    assert_eq!(flow.run("21".into()).await.unwrap(), 42);
    assert_eq!(flow.run("twenty".into()).await.unwrap(), 12);
}

#[test]
fn the_description_shows_every_shape() {
    let edges = |g: &typedflow::GraphInfo| -> Vec<String> {
        g.edges
            .iter()
            .map(|e| {
                let end = |p: Endpoint| match p {
                    Endpoint::Start => "START".to_owned(),
                    Endpoint::End => "END".to_owned(),
                    Endpoint::Node(n) => n.to_owned(),
                    _ => "?".to_owned(),
                };
                format!("{} -> {} {:?}", end(e.from), end(e.to), e.kind)
            })
            .collect()
    };
    assert_eq!(
        edges(Fan::GRAPH),
        [
            "START -> split Plain",
            "split -> summary Branch",
            "split -> length Branch",
            "split -> shout Branch",
            "summary -> join Join",
            "length -> join Join",
            "shout -> join Join",
            "join -> END Plain",
        ]
    );
    assert_eq!(
        edges(DeadLetter::GRAPH),
        [
            "START -> items Plain",
            "items -> check Map { limit: 4 }",
            "check -> keep Collect",
            "keep -> END Plain",
            "check -> dead_letter Error",
        ]
    );
    assert!(matches!(
        Rescue::GRAPH.edges.last().unwrap().kind,
        EdgeKind::Error
    ));
    insta::assert_snapshot!("fan_mermaid", Fan::MERMAID);
    insta::assert_snapshot!("dead_letter_mermaid", DeadLetter::MERMAID);
    insta::assert_snapshot!("rescue_dot", Rescue::DOT);
}

// -- shared state, merged ---------------------------------------------------------------

#[derive(Clone, Debug, Default, PartialEq, Merge)]
struct Research {
    #[merge(append)]
    notes: Vec<String>,
    #[merge(max)]
    confidence: u32,
    #[merge(min)]
    cost: u32,
    #[merge(keep_first)]
    question: String,
    #[merge(with = join_sources)]
    sources: String,
    #[merge(overwrite)]
    last: String,
    /// No attribute: merged three ways against the state before the fan-out.
    draft: u32,
}

fn join_sources(kept: &mut String, later: String) {
    kept.push('+');
    kept.push_str(&later);
}

#[node]
async fn ask(question: String) -> Research {
    Research {
        question,
        cost: 100,
        draft: 1,
        ..Research::default()
    }
}

#[node]
async fn search_web(mut r: Research) -> Research {
    // Finishes last: merge order must not follow completion order.
    sleep(Duration::from_secs(3)).await;
    r.notes.push("web".into());
    r.confidence = 5;
    r.cost = 30;
    r.question = "changed by web".into();
    r.sources = "web".into();
    r.last = "web".into();
    r
}

#[node]
async fn search_papers(mut r: Research) -> Research {
    sleep(Duration::from_secs(1)).await;
    r.notes.push("papers".into());
    r.confidence = 9;
    r.cost = 50;
    r.sources = "papers".into();
    r.last = "papers".into();
    // The only branch that writes `draft`: its write must survive the branch written
    // after it, which carries the stale 1.
    r.draft = 7;
    r
}

#[node]
async fn search_code(mut r: Research) -> Research {
    sleep(Duration::from_secs(2)).await;
    r.notes.push("code".into());
    r.confidence = 2;
    r.cost = 10;
    r.sources = "code".into();
    r.last = "code".into();
    r
}

#[node]
async fn answer(r: Research) -> Research {
    r
}

graph! {
    Investigate(String) -> Research {
        START -> ask -> {search_web, search_papers, search_code} -> answer -> END;
    }
}

#[tokio::test(start_paused = true)]
async fn merged_branches_combine_in_written_order_with_each_strategy() {
    let begin = Instant::now();
    let r = Investigate::new(()).run("why?".into()).await.unwrap();
    assert_eq!(begin.elapsed(), Duration::from_secs(3));
    assert_eq!(
        r.notes,
        ["web", "papers", "code"],
        "append, in written order"
    );
    assert_eq!(r.confidence, 9, "max");
    assert_eq!(r.cost, 10, "min");
    assert_eq!(
        r.question, "changed by web",
        "keep_first keeps the first branch's"
    );
    assert_eq!(
        r.sources, "web+papers+code",
        "a custom function, in written order"
    );
    assert_eq!(r.last, "code", "overwrite: the last written branch wins");
    assert_eq!(r.draft, 7, "three-way: one branch's change is kept");
    let kinds: Vec<_> = Investigate::GRAPH.edges.iter().map(|e| e.kind).collect();
    assert_eq!(kinds.iter().filter(|k| **k == EdgeKind::Merge).count(), 3);
}

#[derive(Clone, Debug, Default, PartialEq, Merge)]
struct Shared {
    x: u32,
}

#[node]
async fn start_shared(x: u32) -> Shared {
    Shared { x }
}

#[node]
async fn set_seven(mut s: Shared) -> Shared {
    s.x = 7;
    s
}

#[node]
async fn set_eight(mut s: Shared) -> Shared {
    s.x = 8;
    s
}

#[node]
async fn keep_shared(s: Shared) -> Shared {
    s
}

graph! {
    Clash(u32) -> Shared {
        START -> start_shared -> {set_seven, set_eight, keep_shared} -> keep_shared2 -> END;
        node keep_shared2 = keep_shared;
    }
}

#[tokio::test]
async fn two_branches_changing_one_field_differently_is_a_merge_conflict() {
    let err = Clash::new(()).run(1).await.unwrap_err();
    assert!(
        matches!(
            err,
            FlowError::MergeConflict {
                flow: "Clash",
                field: "x",
                branches: ["set_seven", "set_eight"],
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.kind(), typedflow::ErrorKind::MergeConflict);
    assert!(
        err.to_string().contains("give the field a strategy"),
        "{err}"
    );
    // A branch that writes the value the state already had changed nothing.
    assert_eq!(Clash::new(()).run(7).await.unwrap(), Shared { x: 8 });
}

// -- groups and maps right after START ----------------------------------------------------

#[flow(deps = MapDeps)]
graph! {
    /// The flow's input is the collection mapped over.
    SquareAll(Vec<u32>) -> (u32, Vec<u32>) {
        START -> [square; 2] -> total -> END;
    }
}

graph! {
    /// The flow's input fans out to every branch.
    Describe(String) -> String {
        START -> (summary, length, shout) -> join -> END;
    }
}

#[tokio::test(start_paused = true)]
async fn a_map_or_a_fan_out_can_start_a_flow() {
    let flow = SquareAll::new(map_deps());
    let (sum, squares) = flow.run(vec![3, 1, 2]).await.unwrap();
    assert_eq!((sum, squares), (14, vec![9, 1, 4]));
    assert_eq!(flow.deps().gauge.max.load(Ordering::SeqCst), 2);
    let kinds: Vec<_> = SquareAll::GRAPH.edges.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EdgeKind::Map { limit: 2 },
            EdgeKind::Collect,
            EdgeKind::Plain
        ]
    );
    let described = Describe::new(()).run("rust".into()).await.unwrap();
    assert!(described.starts_with("summary of rust"), "{described}");
    assert_eq!(Describe::GRAPH.entry, "summary");
}

// -- branches that are paths ------------------------------------------------------------

#[node]
async fn fetch_page(topic: String) -> String {
    sleep(Duration::from_secs(1)).await;
    format!("page about {topic}")
}

#[node]
async fn summarize_page(page: String) -> usize {
    sleep(Duration::from_secs(1)).await;
    page.len()
}

#[node]
async fn classify(topic: String) -> bool {
    sleep(Duration::from_secs(1)).await;
    topic.contains("rust")
}

#[node]
async fn report((words, rusty): (usize, bool)) -> String {
    format!("{words} chars, rust: {rusty}")
}

graph! {
    Paths(String) -> String {
        START -> split -> (fetch_page -> summarize_page, classify) -> report -> END;
    }
}

#[tokio::test(start_paused = true)]
async fn a_branch_may_be_a_path_whose_nodes_hooks_see() {
    use futures_util::StreamExt as _;
    let begin = Instant::now();
    let flow = Paths::new(());
    assert_eq!(
        flow.run("rust".into()).await.unwrap(),
        "15 chars, rust: true"
    );
    // The path takes 2 s beside a 1 s branch: 2 s in all, not 3.
    assert_eq!(begin.elapsed(), Duration::from_secs(2));
    let started: Vec<_> = flow
        .run("go".into())
        .stream()
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .filter_map(|e| match e {
            typedflow::events::Event::NodeStarted { node, .. } => Some(node),
            _ => None,
        })
        .collect();
    assert_eq!(
        started,
        [
            "split",
            "fetch_page",
            "classify",
            "summarize_page",
            "report"
        ]
    );
    let edges: Vec<_> = Paths::GRAPH
        .edges
        .iter()
        .map(|e| (e.from, e.to, e.kind))
        .collect();
    use typedflow::Endpoint::{End, Node, Start};
    assert_eq!(
        edges,
        [
            (Start, Node("split"), EdgeKind::Plain),
            (Node("split"), Node("fetch_page"), EdgeKind::Branch),
            (Node("split"), Node("classify"), EdgeKind::Branch),
            (Node("fetch_page"), Node("summarize_page"), EdgeKind::Plain),
            (Node("summarize_page"), Node("report"), EdgeKind::Join),
            (Node("classify"), Node("report"), EdgeKind::Join),
            (Node("report"), End, EdgeKind::Plain),
        ]
    );
    insta::assert_snapshot!("paths_mermaid", Paths::MERMAID);
}
