//! The Anthropic client against wiremock on loopback: headers, body, typed stream
//! events, and Anthropic-shaped errors.

#![cfg(all(feature = "openai", feature = "anthropic"))]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly; helpers outside #[test] fns unwrap too"
)]

mod common;

use std::time::Duration;

use common::{KEY, anthropic, sse_named};
use futures::StreamExt as _;
use serde_json::{Value, json};
use typedflow_providers::{
    ChatModel, ChatRequest, ErrorKind, FinishReason, Message, ProviderError, StreamEvent, Usage,
};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MESSAGES: &str = "/v1/messages";

fn message(text: &str, stop: &str) -> Value {
    json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test-20250101",
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop, "stop_sequence": null,
        "usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 4}
    })
}

fn anthropic_error(kind: &str, msg: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": msg}, "request_id": "req_1"})
}

async fn answer(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES))
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

async fn error_of(template: ResponseTemplate) -> ProviderError {
    let server = answer(template).await;
    anthropic(&server.uri())
        .chat(&ChatRequest::new().user("hi"))
        .await
        .expect_err("an error answer")
}

#[tokio::test]
async fn sends_the_headers_and_body_anthropic_expects() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES))
        .and(header("x-api-key", KEY))
        .and(header("anthropic-version", "2023-06-01"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(message("Paris", "end_turn")))
        .expect(1)
        .mount(&server)
        .await;

    let request = ChatRequest::new()
        .system("be brief")
        .message(Message::system("answer in English"))
        .user("capital of France?")
        .temperature(0.0)
        .stop("\n\n")
        .seed(7);
    let reply = anthropic(&server.uri()).chat(&request).await.unwrap();
    assert_eq!(reply.text, "Paris");
    assert_eq!(reply.finish_reason, FinishReason::Stop);
    assert_eq!(reply.usage, Some(Usage::new(15, 4)));

    let sent: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(
        sent,
        json!({
            "model": "claude-test",
            "max_tokens": 1024,
            "system": "be brief\n\nanswer in English",
            "messages": [{"role": "user", "content": "capital of France?"}],
            "temperature": 0.0,
            "stop_sequences": ["\n\n"]
        })
    );
    let sent = &server.received_requests().await.unwrap()[0];
    assert!(
        sent.headers.get("authorization").is_none(),
        "anthropic takes x-api-key only"
    );
}

#[tokio::test]
async fn stop_reasons_map_to_finish_reasons() {
    for (raw, want) in [
        ("max_tokens", FinishReason::Length),
        ("stop_sequence", FinishReason::StopSequence),
        ("tool_use", FinishReason::ToolCalls),
        ("refusal", FinishReason::ContentFilter),
        ("pause_turn", FinishReason::Other("pause_turn".into())),
    ] {
        let server = answer(ResponseTemplate::new(200).set_body_json(message("x", raw))).await;
        let reply = anthropic(&server.uri())
            .chat(&ChatRequest::new().user("hi"))
            .await
            .unwrap();
        assert_eq!(reply.finish_reason, want, "{raw}");
    }
}

#[tokio::test]
async fn error_classes_from_anthropic_shaped_bodies() {
    let cases = [
        (
            401,
            "authentication_error",
            "invalid x-api-key",
            ErrorKind::Authentication,
        ),
        (
            403,
            "permission_error",
            "Your API key does not have permission",
            ErrorKind::Authentication,
        ),
        (
            400,
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API.",
            ErrorKind::QuotaExhausted,
        ),
        (
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
            ErrorKind::RateLimited,
        ),
        (529, "overloaded_error", "Overloaded", ErrorKind::Overloaded),
        (
            404,
            "not_found_error",
            "model: claude-nope",
            ErrorKind::UnknownModel,
        ),
        (404, "not_found_error", "Not found", ErrorKind::BadRequest),
        (
            400,
            "invalid_request_error",
            "prompt is too long: 210000 tokens > 200000 maximum",
            ErrorKind::ContextTooLong,
        ),
        (
            413,
            "request_too_large",
            "Request exceeds the maximum allowed number of bytes.",
            ErrorKind::ContextTooLong,
        ),
        (500, "api_error", "Internal server error", ErrorKind::Server),
    ];
    for (status, kind, msg, want) in cases {
        let err =
            error_of(ResponseTemplate::new(status).set_body_json(anthropic_error(kind, msg))).await;
        assert_eq!(err.kind(), want, "{status} {kind}");
        assert_eq!(err.api().unwrap().error_type.as_deref(), Some(kind));
    }
}

#[tokio::test]
async fn overloaded_carries_its_retry_after_and_is_retryable() {
    let err = error_of(
        ResponseTemplate::new(529)
            .set_body_json(anthropic_error("overloaded_error", "Overloaded"))
            .insert_header("retry-after", "1")
            .insert_header("request-id", "req_9"),
    )
    .await;
    assert_eq!(err.kind(), ErrorKind::Overloaded);
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(err.api().unwrap().request_id.as_deref(), Some("req_9"));
    assert!(err.to_string().contains("retry later"), "{err}");
}

fn stream_body(with_stop: bool) -> String {
    let mut events = vec![
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "m", "type": "message", "role": "assistant", "content": [], "model": "claude-test", "stop_reason": null, "usage": {"input_tokens": 7, "cache_read_input_tokens": 3, "output_tokens": 1}}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        ("ping", json!({"type": "ping"})),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 2}}),
        ),
    ];
    if with_stop {
        events.push(("message_stop", json!({"type": "message_stop"})));
    }
    let owned: Vec<(String, String)> = events
        .into_iter()
        .map(|(n, d)| (n.to_owned(), d.to_string()))
        .collect();
    let borrowed: Vec<(&str, &str)> = owned
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_str()))
        .collect();
    sse_named(&borrowed)
}

async fn stream_events(body: String) -> Vec<Result<StreamEvent, ErrorKind>> {
    let server = answer(ResponseTemplate::new(200).set_body_raw(body, "text/event-stream")).await;
    let stream = anthropic(&server.uri())
        .chat_stream(&ChatRequest::new().user("hi"))
        .await
        .unwrap();
    stream.map(|e| e.map_err(|e| e.kind())).collect().await
}

#[tokio::test]
async fn streams_text_deltas_then_finish_with_usage() {
    let events = stream_events(stream_body(true)).await;
    assert_eq!(
        events,
        vec![
            Ok(StreamEvent::Delta("Hel".into())),
            Ok(StreamEvent::Delta("lo".into())),
            Ok(StreamEvent::Finish {
                reason: FinishReason::Stop,
                usage: Some(Usage::new(10, 2)),
                model: Some("claude-test".into())
            }),
        ]
    );
}

#[tokio::test]
async fn a_stream_without_message_stop_is_cut() {
    let events = stream_events(stream_body(false)).await;
    assert_eq!(events.last(), Some(&Err(ErrorKind::StreamCut)));
    assert_eq!(events.len(), 3);
}

#[tokio::test]
async fn an_error_event_inside_the_stream_is_classified() {
    let mut body = stream_body(false);
    body = body
        .split("event: content_block_stop")
        .next()
        .unwrap()
        .to_owned();
    body.push_str(&sse_named(&[(
        "error",
        &anthropic_error("overloaded_error", "Overloaded").to_string(),
    )]));
    let events = stream_events(body).await;
    assert_eq!(events.last(), Some(&Err(ErrorKind::Overloaded)));
}

#[tokio::test]
async fn a_malformed_event_is_a_bad_response() {
    let mut body = stream_body(false);
    body = body
        .split("event: content_block_stop")
        .next()
        .unwrap()
        .to_owned();
    body.push_str("event: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"delta\": {\"ty\n\n");
    let events = stream_events(body).await;
    assert_eq!(events.last(), Some(&Err(ErrorKind::BadResponse)));
}

#[tokio::test]
async fn structured_output_puts_the_schema_in_the_system_prompt() {
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Answer {
        #[allow(dead_code, reason = "only parsed")]
        yes: bool,
    }
    use typedflow_providers::ChatModelExt as _;
    let server =
        answer(ResponseTemplate::new(200).set_body_json(message("{\"yes\": true}", "end_turn")))
            .await;
    anthropic(&server.uri())
        .structured::<Answer>(&ChatRequest::new().system("judge").user("ok?"))
        .await
        .unwrap();
    let sent = &server.received_requests().await.unwrap()[0];
    let body: Value = serde_json::from_slice(&sent.body).unwrap();
    let system = body["system"].as_str().unwrap();
    assert!(
        system.starts_with("judge\n\nReply with a single JSON value"),
        "{system}"
    );
    assert!(system.contains("\"yes\""), "{system}");
    assert!(body.get("output_format").is_none());
    assert!(sent.headers.get("anthropic-beta").is_none());

    // Natively, when asked.
    let server =
        answer(ResponseTemplate::new(200).set_body_json(message("{\"yes\": false}", "end_turn")))
            .await;
    let client = typedflow_providers::AnthropicClient::builder()
        .ignore_env()
        .base_url(server.uri())
        .api_key(KEY)
        .model("claude-test")
        .native_structured_output(true)
        .build()
        .unwrap();
    client
        .structured::<Answer>(&ChatRequest::new().user("ok?"))
        .await
        .unwrap();
    let sent = &server.received_requests().await.unwrap()[0];
    let body: Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["output_format"]["type"], "json_schema");
    assert_eq!(
        sent.headers.get("anthropic-beta").unwrap(),
        "structured-outputs-2025-11-13"
    );
}

#[tokio::test]
async fn building_needs_a_key_only_for_anthropic_itself() {
    let err = typedflow_providers::AnthropicClient::builder()
        .ignore_env()
        .model("m")
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no api key: set ANTHROPIC_API_KEY or pass one with `.api_key(..)`"
    );
    let err = typedflow_providers::AnthropicClient::builder()
        .ignore_env()
        .api_key("k")
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no model: choose one with `.model(..)` or set ANTHROPIC_MODEL"
    );
    typedflow_providers::AnthropicClient::builder()
        .ignore_env()
        .base_url("http://127.0.0.1:9")
        .model("m")
        .build()
        .expect("a local server needs no key");
    let err = typedflow_providers::AnthropicClient::builder()
        .ignore_env()
        .base_url("ftp://example")
        .model("m")
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("unsupported scheme `ftp`"),
        "{err}"
    );
}
