//! Essay: outline a topic, write, review and revise until the reviewer accepts, with
//! retries and a timeout on the model calls.
//!
//! ```text
//! cargo run --example essay -- "the borrow checker"
//! ```
//!
//! Offline by default: a scripted model plays every role and answers what it is sent
//! (its first draft misses a point, the reviewer notices). With `OPENAI_API_KEY` or
//! `OPENAI_BASE_URL` (any OpenAI-compatible server), or `ANTHROPIC_API_KEY`, a real
//! model does; see docs/providers.md.

use typedflow::Report;
use typedflow_examples::essay::{self, Essay, EssayDeps};
use typedflow_examples::llm::model_from_env;
use typedflow_examples::progress::{Progress, run_with_progress};

/// Errors come out as sentences with their causes (`Report`), not as a `Debug` dump.
#[tokio::main]
async fn main() -> Result<(), Report> {
    let mut topic = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    if topic.trim().is_empty() {
        topic = "compile-time checked workflows".to_owned();
    }
    let (llm, which) = model_from_env(essay::scripted)?;
    println!("model: {which}");

    let flow = Essay::new(EssayDeps { llm });
    let mut progress = Progress::stderr();
    let draft = run_with_progress(&flow, topic, "essay", &mut progress).await?;

    println!("outline:");
    for point in &draft.outline.points {
        println!("  - {point}");
    }
    println!(
        "\nessay, after {} revision(s):\n\n{}",
        draft.revisions, draft.text
    );
    Ok(())
}
