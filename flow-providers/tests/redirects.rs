//! A redirect never carries a secret to another origin: the API host answers `307` to a
//! second loopback server (another port is another origin), and that server must never
//! see the key or a header given with `.header(..)`, for both clients, plain and streamed.

#![cfg(all(feature = "openai", feature = "anthropic"))]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly; helpers outside #[test] fns unwrap too"
)]

mod common;

use common::{KEY, PROXY_SECRET, client_with_secrets, reply_text, sse};
use typedflow_providers::ErrorKind;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// An API host redirecting every request to `target`, which answers as a working
/// OpenAI-compatible server would (so a followed redirect would succeed).
async fn servers(status: u16) -> (MockServer, MockServer) {
    let target = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            sse(&[
                r#"{"choices":[{"delta":{"content":"hi"},"finish_reason":"stop"}]}"#,
                "[DONE]",
            ]),
            "text/event-stream",
        ))
        .mount(&target)
        .await;
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(status).insert_header(
            "location",
            format!("{}/v1/chat/completions?token=abc", target.uri()),
        ))
        .mount(&api)
        .await;
    (api, target)
}

/// Every header value and the body the target server received, as text.
async fn seen_by(target: &MockServer) -> String {
    let mut seen = String::new();
    for request in target.received_requests().await.unwrap_or_default() {
        for (name, value) in &request.headers {
            seen.push_str(&format!(
                "{name}: {}\n",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        seen.push_str(&String::from_utf8_lossy(&request.body));
    }
    seen
}

#[tokio::test]
async fn a_cross_origin_redirect_never_receives_a_secret() {
    for status in [301, 302, 303, 307, 308] {
        for stream in [false, true] {
            for provider in ["openai", "anthropic"] {
                let (api, target) = servers(status).await;
                let model = client_with_secrets(provider, &api.uri());
                let result = reply_text(&*model, stream).await;
                let case = format!("{provider} stream={stream} status={status}");

                let seen = seen_by(&target).await;
                assert!(
                    !seen.contains(KEY),
                    "{case}: the key went to another origin:\n{seen}"
                );
                assert!(
                    !seen.contains(PROXY_SECRET),
                    "{case}: a secret header went to another origin:\n{seen}"
                );

                // The redirect is a classified error naming the status and the origin.
                let err = result.expect_err(&case);
                assert_eq!(err.kind(), ErrorKind::Redirected, "{case}: {err}");
                assert!(!err.is_retryable(), "{case}");
                let shown = format!("{err} {err:?}");
                assert!(shown.contains(&status.to_string()), "{case}: {shown}");
                assert!(shown.contains(&target.uri()), "{case}: {shown}");
                // Only the origin: not the path, nor a query that may hold a token.
                assert!(!shown.contains("token=abc"), "{case}: {shown}");
                assert!(
                    !shown.contains(KEY) && !shown.contains(PROXY_SECRET),
                    "{case}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_redirect_without_a_usable_location_is_still_an_error() {
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(307).insert_header("location", "::not a url::"))
        .mount(&api)
        .await;
    let model = client_with_secrets("openai", &api.uri());
    let err = reply_text(&*model, false).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Redirected, "{err}");
    assert!(err.to_string().contains("307"), "{err}");
}
