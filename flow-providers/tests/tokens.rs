//! A node reading a streamed reply puts its pieces on the run's event stream as tokens,
//! in order, and still returns the whole reply.

use futures::StreamExt as _;
use typedflow::events::Event;
use typedflow::prelude::*;
use typedflow_providers::{ChatModel, ChatRequest, ProviderError, ScriptedModel, ScriptedReply};

#[derive(Deps)]
struct Llm {
    model: ScriptedModel,
}

#[node]
async fn answer(
    question: String,
    model: &ScriptedModel,
    cx: &Context,
) -> Result<String, ProviderError> {
    let request = ChatRequest::new().user(question);
    let reply = model.chat_stream(&request).await?.emit_tokens(cx).await?;
    Ok(reply.text)
}

#[flow(deps = Llm)]
graph! {
    Ask(String) -> String {
        START -> answer -> END;
    }
}

#[tokio::test]
async fn streamed_pieces_are_tokens_of_the_run() {
    let model = ScriptedModel::new([ScriptedReply::chunks(["Forty", "-", "two."])]);
    let flow = Ask::new(Llm { model });
    let mut stream = flow.run("What is the answer?".into()).stream();
    let events: Vec<_> = stream.by_ref().collect().await;
    let tokens: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Token { node, text, .. } => {
                assert_eq!(*node, "answer");
                Some(text.as_str())
            }
            _ => None,
        })
        .collect();
    assert_eq!(tokens, ["Forty", "-", "two."]);
    assert!(
        matches!(events.last(), Some(Event::RunFinished { error: None, .. })),
        "{:?}",
        events.last()
    );
    assert_eq!(stream.output().await.expect("the answer"), "Forty-two.");
}

#[tokio::test]
async fn a_cut_stream_fails_the_node_after_its_tokens() {
    let model = ScriptedModel::new([
        ScriptedReply::chunks(["Forty"]).then_fail(ProviderError::stream_cut("scripted", 1))
    ]);
    let flow = Ask::new(Llm { model });
    let mut stream = flow.run("What is the answer?".into()).stream();
    let events: Vec<_> = stream.by_ref().collect().await;
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Token { text, .. } if text == "Forty"))
    );
    assert!(
        matches!(
            events.last(),
            Some(Event::RunFinished { error: Some(_), .. })
        ),
        "{:?}",
        events.last()
    );
    let err = stream.output().await.expect_err("the cut stream's error");
    let source = err.node_error().expect("the node's error");
    assert!(source.downcast_ref::<ProviderError>().is_some(), "{source}");
}

#[tokio::test]
async fn a_run_reading_a_stream_can_be_spawned() {
    let model = ScriptedModel::new([ScriptedReply::chunks(["a", "b"])]);
    let flow = std::sync::Arc::new(Ask::new(Llm { model }));
    let run = tokio::spawn({
        let flow = flow.clone();
        async move { flow.run("q".into()).stream().count().await }
    });
    // Run started, node started, two tokens, node finished, run finished.
    assert_eq!(run.await.expect("the run's task"), 6);
}
