//! The `pipeline` example's flow, offline: through an outage of the model, every review
//! is labelled or set aside in the dead-letter file, none lost and none twice.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use typedflow_examples::pipeline::{self, DeadLetter, Pipeline, PipelineDeps};
use typedflow_providers::{ScriptedModel, ScriptedReply};

const BATCH: &str = "\
Great kettle.
It broke at once, awful.
Fine.

Love it, works well.
Stopped heating after a day.
Excellent.
Perfect for tea.
Refund please, it leaks.
Great value.
It is a kettle.
Works well enough.
Awful handle.
";

/// A dead-letter file of its own for each test, in the system's temporary directory.
fn dead_letter_path(test: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "typedflow-pipeline-{test}-{}.jsonl",
        std::process::id()
    ))
}

fn expected_label(line: usize) -> &'static str {
    match line {
        1 | 5 | 7 | 8 | 10 => "positive",
        2 | 6 | 9 | 13 => "negative",
        _ => "mixed",
    }
}

#[tokio::test(start_paused = true)]
async fn an_outage_sets_reviews_aside_and_none_is_lost() {
    let path = dead_letter_path("outage");
    let flow = Pipeline::new(PipelineDeps {
        llm: Arc::new(pipeline::scripted()),
        dead_letter: DeadLetter::create(&path).expect("a temporary file"),
    });

    let tally = flow.run(BATCH.to_owned()).await.expect("the batch runs");

    // Line 4 is blank: twelve reviews.
    let all: BTreeSet<usize> = (1..=13).filter(|&l| l != 4).collect();
    assert_eq!(tally.total, 12);
    let done: BTreeSet<usize> = tally.done.iter().map(|(line, _)| *line).collect();
    let set_aside: BTreeSet<usize> = tally.set_aside.iter().copied().collect();
    assert!(done.is_disjoint(&set_aside), "{tally:?}");
    assert_eq!(&done | &set_aside, all, "{tally:?}");
    assert_eq!(
        done.len() + set_aside.len(),
        12,
        "a review counted twice: {tally:?}"
    );
    // The outage reaches part of the batch, not all of it.
    assert!(!done.is_empty() && !set_aside.is_empty(), "{tally:?}");
    for (line, label) in &tally.done {
        assert_eq!(label, expected_label(*line), "line {line}");
    }

    let written = std::fs::read_to_string(&path).expect("the dead-letter file");
    std::fs::remove_file(&path).expect("removed");
    let records: Vec<serde_json::Value> = written
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let lines: BTreeSet<usize> = records
        .iter()
        .map(|r| usize::try_from(r["line"].as_u64().expect("a line number")).expect("small"))
        .collect();
    assert_eq!(lines, set_aside, "{written}");
    assert_eq!(records.len(), set_aside.len(), "{written}");
    // Each says why: the server's 503 after its attempts, or the open breaker.
    for record in &records {
        let error = record["error"].as_str().expect("an error");
        let attempts = record["attempts"].as_u64().expect("a count");
        if record["circuit_open"] == true {
            // Refused by the open breaker: at once, or when it came to retry.
            assert!(attempts <= 1, "{record}");
            assert!(error.contains("circuit breaker"), "{record}");
        } else {
            // Both attempts reached the model and got its 503.
            assert_eq!(attempts, 2, "{record}");
            assert!(error.contains("bad minute"), "{record}");
        }
    }
    assert!(
        records.iter().any(|r| r["circuit_open"] == true),
        "the breaker never opened: {written}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_healthy_model_labels_everything_and_sets_nothing_aside() {
    let path = dead_letter_path("healthy");
    let model = ScriptedModel::from_fn(|_, _| ScriptedReply::text("Positive."));
    let flow = Pipeline::new(PipelineDeps {
        llm: Arc::new(model),
        dead_letter: DeadLetter::create(&path).expect("a temporary file"),
    });

    let tally = flow.run(BATCH.to_owned()).await.expect("the batch runs");

    let written = std::fs::read_to_string(&path).expect("the dead-letter file");
    std::fs::remove_file(&path).expect("removed");
    assert_eq!(tally.done.len(), 12, "{tally:?}");
    assert!(tally.done.iter().all(|(_, label)| label == "positive"));
    assert!(tally.set_aside.is_empty());
    assert_eq!(written, "");
}
