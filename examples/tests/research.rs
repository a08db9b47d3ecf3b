//! The `research` example's flow, offline: the three searches find what the question asks
//! about, and the answer cites the sources that found it.

use std::sync::Arc;

use typedflow_examples::research::{self, Report, Research, ResearchDeps};

async fn ask(question: &str) -> Report {
    let flow = Research::new(ResearchDeps {
        llm: Arc::new(research::scripted()),
    });
    flow.run(question.to_owned()).await.expect("an answer")
}

fn sources(report: &Report) -> Vec<&'static str> {
    let mut sources: Vec<_> = report.evidence.iter().map(|(s, _)| *s).collect();
    sources.dedup();
    sources
}

#[tokio::test]
async fn the_answer_comes_from_the_sources_that_match_the_question() {
    let report = ask("How does retry backoff work with jitter?").await;
    assert_eq!(report.question, "How does retry backoff work with jitter?");
    assert!(sources(&report).contains(&"policies"), "{report:?}");
    for (_, passage) in &report.evidence {
        let lower = passage.to_lowercase();
        assert!(
            ["retry", "backoff", "work", "jitter"]
                .iter()
                .any(|term| lower.contains(term)),
            "{passage}"
        );
    }
    assert!(report.answer.contains("[policies]"), "{}", report.answer);
}

#[tokio::test]
async fn another_question_finds_other_passages() {
    let metrics = ask("Which Prometheus histogram buckets?").await;
    assert!(sources(&metrics).contains(&"observability"), "{metrics:?}");
    let retries = ask("How does retry backoff work with jitter?").await;
    assert_ne!(metrics.evidence, retries.evidence);
    assert_ne!(metrics.answer, retries.answer);
}

#[tokio::test]
async fn nothing_found_is_said_plainly() {
    let report = ask("zyzzyva quokka").await;
    assert!(report.evidence.is_empty(), "{report:?}");
    assert_eq!(report.answer, "The guides say nothing about this.");
}
