//! A map as a branch of a fan-out, `split -> ([worker; 4], other) -> join`, and a map inside
//! a branch path: results in input order, the map's bound, its failure semantics inside the
//! fan-out (the first failure ends the whole fan-out at once), error edges per item, and
//! its nodes as hooks, events and the graph's description see them. On tokio's paused
//! clock.

#![allow(clippy::unwrap_used)] // reason: test helpers outside #[test] fns

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::time::{Instant, sleep};
use typedflow::events::Event;
use typedflow::prelude::*;
use typedflow::{EdgeKind, Endpoint, Failed};

#[derive(Default)]
struct Gauge {
    now: AtomicU32,
    max: AtomicU32,
}

#[derive(Deps, Default)]
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
async fn count(values: Vec<u32>) -> usize {
    sleep(Duration::from_millis(150)).await;
    values.len()
}

#[node]
async fn pair((squares, n): (Vec<u32>, usize)) -> (Vec<u32>, usize) {
    (squares, n)
}

#[flow(deps = MapDeps)]
graph! {
    MapBranch(u32) -> (Vec<u32>, usize) {
        START -> items -> ([square; 3], count) -> pair -> END;
    }
}

#[tokio::test(start_paused = true)]
async fn a_map_branch_keeps_input_order_and_its_bound_beside_the_other_branch() {
    let flow = MapBranch::new(MapDeps::default());
    let start = Instant::now();
    let (squares, n) = flow.run(6).await.unwrap();
    assert_eq!(squares, [1, 4, 9, 16, 25, 36]);
    assert_eq!(n, 6);
    assert_eq!(flow.deps().gauge.max.load(Ordering::SeqCst), 3);
    // Items 1-3 take 99, 98, 97 ms; 4-6 start as those end and take 96-94 ms: about
    // 193 ms for the map, beside `count`'s 150 ms: the branches overlap.
    assert_eq!(start.elapsed(), Duration::from_millis(193));
}

#[node]
async fn stall_or_fail(x: u32) -> Result<u32, std::io::Error> {
    match x {
        // The first item never finishes: neither the map nor the fan-out waits for it.
        1 => std::future::pending().await,
        2 => {
            sleep(Duration::from_millis(5)).await;
            Err(std::io::Error::other("2 failed"))
        }
        _ => Ok(x),
    }
}

#[node]
async fn forever(values: Vec<u32>) -> usize {
    std::future::pending::<()>().await;
    values.len()
}

#[node]
async fn pair_u32((values, n): (Vec<u32>, usize)) -> usize {
    values.len() + n
}

graph! {
    FailInBranch(u32) -> usize {
        START -> items -> ([stall_or_fail; 2], forever) -> pair_u32 -> END;
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_item_ends_the_fan_out_at_once_dropping_the_rest() {
    let flow = FailInBranch::new(());
    let start = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(60), flow.run(5))
        .await
        .expect("the fan-out fails without waiting for the stalled item or branch")
        .unwrap_err();
    assert_eq!(err.node(), Some("stall_or_fail"));
    assert_eq!(err.node_error().unwrap().to_string(), "2 failed");
    assert_eq!(start.elapsed(), Duration::from_millis(5));
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
async fn dead_letter(failed: Failed<u32, std::io::Error>, seen: &Mutex<Vec<u32>>) -> u32 {
    assert_eq!(failed.node, "check");
    seen.lock().unwrap().push(1000 + failed.input);
    0
}

#[node]
async fn size(values: Vec<u32>) -> usize {
    values.len()
}

#[flow(deps = MapDeps)]
graph! {
    DeadLetterBranch(u32) -> (Vec<u32>, usize) {
        START -> items -> ([check; 4], size) -> pair -> END;
        check !-> dead_letter;
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_item_of_a_map_branch_reaches_its_error_edge_once() {
    let flow = DeadLetterBranch::new(MapDeps::default());
    let (values, n) = flow.run(7).await.unwrap();
    assert_eq!(values, [1, 2, 0, 4, 5, 0, 7]);
    assert_eq!(n, 7);
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
    assert_eq!(letters, [1003, 1006]);
}

#[node]
async fn words(text: String) -> Vec<String> {
    text.split(' ').map(str::to_owned).collect()
}

#[node]
async fn measure(word: String) -> usize {
    // Longer words finish sooner: the order of the results is the input's, not theirs.
    sleep(Duration::from_millis(100 - word.len() as u64)).await;
    word.len()
}

#[node]
async fn lengths(lengths: Vec<usize>) -> Vec<usize> {
    lengths
}

#[node]
async fn shout(text: String) -> String {
    text.to_uppercase()
}

#[node]
async fn summary((lengths, loud): (Vec<usize>, String)) -> String {
    format!("{lengths:?} {loud}")
}

graph! {
    MapInPath(String) -> String {
        START -> (words -> [measure; 2] -> lengths, shout) -> summary -> END;
    }
}

#[tokio::test(start_paused = true)]
async fn a_map_inside_a_branch_path_runs_between_its_neighbours() {
    let flow = MapInPath::new(());
    assert_eq!(
        flow.run("a bbb cc".into()).await.unwrap(),
        "[1, 3, 2] A BBB CC"
    );
}

#[tokio::test(start_paused = true)]
async fn the_nodes_of_a_map_branch_are_seen_by_the_event_stream_once_per_item() {
    let flow = MapInPath::new(());
    let events: Vec<_> = flow.run("x yy".into()).stream().collect().await;
    let started: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::NodeStarted { node, .. } => Some(*node),
            _ => None,
        })
        .collect();
    // The first branch runs until it waits (in `measure`) before the second starts.
    assert_eq!(
        started,
        ["words", "measure", "measure", "shout", "lengths", "summary"]
    );
    let finished = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::NodeFinished {
                    node: "measure",
                    error: None,
                    ..
                }
            )
        })
        .count();
    assert_eq!(finished, 2);
}

#[test]
fn the_graph_describes_a_map_branch_and_a_map_in_a_path() {
    let edges = |g: &typedflow::GraphInfo| -> Vec<(Endpoint, Endpoint, EdgeKind)> {
        g.edges.iter().map(|e| (e.from, e.to, e.kind)).collect()
    };
    use typedflow::Endpoint::{End, Node, Start};
    assert_eq!(
        edges(MapBranch::GRAPH),
        [
            (Start, Node("items"), EdgeKind::Plain),
            (Node("items"), Node("square"), EdgeKind::Map { limit: 3 }),
            (Node("items"), Node("count"), EdgeKind::Branch),
            (Node("square"), Node("pair"), EdgeKind::Join),
            (Node("count"), Node("pair"), EdgeKind::Join),
            (Node("pair"), End, EdgeKind::Plain),
        ]
    );
    assert_eq!(
        edges(MapInPath::GRAPH),
        [
            (Start, Node("words"), EdgeKind::Branch),
            (Start, Node("shout"), EdgeKind::Branch),
            (Node("words"), Node("measure"), EdgeKind::Map { limit: 2 }),
            (Node("measure"), Node("lengths"), EdgeKind::Collect),
            (Node("lengths"), Node("summary"), EdgeKind::Join),
            (Node("shout"), Node("summary"), EdgeKind::Join),
            (Node("summary"), End, EdgeKind::Plain),
        ]
    );
    insta::assert_snapshot!("map_branch_mermaid", MapBranch::MERMAID);
    insta::assert_snapshot!("map_in_path_mermaid", MapInPath::MERMAID);
    insta::assert_snapshot!("dead_letter_branch_dot", DeadLetterBranch::DOT);
}
