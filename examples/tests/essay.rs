//! The `essay` example's flow, offline: the scripted model's answers follow the topic,
//! the reviewer's notes are applied, and the rate-limited first attempt is retried.

use std::sync::Arc;

use typedflow_examples::essay::{self, Essay, EssayDeps};
use typedflow_examples::llm::Llm;

#[tokio::test(start_paused = true)]
async fn the_essay_is_revised_until_it_covers_its_outline() {
    let model = Arc::new(essay::scripted());
    let llm: Llm = model.clone();
    let flow = Essay::new(EssayDeps { llm });

    let draft = flow
        .run("tide pools".to_owned())
        .await
        .expect("the essay is written");

    assert_eq!(
        draft.outline.points,
        [
            "What tide pools is",
            "Why tide pools matters",
            "Where tide pools falls short"
        ]
    );
    // The first draft missed the last point, then the conclusion: two revisions.
    assert_eq!(draft.revisions, 2, "{}", draft.text);
    for point in &draft.outline.points {
        assert!(
            draft.text.contains(point.as_str()),
            "{point} missing:\n{}",
            draft.text
        );
    }
    assert!(draft.text.contains("In conclusion"), "{}", draft.text);
    // outline, write twice (a 429, then the draft), review three times, revise twice.
    assert_eq!(model.calls(), 8);
}

#[tokio::test(start_paused = true)]
async fn a_failing_model_fails_the_run_at_the_writer_after_its_attempts() {
    use typedflow_providers::{ApiError, ProviderError, ScriptedModel, ScriptedReply};

    let overloaded = || {
        ScriptedReply::error(ProviderError::from_api(
            ApiError::new("scripted", 503, "overloaded"),
            "scripted",
        ))
    };
    let model = ScriptedModel::new(
        [ScriptedReply::text("one point")]
            .into_iter()
            .chain(std::iter::repeat_with(overloaded).take(4)),
    );
    let flow = Essay::new(EssayDeps {
        llm: Arc::new(model),
    });

    let err = flow.run("anything".to_owned()).await.unwrap_err();

    assert_eq!(err.node(), Some("write"), "{err}");
    assert!(err.to_string().contains("after 4 attempt(s)"), "{err}");
}
