//! The crate's retry loop over real HTTP answers: what is retried, how long it is asked
//! to wait, and when it stops. Delays are recorded by an injected sleeper, not waited.

#![cfg(all(feature = "openai", feature = "anthropic"))]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly; helpers outside #[test] fns unwrap too"
)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{openai, sse};
use serde_json::json;
use typedflow_providers::{ChatModel, ChatRequest, ErrorKind, RetryConfig};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(
        json!({"choices": [{"message": {"content": "done"}, "finish_reason": "stop"}]}),
    )
}

/// Answers with `first` for the first `times` requests, then `then`.
async fn server(first: ResponseTemplate, times: u64, then: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(first)
        .up_to_n_times(times)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(then)
        .mount(&server)
        .await;
    server
}

/// Runs a chat under `retry`, returning the outcome, the delays asked for and the
/// number of requests the server saw.
async fn run(
    server: &MockServer,
    retry: &RetryConfig,
) -> (Result<String, ErrorKind>, Vec<Duration>, usize) {
    let client = openai(&server.uri());
    let request = ChatRequest::new().user("hi");
    let delays = Arc::new(Mutex::new(Vec::new()));
    let recorded = delays.clone();
    let result = retry
        .run_with_sleep(
            |_| client.chat(&request),
            move |d| {
                recorded.lock().unwrap().push(d);
                async {}
            },
        )
        .await;
    let requests = server.received_requests().await.unwrap().len();
    let delays = delays.lock().unwrap().clone();
    (
        result.map(|r| r.text).map_err(|e| e.kind()),
        delays,
        requests,
    )
}

fn policy() -> RetryConfig {
    RetryConfig::default()
        .with_attempts(4)
        .with_initial_backoff(Duration::from_millis(100))
        .with_factor(2.0)
        .with_max_backoff(Duration::from_secs(10))
}

#[tokio::test]
async fn a_rate_limit_is_retried_after_the_servers_delay() {
    let limited = ResponseTemplate::new(429)
        .set_body_json(json!({"error": {"message": "slow down", "code": "rate_limit_exceeded"}}))
        .insert_header("retry-after", "2");
    let server = server(limited, 1, ok()).await;
    let (result, delays, requests) = run(&server, &policy()).await;
    assert_eq!(result, Ok("done".into()));
    assert_eq!(delays, [Duration::from_secs(2)]);
    assert_eq!(requests, 2);
}

#[tokio::test]
async fn server_errors_back_off_exponentially_and_give_up() {
    let server = server(ResponseTemplate::new(503), 10, ok()).await;
    let (result, delays, requests) = run(&server, &policy()).await;
    assert_eq!(result, Err(ErrorKind::Server));
    assert_eq!(
        delays,
        [
            Duration::from_millis(100),
            Duration::from_millis(200),
            Duration::from_millis(400)
        ]
    );
    assert_eq!(requests, 4);
}

#[tokio::test]
async fn non_retryable_errors_are_not_retried() {
    for status in [400, 401, 403, 404, 422] {
        let server = server(ResponseTemplate::new(status), 10, ok()).await;
        let (result, delays, requests) = run(&server, &policy()).await;
        assert!(result.is_err(), "{status}");
        assert!(delays.is_empty(), "{status}");
        assert_eq!(requests, 1, "{status}");
    }
    let quota = ResponseTemplate::new(429)
        .set_body_json(json!({"error": {"message": "no money", "code": "insufficient_quota"}}));
    let server = server(quota, 10, ok()).await;
    let (result, _, requests) = run(&server, &policy()).await;
    assert_eq!((result, requests), (Err(ErrorKind::QuotaExhausted), 1));
}

#[tokio::test]
async fn a_delay_beyond_the_cap_stops_instead_of_waiting() {
    let limited = ResponseTemplate::new(429).insert_header("retry-after", "3600");
    let server = server(limited, 10, ok()).await;
    let (result, delays, requests) = run(&server, &policy()).await;
    assert_eq!(result, Err(ErrorKind::RateLimited));
    assert!(delays.is_empty());
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn x_should_retry_false_is_obeyed() {
    let server = server(
        ResponseTemplate::new(500).insert_header("x-should-retry", "false"),
        10,
        ok(),
    )
    .await;
    let (result, delays, requests) = run(&server, &policy()).await;
    assert_eq!(
        (result, delays.len(), requests),
        (Err(ErrorKind::Server), 0, 1)
    );
}

#[tokio::test]
async fn a_cut_stream_is_retried_as_a_whole() {
    let cut = ResponseTemplate::new(200).set_body_raw(
        sse(&[r#"{"choices":[{"delta":{"content":"The ans"}}]}"#]),
        "text/event-stream",
    );
    let full = ResponseTemplate::new(200).set_body_raw(
        sse(&[
            r#"{"choices":[{"delta":{"content":"The answer"},"finish_reason":"stop"}]}"#,
            "[DONE]",
        ]),
        "text/event-stream",
    );
    let server = server(cut, 1, full).await;
    let client = openai(&server.uri());
    let request = ChatRequest::new().user("hi");
    let mut seen = Vec::new();
    let reply = policy()
        .run_with_sleep(
            |_| async {
                let stream = client.chat_stream(&request).await?;
                stream.collect_response().await
            },
            |d| {
                seen.push(d);
                async {}
            },
        )
        .await
        .unwrap();
    assert_eq!(reply.text, "The answer");
    assert_eq!(seen, [Duration::from_millis(100)]);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}
