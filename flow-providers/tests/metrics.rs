//! The metrics every request reports, read back through metrics-util's DebuggingRecorder.

#![cfg(all(feature = "openai", feature = "anthropic"))]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly; helpers outside #[test] fns unwrap too"
)]

mod common;

use std::collections::BTreeMap;

use common::{metric_counts as snapshot, openai, sse};
use futures::StreamExt as _;
use metrics_util::debugging::DebuggingRecorder;
use serde_json::json;
use typedflow_providers::{ChatModel, ChatRequest, ScriptedModel, ScriptedReply};
use wiremock::matchers::{body_partial_json, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[test]
fn requests_outcomes_durations_and_tokens_are_counted() {
    let recorder = DebuggingRecorder::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .and(body_partial_json(
                    json!({"messages": [{"content": "limit"}]}),
                ))
                .respond_with(ResponseTemplate::new(429).set_body_json(
                    json!({"error": {"message": "slow", "code": "rate_limit_exceeded"}}),
                ))
                .mount(&server)
                .await;
            Mock::given(method("POST"))
                .and(body_partial_json(json!({"stream": true})))
                .respond_with(ResponseTemplate::new(200).set_body_raw(
                    sse(&[
                        r#"{"choices":[{"delta":{"content":"a"},"finish_reason":null}]}"#,
                        r#"{"choices":[{"delta":{"content":"b"},"finish_reason":"stop"}]}"#,
                        r#"{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2}}"#,
                        "[DONE]",
                    ]),
                    "text/event-stream",
                ))
                .mount(&server)
                .await;
            Mock::given(method("POST"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "choices": [{"message": {"content": "hello"}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 12, "completion_tokens": 3}
                })))
                .mount(&server)
                .await;

            let client = openai(&server.uri());
            client.chat(&ChatRequest::new().user("hi")).await.unwrap();
            client
                .chat(&ChatRequest::new().user("limit"))
                .await
                .unwrap_err();
            client
                .chat_stream(&ChatRequest::new().user("hi"))
                .await
                .unwrap()
                .collect_response()
                .await
                .unwrap();
            // A stream dropped after its first delta counts as cancelled.
            let mut stream = client
                .chat_stream(&ChatRequest::new().user("hi"))
                .await
                .unwrap();
            stream.next().await.unwrap().unwrap();
            drop(stream);

            let scripted = ScriptedModel::new([ScriptedReply::text("one two")]).with_model("fake");
            scripted
                .chat(&ChatRequest::new().user("a b c"))
                .await
                .unwrap();
        });
    });

    let got = snapshot(&recorder);
    let want: BTreeMap<String, u64> = [
        (
            "llm_requests_total{model=gpt-test,outcome=ok,provider=openai}",
            2,
        ),
        (
            "llm_requests_total{model=gpt-test,outcome=rate_limited,provider=openai}",
            1,
        ),
        (
            "llm_requests_total{model=gpt-test,outcome=cancelled,provider=openai}",
            1,
        ),
        (
            "llm_request_duration_seconds{model=gpt-test,provider=openai}",
            4,
        ),
        (
            "llm_tokens_total{kind=prompt,model=gpt-test,provider=openai}",
            12 + 9,
        ),
        (
            "llm_tokens_total{kind=completion,model=gpt-test,provider=openai}",
            3 + 2,
        ),
        (
            "llm_requests_total{model=fake,outcome=ok,provider=scripted}",
            1,
        ),
        (
            "llm_request_duration_seconds{model=fake,provider=scripted}",
            1,
        ),
        (
            "llm_tokens_total{kind=prompt,model=fake,provider=scripted}",
            3,
        ),
        (
            "llm_tokens_total{kind=completion,model=fake,provider=scripted}",
            2,
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(got, want);
}
