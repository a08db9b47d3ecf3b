//! End-to-end runs of generated flows: chains, routes, loops, dependencies, context,
//! errors and limits.

use std::sync::atomic::{AtomicU32, Ordering};

use typedflow::prelude::*;
use typedflow::{EdgeKind, Endpoint, NoHook, NodeInfo};

#[derive(Debug, Clone, PartialEq)]
struct Draft {
    text: String,
    revisions: u32,
}

enum Verdict {
    Revise(Draft),
    Accept(Draft),
}

struct Llm {
    calls: AtomicU32,
}

#[derive(Deps)]
struct AppDeps {
    llm: Llm,
    min_revisions: u32,
}

#[node]
async fn outline(topic: String) -> String {
    format!("outline of {topic}")
}

#[node]
async fn write(outline: String, llm: &Llm) -> Result<Draft, std::io::Error> {
    llm.calls.fetch_add(1, Ordering::Relaxed);
    Ok(Draft {
        text: format!("draft from {outline}"),
        revisions: 0,
    })
}

#[node]
async fn review(draft: Draft, min_revisions: &u32) -> Verdict {
    if draft.revisions < *min_revisions {
        Verdict::Revise(draft)
    } else {
        Verdict::Accept(draft)
    }
}

#[node]
async fn revise(mut draft: Draft, cx: &Context) -> Draft {
    draft.revisions += 1;
    draft.text = format!("{} (revised at step {})", draft.text, cx.step());
    draft
}

#[flow(max_steps = 20, deps = AppDeps)]
graph! {
    /// Writes an essay, revising until the reviewer accepts.
    Essay(String) -> Draft {
        START -> outline -> write -> review;
        review => {
            Verdict::Revise -> revise,
            Verdict::Accept -> END,
        }
        revise -> review;
    }
}

fn deps(min_revisions: u32) -> AppDeps {
    AppDeps {
        llm: Llm {
            calls: AtomicU32::new(0),
        },
        min_revisions,
    }
}

#[tokio::test]
async fn runs_a_route_and_a_loop() {
    let essay = Essay::new(deps(2));
    let draft = essay.run("rust".to_owned()).await.unwrap();
    assert_eq!(draft.revisions, 2);
    // outline(1) write(2) review(3) revise(4) review(5) revise(6) review(7)
    assert_eq!(
        draft.text,
        "draft from outline of rust (revised at step 4) (revised at step 6)"
    );
    assert_eq!(essay.deps().llm.calls.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn step_limit_ends_a_runaway_loop() {
    let essay = Essay::new(deps(1_000));
    let err = essay.run("rust".to_owned()).await.unwrap_err();
    assert!(
        matches!(err, FlowError::StepLimit { max_steps: 20, .. }),
        "{err:?}"
    );
    assert_eq!(err.flow(), "Essay");
    // 20 steps: outline, write, then review/revise alternating; the 21st would be review.
    assert_eq!(err.node(), Some("review"));
    assert!(err.to_string().contains("raise `max_steps`"), "{err}");
}

#[test]
fn describes_the_graph() {
    let g = Essay::GRAPH;
    assert_eq!(g.name, "Essay");
    assert_eq!(g.input, "String");
    assert_eq!(g.output, "Draft");
    assert_eq!(g.entry, "outline");
    assert_eq!(g.max_steps, 20);
    let names: Vec<_> = g.nodes.iter().map(|n: &NodeInfo| n.name).collect();
    assert_eq!(names, ["outline", "write", "review", "revise"]);
    assert_eq!(g.edges.len(), 6);
    assert_eq!(g.edges[0].from, Endpoint::Start);
    assert_eq!(g.edges[4].to, Endpoint::End);
    assert_eq!(g.edges[4].kind, EdgeKind::Route("Verdict::Accept"));
    let _: &Essay<NoHook> = &Essay::new(deps(0));
}

#[node]
async fn plus_one(x: u32) -> u32 {
    x + 1
}

#[node]
async fn times_two(x: u32) -> u32 {
    x * 2
}

#[node]
async fn minus_three(x: u32) -> u32 {
    x.saturating_sub(3)
}

enum Way {
    Short(u32),
    Long(u32),
}

#[node]
async fn pick(x: u32) -> Way {
    if x == 0 { Way::Short(x) } else { Way::Long(x) }
}

// Acyclic, its shortest path within the step limit (a shorter limit is a compile error),
// its longest beyond it: the limit must still hold on the long path.
#[flow(max_steps = 3)]
graph! {
    TooLong(u32) -> u32 {
        START -> pick;
        pick => {
            Way::Short -> END,
            Way::Long -> plus_one,
        }
        plus_one -> times_two -> minus_three -> END;
    }
}

graph! {
    Short(u32) -> u32 {
        START -> plus_one -> times_two -> minus_three -> END;
    }
}

#[tokio::test]
async fn step_limit_holds_for_acyclic_graphs_longer_than_it() {
    assert_eq!(TooLong::new(()).run(0).await.unwrap(), 0);
    let err = TooLong::new(()).run(1).await.unwrap_err();
    assert!(
        matches!(err, FlowError::StepLimit { max_steps: 3, .. }),
        "{err:?}"
    );
    assert_eq!(err.node(), Some("minus_three"));
    assert_eq!(Short::new(()).run(1).await.unwrap(), 1);
}

#[node]
async fn own_id(_x: u32, cx: &Context) -> u64 {
    // Let the task move to another worker between runs.
    tokio::task::yield_now().await;
    cx.run_id().as_u64()
}

graph! {
    Ids(u32) -> u64 {
        START -> own_id -> END;
    }
}

/// Runs spread over the worker threads and over more runs than one thread's block of
/// ids each get an id no other run of the instance has.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn run_ids_are_unique_across_threads() {
    let flow = std::sync::Arc::new(Ids::new(()));
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let flow = flow.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for _ in 0..3000 {
                    ids.push(flow.run(0).await.unwrap());
                }
                ids
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let unique: std::collections::HashSet<u64> = all.iter().copied().collect();
    assert_eq!(unique.len(), 12_000, "a run id repeated");
}
