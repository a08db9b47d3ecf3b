//! A flow used as a node of another flow: typed like any node, run with the parent's
//! dependencies, its failures kept in the cause chain.

use std::error::Error as _;
use std::sync::atomic::{AtomicU32, Ordering};

use typedflow::prelude::*;

#[derive(Default)]
struct Llm {
    calls: AtomicU32,
}

#[derive(Deps, Default)]
struct AppDeps {
    llm: Llm,
    banned: String,
}

#[node]
async fn draft(topic: String, llm: &Llm) -> String {
    llm.calls.fetch_add(1, Ordering::Relaxed);
    format!("draft on {topic}")
}

#[node]
async fn polish(text: String, banned: &String) -> Result<String, std::io::Error> {
    if text.contains(banned.as_str()) {
        return Err(std::io::Error::other(format!("`{banned}` is not allowed")));
    }
    Ok(format!("{text}, polished"))
}

#[flow(deps = AppDeps, max_steps = 5)]
graph! {
    /// The inner flow.
    Write(String) -> String {
        START -> draft -> polish -> END;
    }
}

#[node]
async fn topics(line: String) -> Vec<String> {
    line.split(',').map(|t| t.trim().to_owned()).collect()
}

#[node]
async fn bind(sections: Vec<String>) -> String {
    sections.join("; ")
}

#[flow(deps = AppDeps)]
graph! {
    /// The outer flow: the inner one mapped over every topic.
    Book(String) -> String {
        START -> topics -> [Write; 2] -> bind -> END;
    }
}

#[node]
async fn title(topic: String) -> String {
    topic.to_uppercase()
}

#[flow(deps = AppDeps)]
graph! {
    Chapter(String) -> String {
        START -> title -> Write -> END;
    }
}

#[tokio::test]
async fn a_flow_runs_as_a_node_with_the_parents_dependencies() {
    let chapter = Chapter::new(AppDeps {
        banned: "spam".into(),
        ..AppDeps::default()
    });
    assert_eq!(
        chapter.run("rust".into()).await.unwrap(),
        "draft on RUST, polished"
    );
    assert_eq!(chapter.deps().llm.calls.load(Ordering::Relaxed), 1);

    let book = Book::new(AppDeps {
        banned: "spam".into(),
        ..AppDeps::default()
    });
    assert_eq!(
        book.run("macros, types, async".into()).await.unwrap(),
        "draft on macros, polished; draft on types, polished; draft on async, polished"
    );
    assert_eq!(book.deps().llm.calls.load(Ordering::Relaxed), 3);
}

#[tokio::test]
async fn an_inner_failure_keeps_its_cause_chain() {
    let chapter = Chapter::new(AppDeps {
        banned: "SPAM".into(),
        ..AppDeps::default()
    });
    let err = chapter.run("spam".into()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "flow `Chapter`: node `Write` failed at step 2 after 1 attempt(s)"
    );
    let inner = err.source().unwrap();
    assert_eq!(
        inner.to_string(),
        "flow `Write`: node `polish` failed at step 2 after 1 attempt(s)"
    );
    assert_eq!(inner.source().unwrap().to_string(), "`SPAM` is not allowed");
    let inner = inner.downcast_ref::<FlowError>().unwrap();
    assert_eq!(inner.node(), Some("polish"));
}

#[node]
async fn again(n: u32) -> u32 {
    n + 1
}

enum Lap {
    More(u32),
    Done(u32),
}

#[node]
async fn lap(n: u32) -> Lap {
    if n < 100 { Lap::More(n) } else { Lap::Done(n) }
}

#[flow(max_steps = 10)]
graph! {
    /// Loops more often than its limit allows for small inputs.
    Spin(u32) -> u32 {
        START -> lap;
        lap => {
            Lap::More -> again,
            Lap::Done -> END,
        }
        again -> lap;
    }
}

#[node]
async fn start_at(n: u32) -> u32 {
    n
}

graph! {
    Outer(u32) -> u32 {
        START -> start_at -> Spin -> END;
    }
}

#[tokio::test]
async fn a_subgraphs_step_limit_is_told_apart_through_the_chain() {
    let err = Outer::new(()).run(0).await.unwrap_err();
    // The parent failed at its node `Spin`; the cause is the subgraph's own limit.
    assert!(
        matches!(err, FlowError::Node { node: "Spin", .. }),
        "{err:?}"
    );
    assert!(err.is_step_limit());
    assert!(!err.is_timeout() && !err.is_cancelled() && !err.is_merge_conflict());
    assert!(matches!(
        err.innermost(),
        FlowError::StepLimit {
            flow: "Spin",
            max_steps: 10,
            ..
        }
    ));
    // A node's own error is not a limit.
    let chapter = Chapter::new(AppDeps {
        banned: "SPAM".into(),
        ..AppDeps::default()
    });
    let err = chapter.run("spam".into()).await.unwrap_err();
    assert!(!err.is_step_limit());
    assert_eq!(err.innermost().node(), Some("polish"));
}

#[test]
fn a_flow_is_a_node_in_the_description() {
    assert_eq!(<Write as Node>::NAME, "Write");
    let names: Vec<_> = Chapter::GRAPH.nodes.iter().map(|n| n.name).collect();
    assert_eq!(names, ["title", "Write"]);
}
