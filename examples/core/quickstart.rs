//! Quickstart: a typed graph with a route and a loop, run offline.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! An essay writer: outline a topic, write a draft, review it, and revise until the
//! reviewer accepts. The "model" is a deterministic stand-in, so the example runs with
//! no network and no API key.

use std::sync::atomic::{AtomicU32, Ordering};

use typedflow::Report;
use typedflow::prelude::*;

/// What the writer produces.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The essay so far.
    pub text: String,
    /// How many times it was revised.
    pub revisions: u32,
}

/// The reviewer's decision: each variant carries the draft on to its next node.
pub enum Verdict {
    /// Not good enough yet.
    Revise(Draft),
    /// Done.
    Accept(Draft),
}

/// A stand-in for a language model: it counts the calls made to it.
#[derive(Default)]
pub struct Model {
    calls: AtomicU32,
}

impl Model {
    fn complete(&self, prompt: &str) -> String {
        self.calls.fetch_add(1, Ordering::Relaxed);
        format!("[{prompt}]")
    }
}

/// The flow's dependencies: every `&T` a node takes comes from here.
#[derive(Deps)]
pub struct AppDeps {
    /// The model every writing node calls.
    pub model: Model,
    /// How many revisions the reviewer insists on.
    pub required_revisions: u32,
}

#[node]
async fn outline(topic: String) -> String {
    format!("intro, body and conclusion on {topic}")
}

#[node]
async fn write(outline: String, model: &Model) -> Result<Draft, std::io::Error> {
    let text = model.complete(&format!("write from: {outline}"));
    Ok(Draft { text, revisions: 0 })
}

#[node]
async fn review(draft: Draft, required_revisions: &u32) -> Verdict {
    if draft.revisions < *required_revisions {
        Verdict::Revise(draft)
    } else {
        Verdict::Accept(draft)
    }
}

#[node]
async fn revise(draft: Draft, model: &Model, cx: &Context) -> Draft {
    let text = model.complete(&format!("improve (step {}): {}", cx.step(), draft.text));
    Draft {
        text,
        revisions: draft.revisions + 1,
    }
}

#[flow(deps = AppDeps, max_steps = 50, timeout = 30s)]
graph! {
    /// Writes an essay, revising until the reviewer accepts it.
    pub Essay(String) -> Draft {
        START -> outline -> write -> review;
        review => {
            Verdict::Revise -> revise,
            Verdict::Accept -> END,
        }
        revise -> review;
    }
}

/// Errors come out as sentences with their causes (`Report`), not as a `Debug` dump.
#[tokio::main]
async fn main() -> Result<(), Report> {
    let essay = Essay::new(AppDeps {
        model: Model::default(),
        required_revisions: 2,
    });
    let draft = essay.run("compile-time checked graphs".to_owned()).await?;

    println!(
        "draft after {} revision(s):\n  {}\n",
        draft.revisions, draft.text
    );
    println!(
        "model calls: {}\n",
        essay.deps().model.calls.load(Ordering::Relaxed)
    );
    println!("the graph, as Mermaid:\n{}", Essay::MERMAID);
    Ok(())
}
