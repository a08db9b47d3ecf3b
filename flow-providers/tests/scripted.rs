//! The scripted model: replies in order or from a closure, streamed chunks, errors before
//! and during a reply, and the requests it recorded. Used through `Arc<dyn ChatModel>`,
//! as a flow holds it.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly; helpers outside #[test] fns unwrap too"
)]

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use serde_json::json;
use typedflow::policy::{Backoff, Jitter, NodePolicies, RetryPolicy};
use typedflow_providers::{
    ChatModel, ChatModelExt as _, ChatRequest, ErrorKind, FinishReason, Message, ProviderError,
    Role, ScriptedModel, ScriptedReply, StreamEvent, ToolCall, ToolResult, Usage,
};

#[tokio::test]
async fn replies_come_in_order_and_requests_are_recorded() {
    let model = ScriptedModel::new([
        ScriptedReply::text("one"),
        ScriptedReply::length(["tw", "o"]),
    ]);
    let model: Arc<dyn ChatModel> = Arc::new(model);
    let first = model.chat(&ChatRequest::new().user("a")).await.unwrap();
    let second = model
        .chat(&ChatRequest::new().user("b").temperature(0.5))
        .await
        .unwrap();
    assert_eq!(
        (first.text.as_str(), first.finish_reason),
        ("one", FinishReason::Stop)
    );
    assert_eq!(
        (second.text.as_str(), second.finish_reason),
        ("two", FinishReason::Length)
    );

    let err = model.chat(&ChatRequest::new().user("c")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    assert!(
        err.to_string().contains("no reply left for request #2"),
        "{err}"
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn the_recorded_requests_are_what_was_sent() {
    let model = ScriptedModel::new([ScriptedReply::text("x")]);
    let request = ChatRequest::new().system("s").user("u").seed(3);
    model.chat(&request).await.unwrap();
    assert_eq!(model.requests(), vec![request]);
    assert_eq!((model.calls(), model.remaining()), (1, 0));
    model.push(ScriptedReply::text("y"));
    assert_eq!(model.remaining(), 1);
}

#[tokio::test]
async fn streams_chunks_then_finish_with_usage() {
    let model =
        ScriptedModel::new([ScriptedReply::chunks(["a ", "b"]).with_usage(Usage::new(4, 2))]);
    let events: Vec<_> = model
        .chat_stream(&ChatRequest::new().user("x"))
        .await
        .unwrap()
        .collect()
        .await;
    let events: Vec<StreamEvent> = events.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        events,
        vec![
            StreamEvent::Delta("a ".into()),
            StreamEvent::Delta("b".into()),
            StreamEvent::Finish {
                reason: FinishReason::Stop,
                usage: Some(Usage::new(4, 2)),
                model: Some("scripted".into())
            },
        ]
    );
}

#[tokio::test]
async fn errors_before_and_during_a_reply() {
    let model = ScriptedModel::new([
        ScriptedReply::error(ProviderError::timeout("scripted")),
        ScriptedReply::chunks(["half"]).then_fail(ProviderError::stream_cut("scripted", 1)),
        ScriptedReply::chunks(["half"]).then_fail(ProviderError::stream_cut("scripted", 1)),
    ]);
    let err = model
        .chat_stream(&ChatRequest::new().user("x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);

    let events: Vec<_> = model
        .chat_stream(&ChatRequest::new().user("x"))
        .await
        .unwrap()
        .collect()
        .await;
    assert!(matches!(&events[0], Ok(StreamEvent::Delta(t)) if t == "half"));
    assert!(matches!(&events[1], Err(e) if e.kind() == ErrorKind::StreamCut));
    assert_eq!(events.len(), 2);

    let err = model.chat(&ChatRequest::new().user("x")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StreamCut);
}

#[tokio::test]
async fn a_closure_chooses_the_reply() {
    let model = ScriptedModel::from_fn(|request, n| {
        if request.messages.iter().any(|m| m.content.contains("fail")) {
            ScriptedReply::error(ProviderError::timeout("scripted"))
        } else {
            ScriptedReply::text(format!("reply {n}"))
        }
    });
    assert_eq!(
        model
            .chat(&ChatRequest::new().user("hi"))
            .await
            .unwrap()
            .text,
        "reply 0"
    );
    assert!(model.chat(&ChatRequest::new().user("fail")).await.is_err());
    assert_eq!(
        model
            .chat(&ChatRequest::new().user("hi"))
            .await
            .unwrap()
            .text,
        "reply 2"
    );
}

#[tokio::test]
async fn structured_output_through_a_trait_object() {
    #[derive(serde::Deserialize, schemars::JsonSchema, Debug, PartialEq)]
    enum Verdict {
        Accept,
        Revise { reason: String },
    }
    let model: Arc<dyn ChatModel> = Arc::new(ScriptedModel::new([ScriptedReply::text(
        "```json\n{\"Revise\": {\"reason\": \"too short\"}}\n```",
    )]));
    let verdict: Verdict = model
        .structured(&ChatRequest::new().user("review"))
        .await
        .unwrap();
    assert_eq!(
        verdict,
        Verdict::Revise {
            reason: "too short".into()
        }
    );
}

#[tokio::test(start_paused = true)]
async fn delays_follow_tokios_clock_and_retries_recover() {
    let model = ScriptedModel::new([
        ScriptedReply::error(ProviderError::timeout("scripted"))
            .with_delay(Duration::from_secs(30)),
        ScriptedReply::text("ok").with_delay(Duration::from_secs(30)),
    ]);
    let start = tokio::time::Instant::now();
    let request = ChatRequest::new().user("x");
    let policies = NodePolicies::new("llm").with_retry(
        RetryPolicy::new(3)
            .unwrap()
            .with_backoff(Backoff::constant(Duration::from_millis(500)))
            .with_jitter(Jitter::None),
    );
    let reply = policies
        .call(request, |request: ChatRequest| {
            let model = &model;
            async move { model.chat(&request).await }
        })
        .await
        .unwrap();
    assert_eq!(reply.text, "ok");
    // Two scripted delays and one backoff of 500 ms, on the paused clock.
    assert_eq!(start.elapsed(), Duration::from_millis(60_500));
}

#[tokio::test]
async fn tool_calls_can_be_scripted_plain_and_streamed() {
    let paris = ToolCall::new("call_1", "get_weather", json!({"city": "Paris"}));
    let lyon = ToolCall::new("call_2", "get_weather", json!({"city": "Lyon"}));
    let script = || {
        ScriptedModel::new([
            ScriptedReply::tool_calls([paris.clone(), lyon.clone()]),
            ScriptedReply::chunks(["Let me ", "check."]).with_tool_calls([paris.clone()]),
            ScriptedReply::text("Paris 21 °C"),
        ])
    };

    let model = script();
    let first = model
        .chat(&ChatRequest::new().user("weather?"))
        .await
        .unwrap();
    assert_eq!(first.text, "");
    assert_eq!(first.finish_reason, FinishReason::ToolCalls);
    assert_eq!(first.tool_calls, [paris.clone(), lyon.clone()]);
    let second = model.chat(&ChatRequest::new().user("again")).await.unwrap();
    assert_eq!(second.text, "Let me check.");
    assert_eq!(second.tool_calls, std::slice::from_ref(&paris));
    assert_eq!(second.finish_reason, FinishReason::ToolCalls);

    // The conversation the model sees next carries the calls and the results.
    let request = ChatRequest::new()
        .user("weather?")
        .message(second.to_message())
        .tool_result(ToolResult::ok("call_1", "21 °C"));
    let third = model.chat(&request).await.unwrap();
    assert_eq!(third.tool_calls, []);
    assert_eq!(third.finish_reason, FinishReason::Stop);
    let seen = &model.requests()[2].messages;
    assert_eq!(seen[1].tool_calls, std::slice::from_ref(&paris));
    assert_eq!(seen[2].role, Role::Tool);
    assert_eq!(
        seen[2],
        Message::tool_result(ToolResult::ok("call_1", "21 °C"))
    );

    // Streamed: text first, then each call whole, then the finish.
    let model = script();
    let events: Vec<_> = model
        .chat_stream(&ChatRequest::new().user("a"))
        .await
        .unwrap()
        .collect()
        .await;
    let events: Vec<_> = events.into_iter().map(Result::unwrap).collect();
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[0], StreamEvent::ToolCall(paris.clone()));
    assert_eq!(events[1], StreamEvent::ToolCall(lyon.clone()));
    assert!(matches!(
        events[2],
        StreamEvent::Finish {
            reason: FinishReason::ToolCalls,
            ..
        }
    ));
    let reply = model
        .chat_stream(&ChatRequest::new().user("b"))
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(reply.text, "Let me check.");
    assert_eq!(reply.tool_calls, std::slice::from_ref(&paris));
}

#[tokio::test]
async fn a_scripted_stream_that_fails_delivers_no_tool_call() {
    let call = ToolCall::new("call_1", "get_weather", json!({"city": "Paris"}));
    let model = ScriptedModel::new([ScriptedReply::chunks(["Checking"])
        .with_tool_calls([call])
        .then_fail(ProviderError::stream_cut("scripted", 1))]);
    let events: Vec<_> = model
        .chat_stream(&ChatRequest::new().user("a"))
        .await
        .unwrap()
        .map(|e| e.map_err(|e| e.kind()))
        .collect()
        .await;
    assert_eq!(
        events,
        vec![
            Ok(StreamEvent::Delta("Checking".into())),
            Err(ErrorKind::StreamCut)
        ]
    );
}
