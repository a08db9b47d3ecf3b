//! The runtime's retry policy over real HTTP answers: what is retried, how long it is
//! asked to wait, and when it stops. A client used outside a flow is retried by
//! `NodePolicies` with a `RetryPolicy`, the same mechanism `#[node(retry(..))]` uses.
//! Delays are read from the policy's observer; backoffs are a few milliseconds, so the
//! real waits are short (tokio's paused clock does not mix with real sockets).

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
use typedflow::policy::{
    Backoff, Jitter, NodePolicies, Observer, PolicyError, RetryPolicy, RetryScheduled,
};
use typedflow_providers::{ChatModel, ChatRequest, ErrorKind};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Keeps every delay the retry policy scheduled.
#[derive(Default)]
struct Delays(Mutex<Vec<Duration>>);

impl Observer for Delays {
    fn on_retry(&self, event: &RetryScheduled) {
        self.0.lock().unwrap().push(event.delay);
    }
}

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

/// 4 attempts, 10 ms doubling up to 1 s, no jitter, server delays up to 10 s.
fn policy() -> RetryPolicy {
    RetryPolicy::new(4)
        .unwrap()
        .with_backoff(
            Backoff::exponential(Duration::from_millis(10), 2.0, Duration::from_secs(1)).unwrap(),
        )
        .with_jitter(Jitter::None)
        .with_max_retry_after(Duration::from_secs(10))
}

/// What a call under the retry policy gave: the text or the error's kind, the number of
/// attempts, the delays scheduled and the number of requests the server saw.
#[derive(Debug, PartialEq)]
struct Outcome {
    result: Result<String, ErrorKind>,
    attempts: u32,
    delays: Vec<Duration>,
    requests: usize,
}

/// Runs `call` (a chat with the client for `server`) under `policy`.
async fn run(server: &MockServer, policy: RetryPolicy, stream: bool) -> Outcome {
    let client = openai(&server.uri());
    let delays = Arc::new(Delays::default());
    let policies = NodePolicies::new("llm")
        .with_observer(delays.clone())
        .with_retry(policy);
    let result = policies
        .call(ChatRequest::new().user("hi"), |request: ChatRequest| {
            let client = &client;
            async move {
                if stream {
                    // A stream is retried as a whole: its text is only used once complete.
                    client.chat_stream(&request).await?.collect_response().await
                } else {
                    client.chat(&request).await
                }
            }
        })
        .await;
    let (result, attempts) = match result {
        Ok(reply) => (Ok(reply.text), 0),
        Err(err) => {
            let attempts = err.attempts();
            let kind = match &err {
                PolicyError::Node { source, .. } | PolicyError::Exhausted { source, .. } => {
                    source.kind()
                }
                other => panic!("not a provider error: {other}"),
            };
            (Err(kind), attempts)
        }
    };
    let delays = delays.0.lock().unwrap().clone();
    Outcome {
        result,
        attempts,
        delays,
        requests: server.received_requests().await.unwrap().len(),
    }
}

#[tokio::test]
async fn a_rate_limit_is_retried_after_the_servers_delay() {
    let limited = ResponseTemplate::new(429)
        .set_body_json(json!({"error": {"message": "slow down", "code": "rate_limit_exceeded"}}))
        .insert_header("retry-after-ms", "300");
    let server = server(limited, 1, ok()).await;
    let outcome = run(&server, policy(), false).await;
    assert_eq!(
        outcome,
        Outcome {
            result: Ok("done".into()),
            attempts: 0,
            // The server's delay, being longer than the backoff's 10 ms.
            delays: vec![Duration::from_millis(300)],
            requests: 2,
        }
    );
}

#[tokio::test]
async fn server_errors_back_off_exponentially_and_give_up() {
    let server = server(ResponseTemplate::new(503), 10, ok()).await;
    let outcome = run(&server, policy(), false).await;
    let ms = Duration::from_millis;
    assert_eq!(
        outcome,
        Outcome {
            result: Err(ErrorKind::Server),
            attempts: 4,
            delays: vec![ms(10), ms(20), ms(40)],
            requests: 4,
        }
    );
}

#[tokio::test]
async fn non_retryable_errors_are_not_retried() {
    for status in [400, 401, 403, 404, 422] {
        let server = server(ResponseTemplate::new(status), 10, ok()).await;
        let outcome = run(&server, policy(), false).await;
        assert!(outcome.result.is_err(), "{status}");
        assert!(outcome.delays.is_empty(), "{status}");
        assert_eq!((outcome.attempts, outcome.requests), (1, 1), "{status}");
    }
    let quota = ResponseTemplate::new(429)
        .set_body_json(json!({"error": {"message": "no money", "code": "insufficient_quota"}}));
    let server = server(quota, 10, ok()).await;
    let outcome = run(&server, policy(), false).await;
    assert_eq!(
        (outcome.result, outcome.requests),
        (Err(ErrorKind::QuotaExhausted), 1)
    );
}

#[tokio::test]
async fn a_delay_beyond_max_retry_after_stops_instead_of_waiting() {
    let limited = ResponseTemplate::new(429).insert_header("retry-after", "3600");
    let server = server(limited, 10, ok()).await;
    let outcome = run(&server, policy(), false).await;
    assert_eq!(
        outcome,
        Outcome {
            result: Err(ErrorKind::RateLimited),
            attempts: 1,
            delays: vec![],
            requests: 1,
        }
    );
}

#[tokio::test]
async fn x_should_retry_overrides_the_class() {
    let refused = server(
        ResponseTemplate::new(500).insert_header("x-should-retry", "false"),
        10,
        ok(),
    )
    .await;
    let outcome = run(&refused, policy(), false).await;
    assert_eq!(
        (outcome.result, outcome.delays.len(), outcome.requests),
        (Err(ErrorKind::Server), 0, 1)
    );
    let invited = server(
        ResponseTemplate::new(400).insert_header("x-should-retry", "true"),
        1,
        ok(),
    )
    .await;
    let outcome = run(&invited, policy(), false).await;
    assert_eq!((outcome.result, outcome.requests), (Ok("done".into()), 2));
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
    let outcome = run(&server, policy(), true).await;
    assert_eq!(
        outcome,
        Outcome {
            result: Ok("The answer".into()),
            attempts: 0,
            delays: vec![Duration::from_millis(10)],
            requests: 2,
        }
    );
}
