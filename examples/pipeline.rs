//! Pipeline: a batch of reviews through a bounded map (4 at once) in which a model labels
//! each one; retries and a circuit breaker around the model, an error edge to a
//! dead-letter file, and a final count: done plus set aside is the whole batch.
//!
//! ```text
//! cargo run --example pipeline                        # a built-in batch of 16 reviews
//! cargo run --example pipeline -- reviews.txt         # one review per line
//! FLOW_DEAD_LETTER=failed.jsonl cargo run --example pipeline
//! ```
//!
//! Offline by default: a scripted model labels by the review's words and fails a stretch
//! of requests with `503`, so the breaker opens and reviews are set aside. With
//! `OPENAI_API_KEY` or `OPENAI_BASE_URL` (any OpenAI-compatible server), or
//! `ANTHROPIC_API_KEY`, a real model does; see docs/providers.md.

use typedflow::Report;
use typedflow_examples::llm::model_from_env;
use typedflow_examples::pipeline::{self, DeadLetter, Pipeline, PipelineDeps};
use typedflow_examples::progress::{Progress, run_with_progress};

const SAMPLE: &str = "\
Great blender, crushes ice in seconds.
The lid broke after a week. I want a refund.
Works well, but it is loud.
Love the colour, and it works well.
Stopped working after two uses. Awful.
Excellent value for the price.
It is fine. Nothing special.
Perfect size for a small kitchen.
Disappointed: the motor smells when it runs.
Great support team, they replaced the jug.
Loud, and the buttons are stiff, but it blends.
I love it. Use it every morning.
The cord is too short.
Excellent, would buy again.
Broke on the first day and support never answered.
Works well for soups.
";

/// Errors come out as sentences with their causes (`Report`), not as a `Debug` dump.
#[tokio::main]
async fn main() -> Result<(), Report> {
    let batch = match std::env::args().nth(1) {
        Some(path) => std::fs::read_to_string(&path)
            .map_err(|e| Report::boxed(format!("cannot read the batch {path}: {e}").into()))?,
        None => SAMPLE.to_owned(),
    };
    let dead_letter_path = std::env::var("FLOW_DEAD_LETTER").map_or_else(
        |_| std::env::temp_dir().join("typedflow-pipeline-dead-letter.jsonl"),
        std::path::PathBuf::from,
    );
    let dead_letter = DeadLetter::create(&dead_letter_path).map_err(|e| {
        Report::boxed(format!("cannot create {}: {e}", dead_letter_path.display()).into())
    })?;
    let (llm, which) = model_from_env(pipeline::scripted)?;
    println!("model: {which}");

    let flow = Pipeline::new(PipelineDeps { llm, dead_letter });
    let mut progress = Progress::stderr();
    let tally = run_with_progress(&flow, batch, "pipeline", &mut progress).await?;

    for (line, label) in &tally.done {
        println!("  line {line:>2}: {label}");
    }
    println!(
        "{} reviews: {} labelled, {} set aside in {}",
        tally.total,
        tally.done.len(),
        tally.set_aside.len(),
        flow.deps().dead_letter.path().display()
    );
    let accounted = tally.done.len() + tally.set_aside.len();
    if accounted != tally.total {
        let lost = tally.total - accounted;
        let message = format!("{lost} of {} reviews unaccounted for", tally.total);
        return Err(Report::boxed(message.into()));
    }
    println!("nothing lost: every review is labelled or set aside");
    Ok(())
}
