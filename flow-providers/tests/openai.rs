//! The OpenAI-compatible client against wiremock on loopback: request shape, lenient
//! parsing, streaming, and every error class from realistic bodies.

#![cfg(all(feature = "openai", feature = "anthropic"))]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly; helpers outside #[test] fns unwrap too"
)]

mod common;

use std::time::{Duration, SystemTime};

use common::{KEY, openai, sse};
use futures::StreamExt as _;
use serde_json::{Value, json};
use typedflow_providers::{
    ChatModel, ChatModelExt as _, ChatRequest, ErrorKind, FinishReason, ProviderError, StreamEvent,
    Usage,
};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CHAT: &str = "/v1/chat/completions";

fn completion(content: &str, finish: &str) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-test-0613",
        "system_fingerprint": "fp", "service_tier": "default",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": null},
                     "logprobs": null, "finish_reason": finish}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15,
                  "prompt_tokens_details": {"cached_tokens": 0}}
    })
}

async fn answer(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(CHAT))
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

async fn error_of(template: ResponseTemplate) -> ProviderError {
    let server = answer(template).await;
    openai(&server.uri())
        .chat(&ChatRequest::new().user("hi"))
        .await
        .expect_err("the server answers with an error")
}

fn body(request: &wiremock::Request) -> Value {
    serde_json::from_slice(&request.body).expect("the client sends json")
}

#[tokio::test]
async fn sends_the_request_openai_expects() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(CHAT))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion("Paris", "stop")))
        .expect(1)
        .mount(&server)
        .await;

    let request = ChatRequest::new()
        .system("be brief")
        .user("capital of France?")
        .assistant("Which country?")
        .user("France")
        .temperature(0.0)
        .max_tokens(16)
        .stop("\n")
        .seed(42);
    let reply = openai(&server.uri()).chat(&request).await.unwrap();
    assert_eq!(reply.text, "Paris");
    assert_eq!(reply.finish_reason, FinishReason::Stop);
    assert_eq!(reply.usage, Some(Usage::new(12, 3)));
    assert_eq!(reply.model.as_deref(), Some("gpt-test-0613"));

    let sent = body(&server.received_requests().await.unwrap()[0]);
    assert_eq!(
        sent,
        json!({
            "model": "gpt-test",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "capital of France?"},
                {"role": "assistant", "content": "Which country?"},
                {"role": "user", "content": "France"},
            ],
            "temperature": 0.0, "max_tokens": 16, "stop": ["\n"], "seed": 42
        })
    );
}

#[tokio::test]
async fn a_request_can_override_the_model_and_unset_fields_are_left_out() {
    let server = answer(ResponseTemplate::new(200).set_body_json(completion("ok", "stop"))).await;
    openai(&server.uri())
        .chat(&ChatRequest::new().model("other").user("hi"))
        .await
        .unwrap();
    let sent = body(&server.received_requests().await.unwrap()[0]);
    assert_eq!(
        sent,
        json!({"model": "other", "messages": [{"role": "user", "content": "hi"}]})
    );
}

#[tokio::test]
async fn parses_leniently() {
    // No usage, an empty finish reason, unknown fields everywhere, content as parts.
    let body = json!({
        "choices": [{"message": {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                                 "reasoning_content": "hmm"}, "finish_reason": "", "extra": 1}],
        "timings": {"predicted_ms": 3.5}
    });
    let server = answer(ResponseTemplate::new(200).set_body_json(body)).await;
    let reply = openai(&server.uri())
        .chat(&ChatRequest::new().user("hi"))
        .await
        .unwrap();
    assert_eq!(reply.text, "ab");
    assert_eq!(reply.finish_reason, FinishReason::Unknown);
    assert_eq!(reply.usage, None);

    // A finish reason this crate does not know, null content.
    let body = json!({"choices": [{"message": {"content": null}, "finish_reason": "eos_token"}],
                      "usage": {"prompt_tokens": 1, "completion_tokens": null}});
    let server = answer(ResponseTemplate::new(200).set_body_json(body)).await;
    let reply = openai(&server.uri())
        .chat(&ChatRequest::new().user("hi"))
        .await
        .unwrap();
    assert_eq!(reply.text, "");
    assert_eq!(reply.finish_reason, FinishReason::Other("eos_token".into()));
    assert_eq!(reply.usage, Some(Usage::new(1, 0)));
}

#[tokio::test]
async fn a_body_of_the_wrong_shape_names_the_json_path() {
    let body = json!({"choices": [{"message": {"content": 42}}]});
    let err = error_of(ResponseTemplate::new(200).set_body_json(body)).await;
    match &err {
        ProviderError::BadResponse { path, .. } => assert_eq!(path, "choices[0].message.content"),
        other => panic!("expected a bad response, got {other:?}"),
    }
    assert!(err.is_retryable());

    let err = error_of(ResponseTemplate::new(200).set_body_json(json!({"choices": []}))).await;
    assert!(
        matches!(&err, ProviderError::BadResponse { path, .. } if path == "choices"),
        "{err:?}"
    );
}

#[tokio::test]
async fn empty_and_huge_bodies_are_bad_responses() {
    let err = error_of(ResponseTemplate::new(200).set_body_raw("", "application/json")).await;
    assert_eq!(err.kind(), ErrorKind::BadResponse);
    assert!(err.to_string().contains("empty"), "{err}");

    let server = answer(
        ResponseTemplate::new(200).set_body_raw(vec![b' '; 2 * 1024 * 1024], "application/json"),
    )
    .await;
    let client = typedflow_providers::OpenAiClient::builder()
        .ignore_env()
        .base_url(format!("{}/v1", server.uri()))
        .model("m")
        .max_response_bytes(1024 * 1024)
        .build()
        .unwrap();
    let err = client
        .chat(&ChatRequest::new().user("hi"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadResponse);
    assert!(
        err.to_string()
            .contains("exceeds the limit of 1048576 bytes"),
        "{err}"
    );

    // A huge error body is read only in part, and still classified.
    let huge = format!(
        "{{\"error\": {{\"message\": \"{}\"}}}}",
        "x".repeat(1024 * 1024)
    );
    let err = error_of(ResponseTemplate::new(503).set_body_raw(huge, "application/json")).await;
    assert_eq!(err.kind(), ErrorKind::Server);
}

#[tokio::test]
async fn a_request_timeout_is_classified() {
    let server = answer(
        ResponseTemplate::new(200)
            .set_body_json(completion("late", "stop"))
            .set_delay(Duration::from_secs(3)),
    )
    .await;
    let client = typedflow_providers::OpenAiClient::builder()
        .ignore_env()
        .base_url(format!("{}/v1", server.uri()))
        .model("m")
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = client
        .chat(&ChatRequest::new().user("hi"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_refused_connection_is_a_network_error() {
    // Bind then drop a listener: its port is (almost certainly) closed now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = openai(&format!("http://127.0.0.1:{port}"))
        .chat(&ChatRequest::new().user("hi"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Network);
    assert!(err.to_string().contains("check the base url"), "{err}");
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn error_classes_from_openai_shaped_bodies() {
    let openai_error = |message: &str, kind: &str, code: Option<&str>| json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
    let cases = [
        (
            401,
            openai_error(
                "Incorrect API key provided: sk-tes***cdef.",
                "invalid_request_error",
                Some("invalid_api_key"),
            ),
            ErrorKind::Authentication,
        ),
        (
            403,
            openai_error(
                "You are not allowed to sample from this model",
                "invalid_request_error",
                None,
            ),
            ErrorKind::Authentication,
        ),
        (
            429,
            openai_error(
                "Rate limit reached for gpt-test on requests per min (RPM)",
                "requests",
                Some("rate_limit_exceeded"),
            ),
            ErrorKind::RateLimited,
        ),
        (
            429,
            openai_error(
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota",
                Some("insufficient_quota"),
            ),
            ErrorKind::QuotaExhausted,
        ),
        (
            400,
            openai_error(
                "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
                "invalid_request_error",
                Some("context_length_exceeded"),
            ),
            ErrorKind::ContextTooLong,
        ),
        (
            404,
            openai_error(
                "The model `gpt-nope` does not exist or you do not have access to it.",
                "invalid_request_error",
                Some("model_not_found"),
            ),
            ErrorKind::UnknownModel,
        ),
        (
            400,
            openai_error(
                "'messages' must contain at least one message",
                "invalid_request_error",
                None,
            ),
            ErrorKind::BadRequest,
        ),
        (
            500,
            openai_error(
                "The server had an error while processing your request.",
                "server_error",
                None,
            ),
            ErrorKind::Server,
        ),
        (
            409,
            openai_error("conflict", "conflict_error", None),
            ErrorKind::Server,
        ),
        // llama.cpp's shape: a numeric code.
        (
            400,
            json!({"error": {"code": 400, "message": "the request exceeds the available context size", "type": "exceed_context_size_error", "n_prompt_tokens": 3000, "n_ctx": 2048}}),
            ErrorKind::ContextTooLong,
        ),
        // Ollama's shape.
        (
            404,
            json!({"error": {"message": "model \"llama9\" not found, try pulling it first", "type": "api_error", "param": null, "code": null}}),
            ErrorKind::UnknownModel,
        ),
    ];
    for (status, body, kind) in cases {
        let err = error_of(ResponseTemplate::new(status).set_body_json(body.clone())).await;
        assert_eq!(err.kind(), kind, "{status} {body}");
        let api = err.api().expect("an http class");
        assert_eq!(api.status, status);
        assert!(!api.message.is_empty());
    }
}

#[tokio::test]
async fn error_classes_from_fastapi_and_plain_text_bodies() {
    let err =
        error_of(ResponseTemplate::new(401).set_body_json(json!({"detail": "Not authenticated"})))
            .await;
    assert_eq!(err.kind(), ErrorKind::Authentication);
    assert_eq!(err.api().unwrap().message, "Not authenticated");

    let detail = json!({"detail": [{"type": "missing", "loc": ["body", "messages"], "msg": "Field required", "input": {}}]});
    let err = error_of(ResponseTemplate::new(422).set_body_json(detail)).await;
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    assert_eq!(err.api().unwrap().message, "body.messages: Field required");
    assert!(!err.is_retryable());

    let err =
        error_of(ResponseTemplate::new(500).set_body_raw("Internal Server Error", "text/plain"))
            .await;
    assert_eq!(err.kind(), ErrorKind::Server);
    assert_eq!(err.api().unwrap().message, "Internal Server Error");

    let err = error_of(
        ResponseTemplate::new(502)
            .set_body_raw("<html><body>Bad Gateway</body></html>", "text/html"),
    )
    .await;
    assert_eq!(err.kind(), ErrorKind::Server);

    let err = error_of(ResponseTemplate::new(503)).await;
    assert_eq!(err.kind(), ErrorKind::Server);
    assert_eq!(err.api().unwrap().message, "service unavailable");
}

#[tokio::test]
async fn auth_errors_say_which_variable_to_set() {
    let err = error_of(
        ResponseTemplate::new(401).set_body_json(json!({"error": {"message": "bad key"}})),
    )
    .await;
    assert!(
        err.to_string()
            .contains("check the key passed to `.api_key(..)`"),
        "{err}"
    );

    let server = answer(
        ResponseTemplate::new(401).set_body_json(json!({"error": {"message": "missing key"}})),
    )
    .await;
    let client = typedflow_providers::OpenAiClient::builder()
        .ignore_env()
        .base_url(format!("{}/v1", server.uri()))
        .model("m")
        .build()
        .unwrap();
    let err = client
        .chat(&ChatRequest::new().user("hi"))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("no api key was sent; set OPENAI_API_KEY"),
        "{err}"
    );
    // Without a key no authorization header goes out.
    let sent = &server.received_requests().await.unwrap()[0];
    assert!(sent.headers.get("authorization").is_none());
}

#[tokio::test]
async fn retry_after_in_ms_seconds_and_http_date() {
    let limited = || {
        ResponseTemplate::new(429).set_body_json(json!({"error": {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}}))
    };

    let err = error_of(
        limited()
            .insert_header("retry-after-ms", "1500")
            .insert_header("retry-after", "2"),
    )
    .await;
    assert_eq!(err.retry_after(), Some(Duration::from_millis(1500)));

    let err = error_of(limited().insert_header("retry-after", "2.5")).await;
    assert_eq!(err.retry_after(), Some(Duration::from_millis(2500)));

    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
    let err = error_of(limited().insert_header("retry-after", date.as_str())).await;
    let delay = err.retry_after().expect("a date is a delay");
    // HTTP dates have whole seconds; allow for the time the test took.
    assert!(
        delay > Duration::from_secs(100) && delay <= Duration::from_secs(120),
        "{delay:?}"
    );

    let err = error_of(limited()).await;
    assert_eq!(err.retry_after(), None);
    assert!(err.is_retryable());
}

#[tokio::test]
async fn x_should_retry_overrides_the_class() {
    let err = error_of(ResponseTemplate::new(500).insert_header("x-should-retry", "false")).await;
    assert_eq!(err.kind(), ErrorKind::Server);
    assert!(!err.is_retryable());
    let err = error_of(ResponseTemplate::new(400).insert_header("x-should-retry", "true")).await;
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    assert!(err.is_retryable());
}

#[tokio::test]
async fn request_ids_are_kept_for_support() {
    let err = error_of(ResponseTemplate::new(500).insert_header("x-request-id", "req_123")).await;
    assert_eq!(err.api().unwrap().request_id.as_deref(), Some("req_123"));
    assert!(err.to_string().contains("req_123"));
}

fn chunk(delta: Value, finish: Value) -> String {
    json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-test",
           "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
    .to_string()
}

async fn stream_events(body: String) -> Vec<Result<StreamEvent, ErrorKind>> {
    let server = answer(ResponseTemplate::new(200).set_body_raw(body, "text/event-stream")).await;
    let stream = openai(&server.uri())
        .chat_stream(&ChatRequest::new().user("hi"))
        .await
        .unwrap();
    stream.map(|e| e.map_err(|e| e.kind())).collect().await
}

#[tokio::test]
async fn streams_deltas_then_finish_with_usage() {
    let usage_chunk = json!({"id": "c", "object": "chat.completion.chunk", "choices": [],
                             "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}})
    .to_string();
    let body = sse(&[
        &chunk(json!({"role": "assistant", "content": ""}), Value::Null),
        &chunk(json!({"content": "Hel"}), Value::Null),
        &chunk(json!({"content": "lo"}), Value::Null),
        &chunk(json!({}), json!("stop")),
        &usage_chunk,
        "[DONE]",
    ]);
    let events = stream_events(body).await;
    assert_eq!(
        events,
        vec![
            Ok(StreamEvent::Delta("Hel".into())),
            Ok(StreamEvent::Delta("lo".into())),
            Ok(StreamEvent::Finish {
                reason: FinishReason::Stop,
                usage: Some(Usage::new(9, 2)),
                model: Some("gpt-test".into())
            }),
        ]
    );
}

#[tokio::test]
async fn the_stream_request_asks_for_usage() {
    let server =
        answer(ResponseTemplate::new(200).set_body_raw(sse(&["[DONE]"]), "text/event-stream"))
            .await;
    let reply = openai(&server.uri())
        .chat_stream(&ChatRequest::new().user("hi"))
        .await
        .unwrap();
    let reply = reply.collect_response().await.unwrap();
    // `[DONE]` without any finish reason is a proper, if unexplained, end.
    assert_eq!(reply.finish_reason, FinishReason::Unknown);
    let sent = body(&server.received_requests().await.unwrap()[0]);
    assert_eq!(sent["stream"], json!(true));
    assert_eq!(sent["stream_options"], json!({"include_usage": true}));
}

#[tokio::test]
async fn a_stream_may_end_after_its_finish_without_done() {
    let body = sse(&[
        &chunk(json!({"content": "ok"}), Value::Null),
        &chunk(json!({}), json!("length")),
    ]);
    let events = stream_events(body).await;
    assert_eq!(events.len(), 2);
    assert!(matches!(
        &events[1],
        Ok(StreamEvent::Finish {
            reason: FinishReason::Length,
            usage: None,
            ..
        })
    ));
}

#[tokio::test]
async fn empty_finish_reasons_in_intermediate_chunks_do_not_end_the_stream() {
    let body = sse(&[
        &chunk(json!({"content": "a"}), json!("")),
        &chunk(json!({"content": "b"}), json!("")),
        &chunk(json!({}), json!("stop")),
        "[DONE]",
    ]);
    let events = stream_events(body).await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[1], Ok(StreamEvent::Delta("b".into())));
}

#[tokio::test]
async fn a_stream_cut_before_its_finish_is_an_error() {
    let body = sse(&[&chunk(json!({"content": "The answer is"}), Value::Null)]);
    let events = stream_events(body).await;
    assert_eq!(
        events,
        vec![
            Ok(StreamEvent::Delta("The answer is".into())),
            Err(ErrorKind::StreamCut)
        ]
    );

    // Cut in the middle of an event: the half event is not dispatched.
    let mut body = sse(&[&chunk(json!({"content": "a"}), Value::Null)]);
    body.push_str("data: {\"choices\": [{\"delta\": {\"content\": \"b\"");
    let events = stream_events(body).await;
    assert_eq!(
        events,
        vec![
            Ok(StreamEvent::Delta("a".into())),
            Err(ErrorKind::StreamCut)
        ]
    );

    let server = answer(ResponseTemplate::new(200).set_body_raw(
        sse(&[&chunk(json!({"content": "a"}), Value::Null)]),
        "text/event-stream",
    ))
    .await;
    let err = openai(&server.uri())
        .chat_stream(&ChatRequest::new().user("hi"))
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("the answer is incomplete"),
        "{err}"
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_malformed_chunk_is_a_bad_response_and_stops_the_stream() {
    let body = sse(&[
        &chunk(json!({"content": "a"}), Value::Null),
        "{\"id\": \"c\", \"choices\": [{\"delta\": {\"con",
        &chunk(json!({"content": "b"}), Value::Null),
        "[DONE]",
    ]);
    let events = stream_events(body).await;
    assert_eq!(
        events,
        vec![
            Ok(StreamEvent::Delta("a".into())),
            Err(ErrorKind::BadResponse)
        ]
    );
}

#[tokio::test]
async fn an_error_inside_the_stream_is_classified() {
    let body = sse(&[
        &chunk(json!({"content": "a"}), Value::Null),
        &json!({"error": {"code": 500, "message": "slot unavailable", "type": "server_error"}})
            .to_string(),
    ]);
    let events = stream_events(body).await;
    assert_eq!(
        events,
        vec![Ok(StreamEvent::Delta("a".into())), Err(ErrorKind::Server)]
    );
}

#[tokio::test]
async fn errors_before_the_stream_come_from_chat_stream() {
    let server = answer(
        ResponseTemplate::new(429)
            .set_body_json(json!({"error": {"message": "slow", "code": "rate_limit_exceeded"}}))
            .insert_header("retry-after", "1"),
    )
    .await;
    let err = openai(&server.uri())
        .chat_stream(&ChatRequest::new().user("hi"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
}

#[derive(serde::Deserialize, schemars::JsonSchema, Debug, PartialEq)]
struct Weather {
    city: String,
    celsius: f64,
}

#[tokio::test]
async fn structured_output_sends_the_schema_and_parses_the_reply() {
    let server = answer(
        ResponseTemplate::new(200)
            .set_body_json(completion(r#"{"city": "Oslo", "celsius": -3.5}"#, "stop")),
    )
    .await;
    let weather: Weather = openai(&server.uri())
        .structured(&ChatRequest::new().user("weather?"))
        .await
        .unwrap();
    assert_eq!(
        weather,
        Weather {
            city: "Oslo".into(),
            celsius: -3.5
        }
    );

    let sent = body(&server.received_requests().await.unwrap()[0]);
    let format = &sent["response_format"];
    assert_eq!(format["type"], "json_schema");
    assert_eq!(format["json_schema"]["name"], "Weather");
    assert_eq!(format["json_schema"]["schema"]["type"], "object");
    assert_eq!(
        format["json_schema"]["schema"]["required"],
        json!(["city", "celsius"])
    );
}

#[tokio::test]
async fn structured_output_that_does_not_fit_names_the_path() {
    let server = answer(
        ResponseTemplate::new(200)
            .set_body_json(completion(r#"{"city": "Oslo", "celsius": "cold"}"#, "stop")),
    )
    .await;
    let err = openai(&server.uri())
        .structured::<Weather>(&ChatRequest::new().user("weather?"))
        .await
        .unwrap_err();
    match &err {
        ProviderError::InvalidOutput {
            path,
            type_name,
            output,
            ..
        } => {
            assert_eq!(path, "celsius");
            assert!(type_name.ends_with("Weather"));
            assert!(output.contains("cold"));
        }
        other => panic!("expected invalid output, got {other:?}"),
    }
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn max_completion_tokens_can_replace_max_tokens() {
    let server = answer(ResponseTemplate::new(200).set_body_json(completion("ok", "stop"))).await;
    let client = typedflow_providers::OpenAiClient::builder()
        .ignore_env()
        .base_url(format!("{}/v1", server.uri()))
        .model("o-test")
        .max_completion_tokens(true)
        .stream_usage(false)
        .header("openai-organization", "org-1")
        .build()
        .unwrap();
    client
        .chat(&ChatRequest::new().user("hi").max_tokens(5))
        .await
        .unwrap();
    let sent = &server.received_requests().await.unwrap()[0];
    assert_eq!(body(sent)["max_completion_tokens"], 5);
    assert!(body(sent).get("max_tokens").is_none());
    assert_eq!(sent.headers.get("openai-organization").unwrap(), "org-1");
}
