//! The `agent` example's flow end to end against llmock, which speaks tools in both API
//! shapes: in its `auto` tool mode it calls the offered tool that best matches the
//! question, with arguments valid for its schema, and answers in text once the last turn
//! carries a tool result. Each test runs the flow on the OpenAI and the Anthropic
//! endpoint, plain and streamed.
//!
//! `#[ignore]`d with the reason, like the providers' live tests: `cargo test` reports them
//! as ignored; with `--ignored` (`.ci/run` does) they read `FLOW_TEST_LLMOCK_URL` and fail
//! when it is unset or llmock does not answer. With `FLOW_TEST_LLMOCK_VERDICTS` set to a
//! file, each test appends llmock's verdict to it.
//!
//! Run with `cargo test -p typedflow-examples --test agent_live -- --ignored`.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly; helpers outside #[test] fns unwrap too"
)]

use std::sync::{Arc, LazyLock};

use serde_json::{Value, json};
use typedflow::prelude::*;
use typedflow_examples::agent::{self, Agent, AgentDeps, Mode};
use typedflow_examples::llm::Llm;
use typedflow_providers::agent::Answer;
use typedflow_providers::{AnthropicClient, Message, OpenAiClient, Role};

/// llmock keeps one scenario queue and one journal: the tests take turns.
static LLMOCK: LazyLock<tokio::sync::Mutex<()>> = LazyLock::new(|| tokio::sync::Mutex::new(()));

const QUESTION: &str = "What is the weather in Paris?";

/// llmock's root URL; a live test run without it fails, never passes.
fn llmock_url() -> String {
    match std::env::var("FLOW_TEST_LLMOCK_URL") {
        Ok(v) if !v.trim().is_empty() => v.trim().trim_end_matches('/').to_owned(),
        _ => panic!(
            "FLOW_TEST_LLMOCK_URL is not set: live tests need llmock; run `bash .ci/run`, or \
             `source .ci/llm-servers.sh && llm_servers_start`"
        ),
    }
}

struct Llmock {
    base: String,
    http: reqwest::Client,
}

impl Llmock {
    /// llmock with its journal, scenario and verdict reset.
    async fn new() -> Self {
        let mock = Llmock {
            base: llmock_url(),
            http: reqwest::Client::new(),
        };
        mock.post("/_llmock/reset", json!({})).await;
        mock
    }

    async fn post(&self, path: &str, body: Value) {
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
    }

    async fn scenario(&self, behaviors: Value) {
        self.post("/_llmock/scenario", json!({ "behaviors": behaviors }))
            .await;
    }

    /// llmock's verdict, printed in one line and appended to `FLOW_TEST_LLMOCK_VERDICTS`.
    async fn verdict(&self, test: &str) -> Value {
        let verdict: Value = self
            .http
            .get(format!("{}/_llmock/verdict?format=json", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let codes: Vec<&str> = verdict["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["code"].as_str())
            .collect();
        let line = format!(
            "llmock verdict for {test}: {} call(s), {} fault(s) injected, {} error(s), {} warning(s) [{}]",
            verdict["calls"],
            verdict["faults_injected"],
            verdict["errors"],
            verdict["warnings"],
            codes.join(", ")
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
        verdict
    }

    /// The example's model on each endpoint: OpenAI's shape, then Anthropic's.
    fn models(&self) -> [(&'static str, Llm); 2] {
        let openai = OpenAiClient::builder()
            .ignore_env()
            .base_url(format!("{}/v1", self.base))
            .api_key("llmock")
            .model("gpt-4o-mini")
            .build()
            .unwrap();
        let anthropic = AnthropicClient::builder()
            .ignore_env()
            .base_url(format!("{}/anthropic", self.base))
            .api_key("llmock")
            .model("claude-sonnet-4-5")
            .build()
            .unwrap();
        [
            ("openai", Arc::new(openai)),
            ("anthropic", Arc::new(anthropic)),
        ]
    }
}

async fn run(llm: Llm, mode: Mode) -> Result<Answer, FlowError> {
    let tools = agent::toolbox().unwrap();
    let question = agent::question(QUESTION, &tools);
    Agent::new(AgentDeps { llm, tools, mode })
        .run(question)
        .await
}

/// The tool results the model was sent, in order.
fn tool_results(answer: &Answer) -> Vec<&Message> {
    answer
        .conversation
        .request()
        .messages
        .iter()
        .filter(|m| m.role == Role::Tool)
        .collect()
}

#[tokio::test]
#[ignore = "live: needs llmock at FLOW_TEST_LLMOCK_URL; `bash .ci/run` runs it"]
async fn the_agent_loop_runs_on_both_endpoints_plain_and_streamed() {
    let _turn = LLMOCK.lock().await;
    let mock = Llmock::new().await;
    for (endpoint, llm) in mock.models() {
        for mode in [Mode::Plain, Mode::Streamed] {
            let case = format!("{endpoint}, {mode:?}");
            let answer = run(llm.clone(), mode)
                .await
                .unwrap_or_else(|e| panic!("{case}: {}", typedflow::report(&e)));
            // llmock called the weather tool, got its result, and answered in text.
            assert_eq!(answer.conversation.turns(), 2, "{case}: {answer:?}");
            assert!(!answer.text.trim().is_empty(), "{case}");
            let messages = &answer.conversation.request().messages;
            let call = &messages[1].tool_calls[0];
            assert_eq!(call.name, "get_weather", "{case}");
            let args: Value = call.arguments_json().expect("arguments valid JSON");
            assert!(args["city"].is_string(), "{case}: {args}");
            let results = tool_results(&answer);
            assert_eq!(results.len(), 1, "{case}");
            assert_eq!(results[0].tool_call_id.as_deref(), Some(call.id.as_str()));
            // llmock's city is not one of the stations: the tool's error went back.
            assert!(
                results[0].content.contains("no weather station"),
                "{case}: {}",
                results[0].content
            );
        }
    }
    let verdict = mock
        .verdict("the_agent_loop_runs_on_both_endpoints_plain_and_streamed")
        .await;
    assert_eq!(verdict["calls"], 8, "{verdict}");
    assert_eq!(verdict["errors"], 0, "{verdict}");
}

#[tokio::test]
#[ignore = "live: needs llmock at FLOW_TEST_LLMOCK_URL; `bash .ci/run` runs it"]
async fn each_broken_tool_call_goes_back_to_the_model_as_an_error() {
    let _turn = LLMOCK.lock().await;
    let mock = Llmock::new().await;
    for (endpoint, llm) in mock.models() {
        for mode in [Mode::Plain, Mode::Streamed] {
            // Anthropic's plain reply carries the arguments as a JSON object, which cannot
            // be half written: there llmock sends `{}`, which lacks the required city.
            let malformed = if (endpoint, mode) == ("anthropic", Mode::Plain) {
                "missing field `city`"
            } else {
                "are not valid JSON"
            };
            let faults = [
                ("malformed_arguments", malformed),
                ("unknown_tool", "unknown tool `llmock_unknown_tool`"),
            ];
            for (fault, said) in faults {
                let case = format!("{endpoint}, {mode:?}, {fault}");
                mock.scenario(json!([{"type": "tool_fault", "kind": fault, "times": 1}]))
                    .await;
                let answer = run(llm.clone(), mode)
                    .await
                    .unwrap_or_else(|e| panic!("{case}: {}", typedflow::report(&e)));
                let results = tool_results(&answer);
                assert_eq!(results.len(), 1, "{case}: {answer:?}");
                assert!(results[0].is_error, "{case}");
                assert!(
                    results[0].content.contains(said),
                    "{case}: {}",
                    results[0].content
                );
                // The model read the error and answered.
                assert_eq!(answer.conversation.turns(), 2, "{case}");
                assert!(!answer.text.trim().is_empty(), "{case}");
            }
        }
    }
    let verdict = mock
        .verdict("each_broken_tool_call_goes_back_to_the_model_as_an_error")
        .await;
    // Two requests per run (the broken call, then the answer); llmock counts its tool
    // faults in the replies, not as injected faults.
    assert_eq!(verdict["calls"], 16, "{verdict}");
    assert_eq!(verdict["errors"], 0, "{verdict}");
}

#[tokio::test]
#[ignore = "live: needs llmock at FLOW_TEST_LLMOCK_URL; `bash .ci/run` runs it"]
async fn a_stream_cut_in_a_tool_call_is_retried_by_the_model_node() {
    let _turn = LLMOCK.lock().await;
    let mock = Llmock::new().await;
    for (endpoint, llm) in mock.models() {
        for kind in ["truncate", "malformed", "disconnect"] {
            let case = format!("{endpoint}, {kind}");
            // The first streamed reply, a tool call, breaks after its second chunk.
            mock.scenario(json!([{
                "type": "stream_fault", "kind": kind, "after_chunks": 2, "times": 1,
            }]))
            .await;
            let answer = run(llm.clone(), Mode::Streamed)
                .await
                .unwrap_or_else(|e| panic!("{case}: {}", typedflow::report(&e)));
            // The broken reply was never taken for a call: one call, one result.
            assert_eq!(tool_results(&answer).len(), 1, "{case}: {answer:?}");
            assert_eq!(answer.conversation.turns(), 2, "{case}");
        }
    }
    let verdict = mock
        .verdict("a_stream_cut_in_a_tool_call_is_retried_by_the_model_node")
        .await;
    let codes: Vec<&str> = verdict["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert!(!codes.contains(&"truncated_stream_accepted"), "{verdict}");
    assert_eq!(verdict["faults_injected"], 6, "{verdict}");
}
