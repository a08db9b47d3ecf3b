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

#[tokio::test]
async fn a_plan_that_does_not_parse_falls_back_to_the_questions_words() {
    use typedflow_providers::{ScriptedModel, ScriptedReply};

    // The planner's JSON is cut short, as a small model's can be at its token limit.
    let model = ScriptedModel::new([
        ScriptedReply::text(r#"{"terms": ["retry", "backoff", "retry-backo"#),
        ScriptedReply::text("Backoff waits longer after each failure [policies]."),
    ]);
    let flow = Research::new(ResearchDeps {
        llm: Arc::new(model),
    });

    let report = flow
        .run("How does retry backoff work with jitter?".to_owned())
        .await
        .expect("an answer despite the plan");

    // The searches ran on the question's own words.
    assert_eq!(
        research::terms_of("How does retry backoff work with jitter?"),
        ["retry", "backoff", "work", "jitter"]
    );
    assert!(sources(&report).contains(&"policies"), "{report:?}");
    assert_eq!(
        report.answer,
        "Backoff waits longer after each failure [policies]."
    );
}
