//! The calls inside a fan-out or a map are saved one by one in a checkpointed run: a run
//! cut or failed in the middle of the step, then resumed, calls again only what had not
//! ended, and ends as a run never cut would.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use typedflow::checkpoint::{Checkpointer, MemoryStore, Part};
use typedflow::prelude::*;

/// What the nodes did, and how the next call of `y` or `work` behaves.
#[derive(Default, Deps)]
pub struct World {
    /// The calls.
    pub calls: Calls,
}

/// Every node call, and the switches the tests set.
#[derive(Default)]
pub struct Calls {
    log: Mutex<Vec<String>>,
    /// While set, `y` and the item `3` of `work` never end (a crash in the middle).
    hang: AtomicBool,
    /// While set, they fail.
    fail: AtomicBool,
}

/// The failure of `y` and `work` while `fail` is set.
#[derive(Debug, thiserror::Error)]
#[error("down for now")]
pub struct Down;

impl Calls {
    fn note(&self, call: String) {
        self.log.lock().expect("not poisoned").push(call);
    }

    /// How many times each call was made.
    fn counts(&self) -> BTreeMap<String, u32> {
        let mut counts = BTreeMap::new();
        for call in self.log.lock().expect("not poisoned").iter() {
            *counts.entry(call.clone()).or_insert(0) += 1;
        }
        counts
    }

    /// What `y` and the item `3` do: hang, fail, or go on, after letting the other
    /// calls of the step run first.
    async fn trouble(&self) -> Result<(), Down> {
        for _ in 0..16 {
            tokio::task::yield_now().await;
        }
        if self.hang.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        if self.fail.load(Ordering::SeqCst) {
            return Err(Down);
        }
        Ok(())
    }
}

#[node]
async fn prep(n: u32, calls: &Calls) -> Vec<u32> {
    calls.note("prep".into());
    (0..n).collect()
}

#[node]
async fn x(all: Vec<u32>, calls: &Calls) -> String {
    calls.note("x".into());
    format!("x{}", all.len())
}

#[node]
async fn y(s: String, calls: &Calls) -> Result<String, Down> {
    calls.note("y".into());
    calls.trouble().await?;
    Ok(format!("{s}y"))
}

#[node]
async fn z(all: Vec<u32>, calls: &Calls) -> u32 {
    calls.note("z".into());
    all.len() as u32 * 10
}

#[node]
async fn item(n: u32, calls: &Calls) -> u32 {
    calls.note(format!("item{n}"));
    n + 100
}

#[node]
async fn join(parts: (String, Vec<u32>, u32), calls: &Calls) -> String {
    calls.note("join".into());
    format!("{}|{:?}|{}", parts.0, parts.1, parts.2)
}

#[node]
async fn spread(n: u32, calls: &Calls) -> Vec<u32> {
    calls.note("spread".into());
    (0..n).collect()
}

graph! {
    #[flow(durable, deps = World)]
    Branches(u32) -> String {
        START -> prep -> (x -> y, [item; 2], z) -> join -> END;
    }
}

#[node]
async fn work(n: u32, calls: &Calls) -> Result<u32, Down> {
    calls.note(format!("work{n}"));
    if n == 3 {
        calls.trouble().await?;
    }
    Ok(n * 2)
}

#[node]
async fn sum(all: Vec<u32>, calls: &Calls) -> u32 {
    calls.note("sum".into());
    all.iter().sum()
}

graph! {
    #[flow(durable, deps = World)]
    Items(u32) -> u32 {
        START -> spread -> [work; 1] -> sum -> END;
    }
}

/// Runs `run` until it can go no further (a call hangs), then drops it: a crash.
async fn cut<R: IntoFuture>(run: R) {
    let cut = tokio::time::timeout(Duration::from_secs(1), run.into_future());
    assert!(cut.await.is_err(), "the run was cut");
}

fn counts(pairs: &[(&str, u32)]) -> BTreeMap<String, u32> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// The keys of the parts saved after step `step` of `run`.
async fn keys(store: &MemoryStore, run: RunId, step: u32) -> Vec<String> {
    let parts = store.parts(run, step).await.expect("the parts read");
    parts.into_iter().map(|p: Part| p.key).collect()
}

#[tokio::test(start_paused = true)]
async fn a_run_cut_inside_a_fan_out_resumes_without_calling_the_branch_nodes_that_had_ended() {
    let flow = Branches::new(World::default());
    let store = MemoryStore::new();
    let run = RunId::from_u64(1);
    flow.deps().calls.hang.store(true, Ordering::SeqCst);

    // Cut while `y` runs: everything else of the fan-out had ended.
    cut(flow.run(2).checkpoint(&store).run_id(run)).await;
    // Saved after step 1 (`prep`), as each ended: `x`, both items, `z`; not `y`.
    let mut saved = keys(&store, run, 1).await;
    saved.sort();
    assert_eq!(saved, ["0.0:x", "1.0:item#0", "1.0:item#1", "2.0:z"]);

    flow.deps().calls.hang.store(false, Ordering::SeqCst);
    let out = flow.resume(&store, run).await.expect("the run resumes");
    assert_eq!(out, "x2y|[100, 101]|20");
    // Only `y` ran again.
    let want = counts(&[
        ("prep", 1),
        ("x", 1),
        ("y", 2),
        ("item0", 1),
        ("item1", 1),
        ("z", 1),
        ("join", 1),
    ]);
    assert_eq!(flow.deps().calls.counts(), want);

    // The same as a run never cut.
    let fresh = Branches::new(World::default());
    assert_eq!(fresh.run(2).await.expect("a plain run"), out);
}

#[tokio::test]
async fn a_failed_fan_out_resumed_twice_calls_each_ended_branch_node_once() {
    let flow = Branches::new(World::default());
    let store = MemoryStore::new();
    let run = RunId::from_u64(2);
    flow.deps().calls.fail.store(true, Ordering::SeqCst);

    let err = flow
        .run(1)
        .checkpoint(&store)
        .run_id(run)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("`y`"), "{err}");
    // And again: the resumed run finds the first attempt's parts, and saves them after
    // its own checkpoint, so that a third attempt finds them too.
    flow.resume(&store, run).await.unwrap_err();
    flow.deps().calls.fail.store(false, Ordering::SeqCst);
    let out = flow.resume(&store, run).await.expect("the run resumes");
    assert_eq!(out, "x1y|[100]|10");
    let want = counts(&[
        ("prep", 1),
        ("x", 1),
        ("y", 3),
        ("item0", 1),
        ("z", 1),
        ("join", 1),
    ]);
    assert_eq!(flow.deps().calls.counts(), want);
}

#[tokio::test(start_paused = true)]
async fn a_run_cut_inside_a_map_resumes_with_only_the_items_that_had_not_ended() {
    let flow = Items::new(World::default());
    let store = MemoryStore::new();
    let run = RunId::from_u64(3);
    flow.deps().calls.hang.store(true, Ordering::SeqCst);

    // One item at a time: 0, 1 and 2 end and are saved, 3 hangs.
    cut(flow.run(5).checkpoint(&store).run_id(run)).await;
    assert_eq!(
        keys(&store, run, 1).await,
        ["[work]#0", "[work]#1", "[work]#2"]
    );

    flow.deps().calls.hang.store(false, Ordering::SeqCst);
    assert_eq!(flow.resume(&store, run).await.expect("resumed"), 20);
    let want = counts(&[
        ("spread", 1),
        ("work0", 1),
        ("work1", 1),
        ("work2", 1),
        ("work3", 2),
        ("work4", 1),
        ("sum", 1),
    ]);
    assert_eq!(flow.deps().calls.counts(), want);
}

#[tokio::test]
async fn a_part_that_no_longer_decodes_is_a_typed_error_and_saves_nothing() {
    let flow = Items::new(World::default());
    let store = MemoryStore::new();
    let run = RunId::from_u64(4);
    flow.deps().calls.fail.store(true, Ordering::SeqCst);
    flow.run(5)
        .checkpoint(&store)
        .run_id(run)
        .await
        .unwrap_err();

    // The same run in another store, where item 0's output is not a `u32`.
    let other = MemoryStore::new();
    let history = store.history(run).await.expect("a history");
    for cp in &history {
        other.save(cp).await.expect("copied");
    }
    let bad = Part::new("[work]#0", br#""not a number""#.to_vec());
    other.save_part(&history[0], &bad).await.expect("saved");

    flow.deps().calls.fail.store(false, Ordering::SeqCst);
    let err = flow.resume(&other, run).await.unwrap_err();
    let FlowError::Durable { source, .. } = &err else {
        panic!("not a durable error: {err}");
    };
    assert!(
        matches!(source, typedflow::durable::DurableError::Decode { run_id, step: 2, .. } if *run_id == run),
        "{source}"
    );
    assert!(
        source.to_string().contains("`[work]#0` does not fit"),
        "{source}"
    );
    // Nothing saved, and no node called: the part is read before the item would run.
    assert_eq!(other.history(run).await.expect("a history"), history);
    assert_eq!(flow.deps().calls.counts()["work0"], 1);
}

/// The state two branches change, merged.
#[derive(Clone, Debug, Default, PartialEq, Merge, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    /// Set by `left`.
    pub left: u32,
    /// Set by `right`.
    pub right: u32,
}

#[node]
async fn open(n: u32, calls: &Calls) -> Tally {
    calls.note("open".into());
    Tally { left: n, right: n }
}

#[node]
async fn left(mut t: Tally, calls: &Calls) -> Tally {
    calls.note("left".into());
    t.left += 1;
    t
}

#[node]
async fn right(mut t: Tally, calls: &Calls) -> Result<Tally, Down> {
    calls.note("right".into());
    calls.trouble().await?;
    t.right += 2;
    Ok(t)
}

#[node]
async fn close(t: Tally, calls: &Calls) -> (u32, u32) {
    calls.note("close".into());
    (t.left, t.right)
}

graph! {
    #[flow(durable, deps = World)]
    Merged(u32) -> (u32, u32) {
        START -> open -> {left, right} -> close -> END;
    }
}

#[tokio::test(start_paused = true)]
async fn a_run_cut_inside_a_merging_fan_out_merges_the_saved_branch_with_the_new_one() {
    let flow = Merged::new(World::default());
    let store = MemoryStore::new();
    let run = RunId::from_u64(5);
    flow.deps().calls.hang.store(true, Ordering::SeqCst);
    cut(flow.run(10).checkpoint(&store).run_id(run)).await;
    assert_eq!(keys(&store, run, 1).await, ["0.0:left"]);

    flow.deps().calls.hang.store(false, Ordering::SeqCst);
    assert_eq!(flow.resume(&store, run).await.expect("resumed"), (11, 12));
    let want = counts(&[("open", 1), ("left", 1), ("right", 2), ("close", 1)]);
    assert_eq!(flow.deps().calls.counts(), want);
}

graph! {
    #[flow(durable, deps = World)]
    Direct(Vec<u32>) -> u32 {
        START -> [work; 1] -> sum -> END;
    }
}

#[tokio::test(start_paused = true)]
async fn a_run_cut_in_its_first_step_and_started_again_under_its_id_reuses_the_ended_items() {
    let flow = Direct::new(World::default());
    let store = MemoryStore::new();
    let run = RunId::from_u64(6);
    flow.deps().calls.hang.store(true, Ordering::SeqCst);
    cut(flow.run(vec![1, 2, 3]).checkpoint(&store).run_id(run)).await;
    // No checkpoint yet: the items are saved after step 0, the run's start.
    assert!(store.latest(run).await.is_err());
    assert_eq!(keys(&store, run, 0).await, ["[work]#0", "[work]#1"]);

    flow.deps().calls.hang.store(false, Ordering::SeqCst);
    let again = flow.run(vec![1, 2, 3]).checkpoint(&store).run_id(run).await;
    assert_eq!(again.expect("the run ends"), 12);
    let want = counts(&[("work1", 1), ("work2", 1), ("work3", 2), ("sum", 1)]);
    assert_eq!(flow.deps().calls.counts(), want);
}
