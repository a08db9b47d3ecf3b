//! A typed graph with a route, a loop, an alias, dependencies, the run context, and a
//! run timeout: the essay writer of the README.
use std::sync::atomic::{AtomicU32, Ordering};

use typedflow::prelude::*;

#[derive(Debug, Clone)]
pub struct Draft {
    pub text: String,
    pub revisions: u32,
}

pub enum Verdict {
    Revise(Draft),
    Accept(Draft),
}

pub struct Llm {
    pub calls: AtomicU32,
}

#[derive(Deps)]
pub struct AppDeps {
    pub llm: Llm,
}

#[node]
pub async fn outline(topic: String) -> String {
    format!("outline: {topic}")
}

#[node]
pub async fn write(outline: String, llm: &Llm, cx: &Context) -> Result<Draft, std::io::Error> {
    llm.calls.fetch_add(1, Ordering::Relaxed);
    Ok(Draft { text: format!("{outline} @{}", cx.step()), revisions: 0 })
}

#[node]
pub async fn review(draft: Draft) -> Verdict {
    if draft.revisions < 2 { Verdict::Revise(draft) } else { Verdict::Accept(draft) }
}

#[node]
pub async fn revise(mut draft: Draft) -> Draft {
    draft.revisions += 1;
    draft
}

#[flow(max_steps = 50, timeout = 5m, name = "essay", deps = Llm)]
graph! {
    /// Writes an essay.
    pub Essay(String) -> Draft {
        node polish = revise;
        START -> outline -> write -> review;
        review => {
            Verdict::Revise -> polish,
            Verdict::Accept -> END,
        }
        polish -> review;
    }
}

#[flow(deps = AppDeps)]
graph! {
    pub Essay2(String) -> Draft {
        START -> outline -> write -> revise -> END;
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let draft = rt.block_on(Essay::new(Llm { calls: AtomicU32::new(0) }).run("rust".into()).into_future()).unwrap();
    assert_eq!(draft.revisions, 2);
    let deps = AppDeps { llm: Llm { calls: AtomicU32::new(0) } };
    let draft = rt.block_on(Essay2::new(deps).run("rust".into()).into_future()).unwrap();
    assert_eq!(draft.revisions, 1);
    assert!(Essay::MERMAID.contains("review"));
    assert_eq!(Essay::NAME, "essay");
}
