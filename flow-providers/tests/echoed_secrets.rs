//! Servers and proxies echo secrets back: in an error's message, `code`, `type` or
//! `param`, in a request-id header, in a `200` body carrying an in-band error, in an SSE
//! `error` event, in a body that does not parse. None of it may leave the crate: not in
//! a `ProviderError`'s `Display` or `Debug`, not in any tracing event or span field, not
//! in a metric label.
//!
//! Tracing is captured by a global subscriber (installed once for this test binary), so
//! events from every thread are seen, not only the test's own.

#![cfg(all(feature = "openai", feature = "anthropic"))]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly; helpers outside #[test] fns unwrap too"
)]

mod common;

use std::sync::OnceLock;

use common::{Capture, KEY, PROXY_SECRET, client_with_secrets, reply_text, sse, sse_named};
use metrics_util::debugging::DebuggingRecorder;
use serde_json::{Value, json};
use tracing_subscriber::fmt::format::FmtSpan;
use typedflow_providers::{ChatRequest, ErrorKind};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// What an echoing server sends back.
fn echo() -> String {
    format!("key {KEY} and header {PROXY_SECRET}")
}

/// Everything traced by this test binary so far, from every thread.
fn traced() -> String {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    let capture = CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let writer = capture.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_span_events(FmtSpan::FULL)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        capture
    });
    capture.text()
}

fn assert_clean(case: &str, text: &str) {
    assert!(!text.contains(KEY), "{case}: the key leaked:\n{text}");
    assert!(
        !text.contains(PROXY_SECRET),
        "{case}: a header secret leaked:\n{text}"
    );
}

/// A server answering every request with `template`.
async fn server(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

fn json_answer(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("x-request-id", format!("req-{KEY}").as_str())
        .insert_header("request-id", format!("req-{PROXY_SECRET}").as_str())
        .set_body_json(body)
}

fn sse_answer(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("x-request-id", format!("req-{KEY}").as_str())
        .set_body_raw(body, "text/event-stream")
}

/// OpenAI's error object, with the secret in every field a server fills in.
fn openai_error() -> Value {
    json!({"message": echo(), "type": echo(), "param": echo(), "code": echo()})
}

/// Anthropic's error object, likewise.
fn anthropic_error() -> Value {
    json!({"type": echo(), "message": echo()})
}

/// Runs `case` against a server answering `template`, and checks the error and
/// everything traced.
async fn check(case: &str, provider: &str, stream: bool, template: ResponseTemplate) {
    traced();
    let server = server(template).await;
    let model = client_with_secrets(provider, &server.uri());
    let err = reply_text(&*model, stream).await.expect_err(case);
    let shown = format!("{err}\n{err:?}\n{err:#?}");
    assert_clean(case, &shown);
    // The echo is there, redacted: the message still says what the server said.
    assert!(shown.contains("[redacted]"), "{case}: {shown}");
    let traced = traced();
    assert!(
        traced.contains("llm request failed"),
        "{case}: nothing traced"
    );
    assert_clean(case, &traced);
}

#[tokio::test]
async fn openai_error_answers_never_show_a_secret() {
    let body = json!({"error": openai_error()});
    for stream in [false, true] {
        let case = format!("openai non-2xx stream={stream}");
        check(&case, "openai", stream, json_answer(401, body.clone())).await;
        let case = format!("openai 429 stream={stream}");
        check(&case, "openai", stream, json_answer(429, body.clone())).await;
    }
    check(
        "openai 200 in-band error",
        "openai",
        false,
        json_answer(200, body.clone()),
    )
    .await;
    check(
        "openai sse error event",
        "openai",
        true,
        sse_answer(sse(&[
            r#"{"choices":[{"delta":{"content":"a"}}]}"#,
            &body.to_string(),
        ])),
    )
    .await;
    // A body that does not parse: serde's message quotes the offending value.
    check(
        "openai unparsable 200",
        "openai",
        false,
        json_answer(200, json!({"choices": echo()})),
    )
    .await;
    check(
        "openai unparsable chunk",
        "openai",
        true,
        sse_answer(sse(&[&json!({"choices": echo()}).to_string()])),
    )
    .await;
}

#[tokio::test]
async fn anthropic_error_answers_never_show_a_secret() {
    let body = json!({"type": "error", "error": anthropic_error()});
    for stream in [false, true] {
        let case = format!("anthropic non-2xx stream={stream}");
        check(&case, "anthropic", stream, json_answer(401, body.clone())).await;
        let case = format!("anthropic 529 stream={stream}");
        check(&case, "anthropic", stream, json_answer(529, body.clone())).await;
    }
    check(
        "anthropic 200 in-band error",
        "anthropic",
        false,
        json_answer(200, body.clone()),
    )
    .await;
    check(
        "anthropic sse error event",
        "anthropic",
        true,
        sse_answer(sse_named(&[
            (
                "message_start",
                r#"{"type":"message_start","message":{"model":"m"}}"#,
            ),
            ("error", &body.to_string()),
        ])),
    )
    .await;
    check(
        "anthropic unparsable 200",
        "anthropic",
        false,
        json_answer(200, json!({"content": echo()})),
    )
    .await;
}

#[test]
fn a_secret_never_becomes_a_metric_label() {
    traced();
    let recorder = DebuggingRecorder::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let server = server(json_answer(401, json!({"error": openai_error()}))).await;
            // A careless caller puts the key where the model goes.
            let request = ChatRequest::new().user("hi").model(format!("m-{KEY}"));
            let model = client_with_secrets("openai", &server.uri());
            let err = model.chat(&request).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Authentication);
            assert_clean("error", &format!("{err} {err:?}"));
        });
    });
    let labels: String = recorder
        .snapshotter()
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, ..)| format!("{:?}\n", key.key()))
        .collect();
    assert!(labels.contains("llm_requests_total"), "{labels}");
    assert_clean("metric labels", &labels);
    assert_clean("traced", &traced());
}

#[tokio::test]
async fn the_base_urls_password_is_redacted_like_the_key() {
    traced();
    // This client holds no key: the answer echoes only the URL's password.
    let server = server(ResponseTemplate::new(401).set_body_json(
        json!({"error": {"message": "bad credentials alice:pw%2Fone-SECRET and pw/one-SECRET"}}),
    ))
    .await;
    let address = server.uri().trim_start_matches("http://").to_owned();
    let client = typedflow_providers::OpenAiClient::builder()
        .ignore_env()
        .base_url(format!("http://alice:pw%2Fone-SECRET@{address}/v1"))
        .model("m")
        .build()
        .unwrap();
    let err = reply_text(&client, false).await.unwrap_err();
    let shown = format!("{err} {err:?}");
    // Written as in the URL and percent-decoded: both are gone.
    assert!(!shown.contains("one-SECRET"), "{shown}");
    assert!(shown.contains("alice:[redacted]"), "{shown}");
    assert!(!traced().contains("one-SECRET"));
}
