//! Live tests against real servers: the llama.cpp server (its OpenAI and Anthropic
//! endpoints) and llmock (injected faults, and a verdict on the client's retries).
//!
//! Every test here is `#[ignore]`d with the reason, so a plain `cargo test` reports
//! them as ignored rather than passing them without a server. Run them with `--ignored`
//! (`.ci/run` does): each then reads its server's address from the environment and
//! fails when the variable is unset or the server does not answer.
//! `.ci/llm-servers.sh` starts both servers and sets:
//!
//! | variable | what | example |
//! |---|---|---|
//! | `FLOW_TEST_OPENAI_BASE_URL` | llama.cpp's OpenAI-compatible base URL | `http://127.0.0.1:8092/v1` |
//! | `FLOW_TEST_ANTHROPIC_BASE_URL` | llama.cpp's Anthropic-compatible base URL | `http://127.0.0.1:8092` |
//! | `FLOW_TEST_API_KEY` | the key the server was started with (`--api-key`); required with either URL, for the wrong-key tests | `flow-live-test-key` |
//! | `FLOW_TEST_MODEL` | the model alias (default `smollm2`) | `smollm2` |
//! | `FLOW_TEST_LLMOCK_URL` | llmock's root URL | `http://127.0.0.1:8091` |
//!
//! With `FLOW_TEST_LLMOCK_VERDICTS` set to a file, each llmock test appends one line with
//! llmock's verdict (calls, faults, errors, warnings) to it, for CI's output.
//!
//! Run with `cargo test -p typedflow-providers --test live -- --ignored`.

#![cfg(all(feature = "openai", feature = "anthropic"))]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly; helpers outside #[test] fns unwrap too"
)]

use std::future::Future;
use std::sync::LazyLock;
use std::time::Duration;

use serde_json::{Value, json};
use typedflow::policy::{Backoff, NodePolicies, PolicyError, RetryPolicy};
use typedflow_providers::{
    AnthropicClient, ChatModel, ChatModelExt as _, ChatRequest, ErrorKind, FinishReason,
    OpenAiClient, ProviderError,
};

/// The server address in `var`. A live test runs only when asked for (`--ignored`), and
/// then a missing variable fails it: it never passes without its server.
fn server(var: &str) -> String {
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => value.trim().trim_end_matches('/').to_owned(),
        _ => panic!(
            "{var} is not set: live tests need their servers; run `bash .ci/run`, or start them \
             with `source .ci/llm-servers.sh && llm_servers_start` (see the module docs)"
        ),
    }
}

fn api_key() -> String {
    std::env::var("FLOW_TEST_API_KEY").expect(
        "FLOW_TEST_API_KEY must be set with the server's --api-key whenever a live server URL is set",
    )
}

fn model() -> String {
    std::env::var("FLOW_TEST_MODEL").unwrap_or_else(|_| "smollm2".to_owned())
}

fn openai(base: &str, key: &str) -> OpenAiClient {
    OpenAiClient::builder()
        .ignore_env()
        .base_url(base)
        .api_key(key)
        .model(model())
        .timeout(Duration::from_secs(120))
        // A plain reply sends no byte until it is complete: on a loaded machine, with
        // requests queued behind the server's two slots, that is longer than the
        // default 60 s read timeout.
        .read_timeout(Duration::from_secs(120))
        .build()
        .expect("valid settings")
}

fn anthropic(base: &str, key: &str) -> AnthropicClient {
    AnthropicClient::builder()
        .ignore_env()
        .base_url(base)
        .api_key(key)
        .model(model())
        .timeout(Duration::from_secs(120))
        // A plain reply sends no byte until it is complete: on a loaded machine, with
        // requests queued behind the server's two slots, that is longer than the
        // default 60 s read timeout.
        .read_timeout(Duration::from_secs(120))
        .build()
        .expect("valid settings")
}

/// A deterministic request: temperature 0 and a fixed seed.
fn greeting() -> ChatRequest {
    ChatRequest::new()
        .system("You are a terse assistant.")
        .user("Name three colours of the rainbow.")
        .temperature(0.0)
        .seed(42)
        .max_tokens(40)
}

/// A prompt far longer than the server's context (2048 tokens).
fn too_long() -> ChatRequest {
    let filler = "the quick brown fox jumps over the lazy dog ".repeat(800);
    ChatRequest::new().user(filler).max_tokens(8)
}

// ---- llama.cpp, OpenAI-compatible endpoint ------------------------------------------

#[tokio::test]
#[ignore = "live: needs llama.cpp's server at FLOW_TEST_OPENAI_BASE_URL; `bash .ci/run` runs it"]
async fn openai_plain_chat() {
    let base = server("FLOW_TEST_OPENAI_BASE_URL");
    let reply = openai(&base, &api_key())
        .chat(&greeting())
        .await
        .expect("a reply from the live server");
    assert!(!reply.text.trim().is_empty());
    assert!(
        matches!(
            reply.finish_reason,
            FinishReason::Stop | FinishReason::Length
        ),
        "{:?}",
        reply.finish_reason
    );
    let usage = reply.usage.expect("llama.cpp reports usage");
    assert!(
        usage.prompt_tokens > 0 && usage.completion_tokens > 0,
        "{usage:?}"
    );
}

#[tokio::test]
#[ignore = "live: needs llama.cpp's server at FLOW_TEST_OPENAI_BASE_URL; `bash .ci/run` runs it"]
async fn openai_stream_concatenates_to_the_plain_reply() {
    let base = server("FLOW_TEST_OPENAI_BASE_URL");
    let client = openai(&base, &api_key());
    let plain = client.chat(&greeting()).await.expect("plain reply");
    let mut deltas = Vec::new();
    let streamed = client
        .chat_stream(&greeting())
        .await
        .expect("stream starts")
        .for_each_delta(|d| deltas.push(d.to_owned()))
        .await
        .expect("stream completes");
    assert!(deltas.len() > 1, "the reply came in pieces: {deltas:?}");
    assert_eq!(deltas.concat(), plain.text);
    assert_eq!(streamed.text, plain.text);
    assert_eq!(streamed.finish_reason, plain.finish_reason);
    assert_eq!(
        streamed.usage.map(|u| u.completion_tokens),
        plain.usage.map(|u| u.completion_tokens)
    );
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code, reason = "the test checks that it parses")]
enum Mood {
    Happy,
    Neutral,
    Sad,
}

/// Bounded fields only, so a grammar-constrained 135M model finishes within max_tokens.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code, reason = "the test checks that it parses")]
struct Review {
    mood: Mood,
    stars: u8,
    recommend: bool,
}

#[tokio::test]
#[ignore = "live: needs llama.cpp's server at FLOW_TEST_OPENAI_BASE_URL; `bash .ci/run` runs it"]
async fn openai_structured_output_parses_into_a_struct() {
    let base = server("FLOW_TEST_OPENAI_BASE_URL");
    let request = ChatRequest::new()
        .user("Review this film in JSON: 'A slow but beautiful story.'")
        .temperature(0.0)
        .seed(42)
        .max_tokens(100);
    let review: Review = openai(&base, &api_key())
        .structured(&request)
        .await
        .expect("schema-shaped output");
    eprintln!("structured output: {review:?}");
}

#[tokio::test]
#[ignore = "live: needs llama.cpp's server at FLOW_TEST_OPENAI_BASE_URL; `bash .ci/run` runs it"]
async fn openai_overlong_prompt_is_context_too_long() {
    let base = server("FLOW_TEST_OPENAI_BASE_URL");
    let err = openai(&base, &api_key())
        .chat(&too_long())
        .await
        .expect_err("the prompt does not fit");
    assert_eq!(err.kind(), ErrorKind::ContextTooLong, "{err}");
    assert!(!err.is_retryable());
}

#[tokio::test]
#[ignore = "live: needs llama.cpp's server at FLOW_TEST_OPENAI_BASE_URL; `bash .ci/run` runs it"]
async fn openai_wrong_key_is_authentication() {
    let base = server("FLOW_TEST_OPENAI_BASE_URL");
    let _ = api_key();
    let err = openai(&base, "wrong-key")
        .chat(&greeting())
        .await
        .expect_err("the key is refused");
    assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
    assert!(!err.is_retryable());
    assert!(
        err.to_string()
            .contains("check the key passed to `.api_key(..)`"),
        "{err}"
    );
}

#[tokio::test]
#[ignore = "live: needs llama.cpp's server at FLOW_TEST_OPENAI_BASE_URL; `bash .ci/run` runs it"]
async fn openai_four_concurrent_requests() {
    let base = server("FLOW_TEST_OPENAI_BASE_URL");
    let client = openai(&base, &api_key());
    let requests: Vec<ChatRequest> = ["red", "green", "blue", "yellow"]
        .iter()
        .map(|c| {
            ChatRequest::new()
                .user(format!("Say the word {c}."))
                .temperature(0.0)
                .seed(1)
                .max_tokens(16)
        })
        .collect();
    let replies = futures::future::join_all(requests.iter().map(|r| client.chat(r))).await;
    assert_eq!(replies.len(), 4);
    for reply in replies {
        let reply = reply.expect("every concurrent request succeeds");
        assert!(!reply.text.trim().is_empty());
    }
}

// ---- llama.cpp, Anthropic-compatible endpoint ---------------------------------------

#[tokio::test]
#[ignore = "live: needs llama.cpp's server at FLOW_TEST_ANTHROPIC_BASE_URL; `bash .ci/run` runs it"]
async fn anthropic_plain_and_streamed_chat_agree() {
    let base = server("FLOW_TEST_ANTHROPIC_BASE_URL");
    let client = anthropic(&base, &api_key());
    let plain = client.chat(&greeting()).await.expect("plain reply");
    assert!(!plain.text.trim().is_empty());
    assert!(
        plain
            .usage
            .is_some_and(|u| u.prompt_tokens > 0 && u.completion_tokens > 0),
        "{:?}",
        plain.usage
    );
    let streamed = client
        .chat_stream(&greeting())
        .await
        .expect("stream starts")
        .collect_response()
        .await
        .expect("stream completes");
    assert_eq!(streamed.text, plain.text);
    assert_eq!(streamed.finish_reason, plain.finish_reason);
}

#[tokio::test]
#[ignore = "live: needs llama.cpp's server at FLOW_TEST_ANTHROPIC_BASE_URL; `bash .ci/run` runs it"]
async fn anthropic_wrong_key_and_overlong_prompt_are_classified() {
    let base = server("FLOW_TEST_ANTHROPIC_BASE_URL");
    let err = anthropic(&base, "wrong-key")
        .chat(&greeting())
        .await
        .expect_err("the key is refused");
    assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
    let err = anthropic(&base, &api_key())
        .chat(&too_long())
        .await
        .expect_err("the prompt does not fit");
    assert_eq!(err.kind(), ErrorKind::ContextTooLong, "{err}");
}

// ---- llama.cpp with tools offered -------------------------------------------------

/// The weather tool the tools test offers.
fn weather_tool() -> typedflow_providers::ToolDefinition {
    typedflow_providers::ToolDefinition::new(
        "get_weather",
        "The current weather in a city.",
        json!({
            "type": "object",
            "properties": {"city": {"type": "string", "description": "The city"}},
            "required": ["city"],
        }),
    )
}

/// The 135M model answers in prose even when it is offered tools (the issue says what
/// was tried): what is checked is that both endpoints accept a request with tools, plain
/// and streamed, and that the answer parses into a reply.
#[tokio::test]
#[ignore = "live: needs llama.cpp's server at FLOW_TEST_OPENAI_BASE_URL and FLOW_TEST_ANTHROPIC_BASE_URL; `bash .ci/run` runs it"]
async fn llama_accepts_a_request_with_tools_and_its_answer_parses() {
    let openai = openai(&server("FLOW_TEST_OPENAI_BASE_URL"), &api_key());
    let anthropic = anthropic(&server("FLOW_TEST_ANTHROPIC_BASE_URL"), &api_key());
    let request = ChatRequest::new()
        .user("What is the weather in Paris?")
        .tool(weather_tool())
        .temperature(0.0)
        .seed(42)
        .max_tokens(16);
    for (model, name) in [
        (&openai as &dyn ChatModel, "openai"),
        (&anthropic as &dyn ChatModel, "anthropic"),
    ] {
        let plain = model
            .chat(&request)
            .await
            .unwrap_or_else(|e| panic!("{name}: {}", typedflow::report(&e)));
        let streamed = model
            .chat_stream(&request)
            .await
            .unwrap_or_else(|e| panic!("{name}: {}", typedflow::report(&e)))
            .collect_response()
            .await
            .unwrap_or_else(|e| panic!("{name}, streamed: {}", typedflow::report(&e)));
        for (reply, how) in [(plain, "plain"), (streamed, "streamed")] {
            // Text, or (should a model ever call the tool) calls with JSON arguments.
            assert!(
                !reply.text.trim().is_empty() || !reply.tool_calls.is_empty(),
                "{name}, {how}: {reply:?}"
            );
            for call in &reply.tool_calls {
                assert_eq!(call.name, "get_weather", "{name}, {how}");
            }
            assert!(
                matches!(
                    reply.finish_reason,
                    FinishReason::Stop | FinishReason::Length | FinishReason::ToolCalls
                ),
                "{name}, {how}: {:?}",
                reply.finish_reason
            );
        }
    }
}

// ---- llmock: injected faults and the verdict ----------------------------------------

/// llmock keeps one scenario queue and one journal: its tests take turns.
static LLMOCK: LazyLock<tokio::sync::Mutex<()>> = LazyLock::new(|| tokio::sync::Mutex::new(()));

struct Llmock {
    base: String,
    http: reqwest::Client,
}

impl Llmock {
    /// A fresh llmock: its journal, queued behaviours and verdict are reset, so nothing
    /// another test left behind is judged with this one.
    async fn new(base: String) -> Self {
        let mock = Llmock {
            base,
            http: reqwest::Client::new(),
        };
        mock.post("/_llmock/reset", json!({})).await;
        let (verdict, report) = mock.verdict().await;
        assert_eq!(verdict["calls"], 0, "llmock was not reset: {report}");
        mock
    }

    /// Prints llmock's verdict in one line (and appends it to the file named by
    /// `FLOW_TEST_LLMOCK_VERDICTS`, which `.ci/run` shows); returns it with the report.
    async fn report(&self, test: &str) -> (Value, String) {
        let (verdict, report) = self.verdict().await;
        let codes: Vec<&str> = verdict["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["code"].as_str())
            .collect();
        let line = format!(
            "llmock verdict for {test}: {} call(s), {} attempt(s), {} fault(s) injected, {} error(s), {} warning(s){}",
            verdict["calls"],
            verdict["attempts"],
            verdict["faults_injected"],
            verdict["errors"],
            verdict["warnings"],
            if codes.is_empty() {
                String::new()
            } else {
                format!(" [{}]", codes.join(", "))
            },
        );
        eprintln!("{line}");
        if let Ok(path) = std::env::var("FLOW_TEST_LLMOCK_VERDICTS") {
            use std::io::Write as _;
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .unwrap_or_else(|e| panic!("cannot append to {path}: {e}"));
            writeln!(file, "{line}").unwrap();
        }
        (verdict, report)
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("llmock at {} is unreachable: {e}", self.base));
        assert!(
            response.status().is_success(),
            "llmock {path}: {}",
            response.status()
        );
        response.json().await.expect("llmock answers json")
    }

    async fn scenario(&self, behaviors: Value) {
        self.post("/_llmock/scenario", json!({ "behaviors": behaviors }))
            .await;
    }

    async fn verdict(&self) -> (Value, String) {
        let get = |format: &'static str| {
            self.http
                .get(format!("{}/_llmock/verdict?format={format}", self.base))
                .send()
        };
        let json = get("json")
            .await
            .expect("verdict")
            .json()
            .await
            .expect("verdict json");
        let text = get("text")
            .await
            .expect("verdict")
            .text()
            .await
            .expect("verdict text");
        (json, text)
    }

    fn openai(&self) -> OpenAiClient {
        OpenAiClient::builder()
            .ignore_env()
            .base_url(format!("{}/v1", self.base))
            .api_key("llmock")
            .model("gpt-4o-mini")
            .build()
            .expect("valid settings")
    }

    fn anthropic(&self) -> AnthropicClient {
        AnthropicClient::builder()
            .ignore_env()
            .base_url(format!("{}/anthropic", self.base))
            .api_key("llmock")
            .model("claude-sonnet-4-5")
            .build()
            .expect("valid settings")
    }
}

/// A retry policy run around any provider call, giving back the provider's error.
struct Retrying(NodePolicies<RetryPolicy>);

impl Retrying {
    async fn run<T, F, Fut>(&self, mut call: F) -> Result<T, ProviderError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        self.0
            .call((), |()| call(0))
            .await
            .map_err(|err| match err {
                PolicyError::Node { source, .. } | PolicyError::Exhausted { source, .. } => source,
                other => panic!("not a provider error: {other}"),
            })
    }
}

async fn streamed(model: &dyn ChatModel, prompt: &str) -> Result<String, ProviderError> {
    let stream = model.chat_stream(&ChatRequest::new().user(prompt)).await?;
    Ok(stream.collect_response().await?.text)
}

#[tokio::test]
#[ignore = "live: needs llmock at FLOW_TEST_LLMOCK_URL; `bash .ci/run` runs it"]
async fn llmock_faults_are_classified() {
    let base = server("FLOW_TEST_LLMOCK_URL");
    let _turn = LLMOCK.lock().await;
    let mock = Llmock::new(base).await;
    let openai = mock.openai();
    let anthropic = mock.anthropic();

    mock.scenario(json!([{"type": "fail", "status": 429, "retry_after": 2, "times": 1}]))
        .await;
    let err = openai
        .chat(&ChatRequest::new().user("rate limited"))
        .await
        .expect_err("429");
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));

    mock.scenario(json!([{"type": "fail", "status": 529, "times": 1}]))
        .await;
    let err = anthropic
        .chat(&ChatRequest::new().user("overloaded"))
        .await
        .expect_err("529");
    assert_eq!(err.kind(), ErrorKind::Overloaded, "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));

    for (model, name) in [
        (&openai as &dyn ChatModel, "openai"),
        (&anthropic as &dyn ChatModel, "anthropic"),
    ] {
        mock.scenario(
            json!([{"type": "stream_fault", "kind": "truncate", "after_chunks": 2, "times": 1}]),
        )
        .await;
        let err = streamed(model, "truncated")
            .await
            .expect_err("a truncated stream");
        assert_eq!(err.kind(), ErrorKind::StreamCut, "{name}: {err}");

        mock.scenario(
            json!([{"type": "stream_fault", "kind": "malformed", "after_chunks": 2, "times": 1}]),
        )
        .await;
        let err = streamed(model, "malformed")
            .await
            .expect_err("a malformed chunk");
        assert_eq!(err.kind(), ErrorKind::BadResponse, "{name}: {err}");

        mock.scenario(
            json!([{"type": "stream_fault", "kind": "disconnect", "after_chunks": 2, "times": 1}]),
        )
        .await;
        let err = streamed(model, "disconnect")
            .await
            .expect_err("a dropped connection");
        assert!(
            matches!(err.kind(), ErrorKind::Network | ErrorKind::StreamCut),
            "{name}: {err}"
        );

        // With no fault queued the same stream completes.
        let text = streamed(model, "fine").await.expect("a clean stream");
        assert!(!text.is_empty(), "{name}");
    }
    // Nothing is retried here, so the verdict may well complain; it is shown, not judged.
    mock.report("llmock_faults_are_classified").await;
}

#[tokio::test]
#[ignore = "live: needs llmock at FLOW_TEST_LLMOCK_URL; `bash .ci/run` runs it"]
async fn llmock_verdict_under_the_retry_loop() {
    let base = server("FLOW_TEST_LLMOCK_URL");
    let _turn = LLMOCK.lock().await;
    let mock = Llmock::new(base).await;
    let openai = mock.openai();
    let anthropic = mock.anthropic();
    // The runtime's retry, as a client outside a flow uses it: 3 attempts, backoff from
    // 200 ms with full jitter, server delays honoured up to 5 s.
    let retry = Retrying(
        NodePolicies::new("llmock").with_retry(
            RetryPolicy::new(3)
                .unwrap()
                .with_backoff(
                    Backoff::exponential(Duration::from_millis(200), 2.0, Duration::from_secs(5))
                        .unwrap(),
                )
                .with_max_retry_after(Duration::from_secs(5)),
        ),
    );

    // Each call has its own prompt, so llmock can tell retries (same body) from calls.
    mock.scenario(json!([{"type": "fail", "status": 429, "retry_after": 2, "times": 1}]))
        .await;
    let request = ChatRequest::new().user("call 1: rate limited once");
    let reply = retry
        .run(|_| openai.chat(&request))
        .await
        .expect("succeeds after the retry-after");
    assert!(!reply.text.is_empty());

    mock.scenario(json!([{"type": "fail", "status": 529, "times": 1}]))
        .await;
    let request = ChatRequest::new().user("call 2: overloaded once");
    retry
        .run(|_| anthropic.chat(&request))
        .await
        .expect("succeeds after the overload");

    mock.scenario(
        json!([{"type": "stream_fault", "kind": "truncate", "after_chunks": 2, "times": 1}]),
    )
    .await;
    retry
        .run(|_| streamed(&openai, "call 3: truncated once"))
        .await
        .expect("the cut stream is retried");

    mock.scenario(
        json!([{"type": "stream_fault", "kind": "malformed", "after_chunks": 2, "times": 1}]),
    )
    .await;
    retry
        .run(|_| streamed(&anthropic, "call 4: malformed once"))
        .await
        .expect("the malformed stream is retried");

    mock.scenario(json!([{"type": "fail", "status": 400, "times": 1}]))
        .await;
    let request = ChatRequest::new().user("call 5: bad request");
    let err = retry
        .run(|_| openai.chat(&request))
        .await
        .expect_err("a 400 is final");
    assert_eq!(err.kind(), ErrorKind::BadRequest);

    mock.scenario(json!([{"type": "fail", "status": 401, "times": 1}]))
        .await;
    let request = ChatRequest::new().user("call 6: unauthorized");
    let err = retry
        .run(|_| anthropic.chat(&request))
        .await
        .expect_err("a 401 is final");
    assert_eq!(err.kind(), ErrorKind::Authentication);

    // A delay beyond the cap: stop rather than wait.
    mock.scenario(json!([{"type": "fail", "status": 429, "retry_after": 60, "times": 1}]))
        .await;
    let request = ChatRequest::new().user("call 7: rate limited for a minute");
    let err = retry
        .run(|_| openai.chat(&request))
        .await
        .expect_err("60 s is beyond the 5 s cap");
    assert_eq!(err.kind(), ErrorKind::RateLimited);

    let (verdict, report) = mock.report("llmock_verdict_under_the_retry_loop").await;
    let codes: Vec<&str> = verdict["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert!(!codes.contains(&"retry_after_ignored"), "{report}");
    assert!(!codes.contains(&"retried_non_retryable"), "{report}");
    assert!(!codes.contains(&"truncated_stream_accepted"), "{report}");
    assert!(!codes.contains(&"retry_storm"), "{report}");
    assert_eq!(verdict["errors"], 0, "{report}");
    assert_eq!(verdict["passed"], true, "{report}");
    // 7 calls; 4 of them retried once.
    assert_eq!(verdict["attempts"], 11, "{report}");
}
