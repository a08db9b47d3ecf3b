//! An API key never shows: not in the `Debug` output of builders and clients, not in
//! errors (even when the server echoes it), not in anything traced, at any level.

#![cfg(all(feature = "openai", feature = "anthropic"))]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly; helpers outside #[test] fns unwrap too"
)]

mod common;

use common::{Capture, KEY, anthropic, openai, sse};
use serde_json::json;
use tracing_subscriber::fmt::format::FmtSpan;
use typedflow_providers::{AnthropicClient, ChatModel, ChatRequest, OpenAiClient};
use wiremock::matchers::{body_partial_json, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[test]
fn builders_and_clients_redact_the_key_in_debug() {
    let builder = OpenAiClient::builder()
        .ignore_env()
        .api_key(KEY)
        .model("m")
        .header("x-proxy-key", KEY);
    let shown = format!("{builder:?}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("[redacted]"), "{shown}");

    let client = builder.build().unwrap();
    let shown = format!("{client:?} {client:#?}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("[redacted]"), "{shown}");

    let client = AnthropicClient::builder()
        .ignore_env()
        .api_key(KEY)
        .model("m")
        .build()
        .unwrap();
    let shown = format!("{client:?}");
    assert!(!shown.contains(KEY), "{shown}");
}

#[test]
fn config_errors_do_not_show_header_values_or_url_credentials() {
    let err = OpenAiClient::builder()
        .ignore_env()
        .model("m")
        .api_key("bad\nkey-SECRET")
        .build()
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("SECRET"), "{shown}");

    let err = OpenAiClient::builder()
        .ignore_env()
        .model("m")
        .base_url("http://user:SECRET@[::1")
        .build()
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
}

#[tokio::test]
async fn nothing_traced_or_returned_contains_the_key() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    // A server that echoes the key back in its error, as some proxies do.
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"messages": [{"content": "fail"}]})))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": {"message": format!("Incorrect API key provided: {KEY}"), "code": "invalid_api_key"}}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"stream": true})))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            sse(&[r#"{"choices":[{"delta":{"content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":4,"completion_tokens":1}}"#, "[DONE]"]),
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
    let reply = client.chat(&ChatRequest::new().user("hi")).await.unwrap();
    assert_eq!(reply.text, "hello");
    let streamed = client
        .chat_stream(&ChatRequest::new().user("hi"))
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(streamed.text, "hi");

    let err = client
        .chat(&ChatRequest::new().user("fail"))
        .await
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(
        shown.contains("Incorrect API key provided: [redacted]"),
        "{shown}"
    );

    let err = anthropic(&server.uri())
        .chat(&ChatRequest::new().user("fail"))
        .await
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains(KEY));

    // A network error, whose transport error might carry the request.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = openai(&format!("http://127.0.0.1:{port}"))
        .chat(&ChatRequest::new().user("hi"))
        .await
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains(KEY));

    let traced = capture.text();
    // The capture works: the request spans and their fields are in it...
    assert!(traced.contains("llm.request"), "{traced}");
    assert!(traced.contains("prompt_tokens=12"), "{traced}");
    assert!(traced.contains("completion_tokens=3"), "{traced}");
    assert!(
        traced.contains("outcome=\"authentication\"") || traced.contains("outcome=authentication"),
        "{traced}"
    );
    // ...and the key is not.
    assert!(!traced.contains(KEY), "the key leaked into tracing output");
    assert!(
        !traced.contains("SECRET"),
        "part of the key leaked into tracing output"
    );
}

#[test]
fn debug_of_a_client_hides_the_base_urls_credentials() {
    let client = OpenAiClient::builder()
        .ignore_env()
        .base_url("https://alice:pass-SECRET@proxy.example/v1")
        .model("m")
        .build()
        .unwrap();
    let shown = format!("{client:?} {client:#?}");
    assert!(!shown.contains("pass-SECRET"), "{shown}");
    assert!(!shown.contains("alice"), "{shown}");
    assert!(shown.contains("proxy.example"), "{shown}");

    let client = AnthropicClient::builder()
        .ignore_env()
        .base_url("http://bob:pass-SECRET@127.0.0.1:9")
        .model("m")
        .build()
        .unwrap();
    let shown = format!("{client:?}");
    assert!(
        !shown.contains("pass-SECRET") && !shown.contains("bob"),
        "{shown}"
    );

    let builder = OpenAiClient::builder().base_url("https://alice:pass-SECRET@proxy.example/v1");
    let shown = format!("{builder:?}");
    assert!(
        !shown.contains("pass-SECRET") && !shown.contains("alice"),
        "{shown}"
    );
}
