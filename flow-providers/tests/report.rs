//! An error that reaches a person reads as sentences: the message with its hint, then
//! each cause, never a `Debug` dump.

#![cfg(feature = "openai")]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly; helpers outside #[test] fns unwrap too"
)]

use std::time::Duration;

use serde_json::json;
use typedflow_providers::{ChatModel, ChatRequest, OpenAiClient, Report, report};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Stands for the runtime's `FlowError::Node`, which keeps the node's error as its source.
#[derive(Debug, thiserror::Error)]
#[error("flow `chat`: node `answer` failed at step 1 after 1 attempt(s)")]
struct NodeFailed(#[source] typedflow_providers::ProviderError);

#[tokio::test]
async fn a_refused_key_reads_as_a_sentence_with_the_variable_to_set() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": {"message": "missing key", "type": "authentication_error"}}),
        ))
        .mount(&server)
        .await;
    // No key given and none read from the environment: a local server's setup.
    let client = OpenAiClient::builder()
        .ignore_env()
        .base_url(format!("{}/v1", server.uri()))
        .model("m")
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let err = client
        .chat(&ChatRequest::new().user("hi"))
        .await
        .unwrap_err();

    // As a flow wraps it: the node's error is the cause.
    let wrapped = NodeFailed(err);
    let shown = format!("{:?}", Report::from(wrapped));
    assert_eq!(
        shown,
        "flow `chat`: node `answer` failed at step 1 after 1 attempt(s)\n  \
         caused by: authentication failed: openai answered http 401 (authentication_error): \
         missing key; no api key was sent; set OPENAI_API_KEY"
    );
    assert!(!shown.contains('{'), "a Debug dump: {shown}");
}

#[test]
fn report_and_report_debug_agree() {
    let err = std::io::Error::other("disk full");
    assert_eq!(report(&err).to_string(), "disk full");
    assert_eq!(format!("{:?}", Report::from(err)), "disk full");
}
