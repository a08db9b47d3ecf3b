//! Triage: a model classifies each support ticket into a Rust enum, and the flow routes
//! it by variant: bugs to the tracker, billing to the billing team, questions answered.
//!
//! ```text
//! cargo run --example triage                                    # three sample tickets
//! cargo run --example triage -- "I was charged twice this month" "How do I export?"
//! ```
//!
//! Offline by default: a scripted model classifies by the ticket's words. With
//! `OPENAI_API_KEY` or `OPENAI_BASE_URL` (any OpenAI-compatible server), or
//! `ANTHROPIC_API_KEY`, a real model does; see docs/providers.md.

use typedflow::{Report, report};
use typedflow_examples::llm::model_from_env;
use typedflow_examples::progress::{Progress, run_with_progress};
use typedflow_examples::triage::{self, Ticket, Triage, TriageDeps};

const SAMPLES: [&str; 3] = [
    "The app crashes with error 500 when I save a report. Production is down, please hurry.",
    "I was charged twice for my subscription this month and need a refund.",
    "How do I export my dashboards as PDF?",
];

/// Errors come out as sentences with their causes (`Report`), not as a `Debug` dump.
#[tokio::main]
async fn main() -> Result<(), Report> {
    let mut texts: Vec<String> = std::env::args().skip(1).collect();
    if texts.is_empty() {
        texts = SAMPLES.map(str::to_owned).to_vec();
    }
    let (llm, which) = model_from_env(triage::scripted)?;
    println!("model: {which}");

    let flow = Triage::new(TriageDeps { llm });
    let mut progress = Progress::stderr();
    for (id, text) in (1..).zip(texts) {
        let ticket = Ticket { id, text };
        let label = format!("ticket {id}");
        match run_with_progress(&flow, ticket, &label, &mut progress).await {
            Ok(done) => println!("#{} -> {}: {}", done.ticket, done.queue, done.action),
            Err(err) => println!("#{id} -> not triaged: {}", report(&err)),
        }
    }
    Ok(())
}
