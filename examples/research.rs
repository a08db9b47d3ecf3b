//! Research: a model picks search terms, three searches run concurrently (over this
//! project's guides), a typed join takes their results as a tuple, and the model answers
//! citing its sources.
//!
//! ```text
//! cargo run --example research -- "How does retry backoff work with jitter?"
//! ```
//!
//! Offline by default: a scripted model searches for the question's own words and quotes
//! the best passages. With `OPENAI_API_KEY` or `OPENAI_BASE_URL` (any OpenAI-compatible
//! server), or `ANTHROPIC_API_KEY`, a real model does; see docs/providers.md.

use typedflow::Report;
use typedflow_examples::llm::model_from_env;
use typedflow_examples::progress::{Progress, run_with_progress};
use typedflow_examples::research::{self, Research, ResearchDeps};

/// Errors come out as sentences with their causes (`Report`), not as a `Debug` dump.
#[tokio::main]
async fn main() -> Result<(), Report> {
    let mut question = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    if question.trim().is_empty() {
        question = "How does retry backoff work with jitter?".to_owned();
    }
    let (llm, which) = model_from_env(research::scripted)?;
    println!("model: {which}");

    let flow = Research::new(ResearchDeps { llm });
    let mut progress = Progress::stderr();
    let report = run_with_progress(&flow, question, "research", &mut progress).await?;

    println!("question: {}\n", report.question);
    println!("{}\n", report.answer);
    println!("found:");
    for (source, passage) in &report.evidence {
        let short: String = passage.chars().take(100).collect();
        println!("  [{source}] {short}...");
    }
    Ok(())
}
