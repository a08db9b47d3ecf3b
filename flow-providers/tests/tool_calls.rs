//! Tool calling on the wire, for both APIs against loopback servers: the exact request
//! JSON (tools, tool choice, parallel calls, the assistant's calls and the results in the
//! conversation), the parsed answer, streamed calls assembled from their fragments, and
//! streams cut inside a call.

#![cfg(all(feature = "openai", feature = "anthropic"))]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly; helpers outside #[test] fns unwrap too"
)]

mod common;

use common::{End, Step, anthropic, openai, raw_server, sse, sse_named};
use futures::StreamExt as _;
use serde_json::{Value, json};
use typedflow_providers::{
    ChatModel, ChatRequest, ErrorKind, FinishReason, Message, StreamEvent, ToolCall, ToolChoice,
    ToolDefinition, ToolResult, Usage,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CHAT: &str = "/v1/chat/completions";
const MESSAGES: &str = "/v1/messages";

/// Arguments of `get_weather`.
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code, reason = "only its schema is used")]
struct Weather {
    /// The city.
    city: String,
}

fn weather_tool() -> ToolDefinition {
    ToolDefinition::for_args::<Weather>("get_weather", "the weather in a city, now")
}

/// The schema `weather_tool` must carry, written out by hand.
fn weather_schema() -> Value {
    json!({
        "title": "Weather",
        "description": "Arguments of `get_weather`.",
        "type": "object",
        "properties": {"city": {"description": "The city.", "type": "string"}},
        "required": ["city"]
    })
}

/// A conversation in the middle of a tool loop: the model called two tools, one
/// failed, and the user adds a remark.
fn mid_loop_request() -> ChatRequest {
    ChatRequest::new()
        .system("be brief")
        .user("weather in Paris and Lyon?")
        .message(Message::assistant_tool_calls(
            "Let me check.",
            [
                ToolCall::new("call_1", "get_weather", json!({"city": "Paris"})),
                ToolCall::new("call_2", "get_weather", json!({"city": "Lyon"})),
            ],
        ))
        .tool_result(ToolResult::ok("call_1", r#"{"celsius":21}"#))
        .tool_result(ToolResult::error(
            "call_2",
            "error: the weather service timed out",
        ))
        .user("in Celsius please")
        .tool(weather_tool())
        .tool_choice(ToolChoice::tool("get_weather"))
        .parallel_tool_calls(false)
}

async fn serve(route: &str, template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(route))
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

async fn sent(server: &MockServer) -> Value {
    let requests = server.received_requests().await.unwrap();
    serde_json::from_slice(&requests.last().unwrap().body).unwrap()
}

#[test]
fn the_schema_comes_from_the_argument_type() {
    assert_eq!(weather_tool().parameters, weather_schema());
}

// ---------------------------------------------------------------------------------
// OpenAI-compatible

fn openai_completion(message: Value, finish: &str) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-test-0613",
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
        "usage": {"prompt_tokens": 80, "completion_tokens": 40, "total_tokens": 120}
    })
}

#[tokio::test]
async fn openai_sends_tools_the_choice_and_the_tool_turns() {
    let server = serve(
        CHAT,
        ResponseTemplate::new(200).set_body_json(openai_completion(
            json!({"role": "assistant", "content": "Paris 21 °C"}),
            "stop",
        )),
    )
    .await;
    openai(&server.uri())
        .chat(&mid_loop_request())
        .await
        .unwrap();
    assert_eq!(
        sent(&server).await,
        json!({
            "model": "gpt-test",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "weather in Paris and Lyon?"},
                {"role": "assistant", "content": "Let me check.", "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "call_2", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\":\"Lyon\"}"}}
                ]},
                {"role": "tool", "content": "{\"celsius\":21}", "tool_call_id": "call_1"},
                {"role": "tool", "content": "error: the weather service timed out",
                 "tool_call_id": "call_2"},
                {"role": "user", "content": "in Celsius please"}
            ],
            "tools": [{"type": "function", "function": {
                "name": "get_weather",
                "description": "the weather in a city, now",
                "parameters": weather_schema()
            }}],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "parallel_tool_calls": false
        })
    );
}

#[tokio::test]
async fn openai_tool_choices_and_calls_only_turns_on_the_wire() {
    let server = serve(
        CHAT,
        ResponseTemplate::new(200).set_body_json(openai_completion(
            json!({"role": "assistant", "content": "ok"}),
            "stop",
        )),
    )
    .await;
    let client = openai(&server.uri());
    for (choice, wire) in [
        (ToolChoice::Auto, json!("auto")),
        (ToolChoice::None, json!("none")),
        (ToolChoice::Required, json!("required")),
    ] {
        let request = ChatRequest::new()
            .user("hi")
            .tool(weather_tool())
            .tool_choice(choice);
        client.chat(&request).await.unwrap();
        let body = sent(&server).await;
        assert_eq!(body["tool_choice"], wire);
        assert!(body.get("parallel_tool_calls").is_none(), "{body}");
    }

    // Without tools, OpenAI refuses `tool_choice` and `parallel_tool_calls`: they stay home.
    let request = ChatRequest::new()
        .user("hi")
        .tool_choice(ToolChoice::Required)
        .parallel_tool_calls(true);
    client.chat(&request).await.unwrap();
    let body = sent(&server).await;
    for absent in ["tools", "tool_choice", "parallel_tool_calls"] {
        assert!(body.get(absent).is_none(), "{absent} in {body}");
    }

    // A turn that is nothing but calls has `content: null`.
    let call = ToolCall::new("call_9", "get_weather", json!({"city": "Oslo"}));
    let request = ChatRequest::new()
        .user("hi")
        .message(Message::assistant_tool_calls("", [call]));
    client.chat(&request).await.unwrap();
    assert_eq!(
        sent(&server).await["messages"][1],
        json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_9",
               "type": "function", "function": {"name": "get_weather",
               "arguments": "{\"city\":\"Oslo\"}"}}]})
    );
}

#[tokio::test]
async fn openai_parses_parallel_tool_calls() {
    let server = serve(
        CHAT,
        ResponseTemplate::new(200).set_body_json(openai_completion(
            json!({"role": "assistant", "content": null, "refusal": null, "tool_calls": [
                {"id": "call_a", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
                {"id": "call_b", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"city\": \"Lyon\"}"}}
            ]}),
            "tool_calls",
        )),
    )
    .await;
    let reply = openai(&server.uri())
        .chat(&ChatRequest::new().user("hi").tool(weather_tool()))
        .await
        .unwrap();
    assert_eq!(reply.text, "");
    assert_eq!(reply.finish_reason, FinishReason::ToolCalls);
    assert_eq!(
        reply.tool_calls,
        [
            ToolCall::from_raw("call_a", "get_weather", "{\"city\": \"Paris\"}"),
            ToolCall::from_raw("call_b", "get_weather", "{\"city\": \"Lyon\"}"),
        ]
    );
    assert_eq!(
        reply.tool_calls[1].arguments_json().unwrap(),
        json!({"city": "Lyon"})
    );
}

#[tokio::test]
async fn openai_tool_calls_are_read_leniently_and_bad_arguments_kept() {
    // Compatible servers: arguments as an object, no id, empty arguments; a model that
    // wrote broken JSON still gets its call through, to be told what was wrong.
    let server = serve(
        CHAT,
        ResponseTemplate::new(200).set_body_json(openai_completion(
            json!({"role": "assistant", "content": "", "tool_calls": [
                {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                {"id": "call_x", "function": {"name": "now", "arguments": ""}},
                {"id": "call_y", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"city\": \"Par"}}
            ]}),
            "tool_calls",
        )),
    )
    .await;
    let reply = openai(&server.uri())
        .chat(&ChatRequest::new().user("hi"))
        .await
        .unwrap();
    assert_eq!(
        reply.tool_calls,
        [
            ToolCall::from_raw("call_0", "get_weather", "{\"city\":\"Paris\"}"),
            ToolCall::from_raw("call_x", "now", "{}"),
            ToolCall::from_raw("call_y", "get_weather", "{\"city\": \"Par"),
        ]
    );
    assert!(reply.tool_calls[2].arguments_json().is_err());

    // A call without a name cannot be answered: a bad response naming the path.
    let server = serve(
        CHAT,
        ResponseTemplate::new(200).set_body_json(openai_completion(
            json!({"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "get_weather",
                 "arguments": "{}"}},
                {"id": "call_b", "type": "function", "function": {"arguments": "{}"}}
            ]}),
            "tool_calls",
        )),
    )
    .await;
    let err = openai(&server.uri())
        .chat(&ChatRequest::new().user("hi"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadResponse);
    assert!(
        err.to_string()
            .contains("choices[0].message.tool_calls[1].function.name"),
        "{err}"
    );
}

fn openai_chunk(delta: Value, finish: Value) -> String {
    json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-test",
           "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
    .to_string()
}

/// A fragment of the call at `index`: the first carries id and name.
fn openai_fragment(index: u32, first: Option<(&str, &str)>, arguments: &str) -> String {
    let mut call = json!({"index": index, "function": {"arguments": arguments}});
    if let Some((id, name)) = first {
        call["id"] = json!(id);
        call["type"] = json!("function");
        call["function"]["name"] = json!(name);
    }
    openai_chunk(json!({"tool_calls": [call]}), Value::Null)
}

/// Text, then two calls whose argument fragments interleave, then the finish.
fn openai_tool_stream() -> Vec<String> {
    vec![
        openai_chunk(
            json!({"role": "assistant", "content": "Checking"}),
            Value::Null,
        ),
        openai_chunk(json!({"content": "..."}), Value::Null),
        openai_fragment(0, Some(("call_a", "get_weather")), ""),
        openai_fragment(0, None, "{\"ci"),
        openai_fragment(1, Some(("call_b", "get_weather")), "{\"city\""),
        openai_fragment(0, None, "ty\": \"Pa"),
        openai_fragment(1, None, ": \"Lyon\"}"),
        openai_fragment(0, None, "ris\"}"),
        openai_chunk(json!({}), json!("tool_calls")),
        json!({"id": "c", "object": "chat.completion.chunk", "choices": [],
               "usage": {"prompt_tokens": 50, "completion_tokens": 20}})
        .to_string(),
        "[DONE]".to_owned(),
    ]
}

fn expected_tool_stream(usage: Usage, model: &str) -> Vec<Result<StreamEvent, ErrorKind>> {
    vec![
        Ok(StreamEvent::Delta("Checking".into())),
        Ok(StreamEvent::Delta("...".into())),
        Ok(StreamEvent::ToolCall(ToolCall::from_raw(
            "call_a",
            "get_weather",
            "{\"city\": \"Paris\"}",
        ))),
        Ok(StreamEvent::ToolCall(ToolCall::from_raw(
            "call_b",
            "get_weather",
            "{\"city\": \"Lyon\"}",
        ))),
        Ok(StreamEvent::Finish {
            reason: FinishReason::ToolCalls,
            usage: Some(usage),
            model: Some(model.into()),
        }),
    ]
}

async fn collect(
    model: &dyn ChatModel,
    request: &ChatRequest,
) -> Vec<Result<StreamEvent, ErrorKind>> {
    let stream = model.chat_stream(request).await.unwrap();
    stream.map(|e| e.map_err(|e| e.kind())).collect().await
}

/// The body split into chunks of `size` bytes, so events and even UTF-8 break across
/// chunks.
fn pieces(body: &str, size: usize) -> Vec<Step> {
    body.as_bytes()
        .chunks(size)
        .map(|c| Step::Chunk(c.to_vec()))
        .collect()
}

#[tokio::test]
async fn openai_streamed_tool_calls_are_assembled_from_their_fragments() {
    let stream = openai_tool_stream();
    let events: Vec<&str> = stream.iter().map(String::as_str).collect();
    let body = sse(&events);
    let expected = expected_tool_stream(Usage::new(50, 20), "gpt-test");

    let server = serve(
        CHAT,
        ResponseTemplate::new(200).set_body_raw(body.clone(), "text/event-stream"),
    )
    .await;
    let request = ChatRequest::new().user("hi").tool(weather_tool());
    assert_eq!(collect(&openai(&server.uri()), &request).await, expected);
    assert_eq!(sent(&server).await["stream"], json!(true));

    // The same bytes in 7-byte HTTP chunks.
    let base = raw_server(pieces(&body, 7), End::Clean).await;
    assert_eq!(collect(&openai(&base), &request).await, expected);

    // The whole reply, collected.
    let base = raw_server(pieces(&body, 64), End::Clean).await;
    let reply = openai(&base)
        .chat_stream(&request)
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(reply.text, "Checking...");
    assert_eq!(reply.tool_calls.len(), 2);
    assert_eq!(reply.finish_reason, FinishReason::ToolCalls);
}

#[tokio::test]
async fn openai_a_stream_cut_inside_a_tool_call_is_a_bad_response() {
    let stream = openai_tool_stream();
    // Up to the fragment `ty": "Pa`: both calls are open.
    let events: Vec<&str> = stream[..6].iter().map(String::as_str).collect();
    let base = raw_server(pieces(&sse(&events), 11), End::Clean).await;
    let err = openai(&base)
        .chat_stream(&ChatRequest::new().user("hi"))
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadResponse);
    assert!(err.is_retryable());
    assert!(
        err.to_string()
            .contains("the stream ended before tool call `get_weather` was complete"),
        "{err}"
    );

    // Event by event: the text came, no call did.
    let base = raw_server(pieces(&sse(&events), 11), End::Clean).await;
    let got = collect(&openai(&base), &ChatRequest::new().user("hi")).await;
    assert_eq!(
        got,
        vec![
            Ok(StreamEvent::Delta("Checking".into())),
            Ok(StreamEvent::Delta("...".into())),
            Err(ErrorKind::BadResponse),
        ]
    );

    // The connection dropped mid-call: a transport error, and still no call.
    let base = raw_server(pieces(&sse(&events), 11), End::Drop).await;
    let got = collect(&openai(&base), &ChatRequest::new().user("hi")).await;
    assert!(
        !got.iter()
            .any(|e| matches!(e, Ok(StreamEvent::ToolCall(_)))),
        "{got:?}"
    );
    assert!(got.last().unwrap().is_err(), "{got:?}");
}

// ---------------------------------------------------------------------------------
// Anthropic

#[tokio::test]
async fn anthropic_sends_tools_the_choice_and_the_tool_blocks() {
    let server = serve(
        MESSAGES,
        ResponseTemplate::new(200).set_body_json(json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
            "content": [{"type": "text", "text": "Paris 21 °C"}],
            "stop_reason": "end_turn", "usage": {"input_tokens": 9, "output_tokens": 3}
        })),
    )
    .await;
    anthropic(&server.uri())
        .chat(&mid_loop_request())
        .await
        .unwrap();
    assert_eq!(
        sent(&server).await,
        json!({
            "model": "claude-test",
            "max_tokens": 1024,
            "system": "be brief",
            "messages": [
                {"role": "user", "content": "weather in Paris and Lyon?"},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "Let me check."},
                    {"type": "tool_use", "id": "call_1", "name": "get_weather",
                     "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "call_2", "name": "get_weather",
                     "input": {"city": "Lyon"}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "call_1",
                     "content": "{\"celsius\":21}"},
                    {"type": "tool_result", "tool_use_id": "call_2",
                     "content": "error: the weather service timed out", "is_error": true}
                ]},
                {"role": "user", "content": "in Celsius please"}
            ],
            "tools": [{
                "name": "get_weather",
                "description": "the weather in a city, now",
                "input_schema": weather_schema()
            }],
            "tool_choice": {"type": "tool", "name": "get_weather",
                            "disable_parallel_tool_use": true}
        })
    );
}

#[tokio::test]
async fn anthropic_tool_choices_on_the_wire() {
    let server = serve(
        MESSAGES,
        ResponseTemplate::new(200).set_body_json(json!({
            "type": "message", "content": [{"type": "text", "text": "ok"}],
            "stop_reason": "end_turn"
        })),
    )
    .await;
    let client = anthropic(&server.uri());
    let base = || ChatRequest::new().user("hi").tool(weather_tool());
    let cases = [
        (base(), None),
        (
            base().tool_choice(ToolChoice::Auto),
            Some(json!({"type": "auto"})),
        ),
        (
            base().tool_choice(ToolChoice::None),
            Some(json!({"type": "none"})),
        ),
        (
            base().tool_choice(ToolChoice::Required),
            Some(json!({"type": "any"})),
        ),
        (base().parallel_tool_calls(true), None),
        (
            base().parallel_tool_calls(false),
            Some(json!({"type": "auto", "disable_parallel_tool_use": true})),
        ),
        (
            base()
                .tool_choice(ToolChoice::Required)
                .parallel_tool_calls(false),
            Some(json!({"type": "any", "disable_parallel_tool_use": true})),
        ),
        // No tools: no choice either.
        (
            ChatRequest::new()
                .user("hi")
                .tool_choice(ToolChoice::Required),
            None,
        ),
    ];
    for (request, wire) in cases {
        client.chat(&request).await.unwrap();
        let body = sent(&server).await;
        assert_eq!(body.get("tool_choice"), wire.as_ref(), "{request:?}");
    }

    // Arguments the model got wrong go back as an empty input: the API takes objects only.
    let call = ToolCall::from_raw("toolu_1", "get_weather", "{\"city\": \"Par");
    let request = ChatRequest::new()
        .user("hi")
        .message(Message::assistant_tool_calls("", [call]))
        .tool_result(ToolResult::error("toolu_1", "error: bad arguments"));
    client.chat(&request).await.unwrap();
    assert_eq!(
        sent(&server).await["messages"][1],
        json!({"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1",
               "name": "get_weather", "input": {}}]})
    );
}

#[tokio::test]
async fn anthropic_parses_tool_use_blocks() {
    let server = serve(
        MESSAGES,
        ResponseTemplate::new(200).set_body_json(json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test-1",
            "content": [
                {"type": "text", "text": "I'll check both."},
                {"type": "tool_use", "id": "toolu_a", "name": "get_weather",
                 "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_b", "name": "now", "input": {}}
            ],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 300, "output_tokens": 60}
        })),
    )
    .await;
    let reply = anthropic(&server.uri())
        .chat(&ChatRequest::new().user("hi").tool(weather_tool()))
        .await
        .unwrap();
    assert_eq!(reply.text, "I'll check both.");
    assert_eq!(reply.finish_reason, FinishReason::ToolCalls);
    assert_eq!(
        reply.tool_calls,
        [
            ToolCall::new("toolu_a", "get_weather", json!({"city": "Paris"})),
            ToolCall::new("toolu_b", "now", json!({})),
        ]
    );

    let server = serve(
        MESSAGES,
        ResponseTemplate::new(200).set_body_json(json!({
            "type": "message",
            "content": [{"type": "tool_use", "id": "toolu_a", "input": {}}],
            "stop_reason": "tool_use"
        })),
    )
    .await;
    let err = anthropic(&server.uri())
        .chat(&ChatRequest::new().user("hi"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadResponse);
    assert!(err.to_string().contains("content[0].name"), "{err}");
}

/// Anthropic's events for: text, a `tool_use` whose input comes in fragments, a second
/// one, and the end.
fn anthropic_tool_stream() -> Vec<(&'static str, String)> {
    let delta = |index: u32, partial: &str| {
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": index,
                   "delta": {"type": "input_json_delta", "partial_json": partial}})
            .to_string(),
        )
    };
    let start_tool = |index: u32, id: &str| {
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": index,
                   "content_block": {"type": "tool_use", "id": id, "name": "get_weather",
                                     "input": {}}})
            .to_string(),
        )
    };
    let stop = |index: u32| {
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}).to_string(),
        )
    };
    vec![
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_1", "type": "message",
                   "role": "assistant", "model": "claude-test-1", "content": [],
                   "stop_reason": null, "usage": {"input_tokens": 50, "output_tokens": 1}}})
            .to_string(),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
                   "content_block": {"type": "text", "text": ""}})
            .to_string(),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
                   "delta": {"type": "text_delta", "text": "Checking"}})
            .to_string(),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
                   "delta": {"type": "text_delta", "text": "..."}})
            .to_string(),
        ),
        stop(0),
        start_tool(1, "call_a"),
        delta(1, ""),
        delta(1, "{\"ci"),
        ("ping", json!({"type": "ping"}).to_string()),
        delta(1, "ty\": \"Pa"),
        delta(1, "ris\"}"),
        stop(1),
        start_tool(2, "call_b"),
        delta(2, "{\"city\""),
        delta(2, ": \"Lyon\"}"),
        stop(2),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use",
                   "stop_sequence": null}, "usage": {"output_tokens": 20}})
            .to_string(),
        ),
        ("message_stop", json!({"type": "message_stop"}).to_string()),
    ]
}

fn anthropic_body(events: &[(&'static str, String)]) -> String {
    let borrowed: Vec<(&str, &str)> = events.iter().map(|(n, d)| (*n, d.as_str())).collect();
    sse_named(&borrowed)
}

#[tokio::test]
async fn anthropic_streamed_tool_use_is_assembled_from_input_json_deltas() {
    let body = anthropic_body(&anthropic_tool_stream());
    let expected = expected_tool_stream(Usage::new(50, 20), "claude-test-1");
    let request = ChatRequest::new().user("hi").tool(weather_tool());

    let server = serve(
        MESSAGES,
        ResponseTemplate::new(200).set_body_raw(body.clone(), "text/event-stream"),
    )
    .await;
    assert_eq!(collect(&anthropic(&server.uri()), &request).await, expected);

    let base = raw_server(pieces(&body, 5), End::Clean).await;
    assert_eq!(collect(&anthropic(&base), &request).await, expected);
}

#[tokio::test]
async fn anthropic_a_stream_cut_inside_a_tool_use_is_a_bad_response() {
    let stream = anthropic_tool_stream();
    // Up to the fragment `ty": "Pa`.
    let body = anthropic_body(&stream[..10]);
    let base = raw_server(pieces(&body, 9), End::Clean).await;
    let got = collect(&anthropic(&base), &ChatRequest::new().user("hi")).await;
    assert_eq!(
        got,
        vec![
            Ok(StreamEvent::Delta("Checking".into())),
            Ok(StreamEvent::Delta("...".into())),
            Err(ErrorKind::BadResponse),
        ]
    );
    let base = raw_server(pieces(&body, 9), End::Clean).await;
    let err = anthropic(&base)
        .chat_stream(&ChatRequest::new().user("hi"))
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains(
            "the stream ended inside tool call `get_weather` (id `call_a`): its input is incomplete"
        ),
        "{err}"
    );

    // A server that ends the message with a block still open: the same.
    let mut events = stream[..10].to_vec();
    events.push(stream.last().unwrap().clone());
    let base = raw_server(pieces(&anthropic_body(&events), 9), End::Clean).await;
    let got = collect(&anthropic(&base), &ChatRequest::new().user("hi")).await;
    assert_eq!(got.last(), Some(&Err(ErrorKind::BadResponse)));
    assert!(
        !got.iter()
            .any(|e| matches!(e, Ok(StreamEvent::ToolCall(_))))
    );

    // A fragment for a block that never started.
    let mut events = stream[..5].to_vec();
    events.push(stream[7].clone());
    let base = raw_server(pieces(&anthropic_body(&events), 9), End::Clean).await;
    let err = anthropic(&base)
        .chat_stream(&ChatRequest::new().user("hi"))
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadResponse);
    assert!(err.to_string().contains("input_json_delta"), "{err}");
}

#[tokio::test]
async fn streamed_malformed_arguments_reach_the_caller_as_written() {
    // The stream is whole; only the model's JSON is broken (llmock's "malformed
    // arguments" fault): the call is delivered, for the tool loop to answer.
    let mut stream = anthropic_tool_stream();
    stream.remove(10); // the fragment `ris"}`
    let base = raw_server(pieces(&anthropic_body(&stream), 13), End::Clean).await;
    let reply = anthropic(&base)
        .chat_stream(&ChatRequest::new().user("hi"))
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(reply.tool_calls[0].arguments, "{\"city\": \"Pa");
    assert!(reply.tool_calls[0].arguments_json().is_err());
    assert_eq!(
        reply.tool_calls[1].arguments_json().unwrap(),
        json!({"city": "Lyon"})
    );

    let mut stream = openai_tool_stream();
    stream.remove(7); // the fragment `ris"}`
    let events: Vec<&str> = stream.iter().map(String::as_str).collect();
    let base = raw_server(pieces(&sse(&events), 13), End::Clean).await;
    let reply = openai(&base)
        .chat_stream(&ChatRequest::new().user("hi"))
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(reply.tool_calls[0].arguments, "{\"city\": \"Pa");
    assert!(reply.tool_calls[0].arguments_json().is_err());
}

#[tokio::test]
async fn streamed_arguments_are_bounded_by_max_response_bytes() {
    // Each event is small; together the arguments pass the limit of 2 KiB.
    let limited = |base: &str, openai_shape: bool| -> Box<dyn ChatModel> {
        if openai_shape {
            Box::new(
                typedflow_providers::OpenAiClient::builder()
                    .ignore_env()
                    .base_url(format!("{base}/v1"))
                    .api_key(common::KEY)
                    .model("gpt-test")
                    .max_response_bytes(2048)
                    .build()
                    .unwrap(),
            )
        } else {
            Box::new(
                typedflow_providers::AnthropicClient::builder()
                    .ignore_env()
                    .base_url(base)
                    .api_key(common::KEY)
                    .model("claude-test")
                    .max_response_bytes(2048)
                    .build()
                    .unwrap(),
            )
        }
    };
    let piece = "x".repeat(100);

    let mut events = vec![openai_fragment(
        0,
        Some(("call_a", "get_weather")),
        "{\"a\": \"",
    )];
    events.extend((0..30).map(|_| openai_fragment(0, None, &piece)));
    let events: Vec<&str> = events.iter().map(String::as_str).collect();
    let server = serve(
        CHAT,
        ResponseTemplate::new(200).set_body_raw(sse(&events), "text/event-stream"),
    )
    .await;
    let err = limited(&server.uri(), true)
        .chat_stream(&ChatRequest::new().user("hi"))
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadResponse);
    assert!(
        err.to_string()
            .contains("the streamed tool-call arguments exceed the limit of 2048 bytes"),
        "{err}"
    );

    let stream = anthropic_tool_stream();
    let mut events = stream[..6].to_vec();
    events.extend((0..30).map(|_| {
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 1,
                   "delta": {"type": "input_json_delta", "partial_json": piece}})
            .to_string(),
        )
    }));
    let server = serve(
        MESSAGES,
        ResponseTemplate::new(200).set_body_raw(anthropic_body(&events), "text/event-stream"),
    )
    .await;
    let err = limited(&server.uri(), false)
        .chat_stream(&ChatRequest::new().user("hi"))
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadResponse);
    assert!(err.to_string().contains("content[1].input"), "{err}");

    // Under the limit, the same shape goes through.
    let mut events = stream[..6].to_vec();
    events.extend((0..5).map(|_| {
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 1,
                   "delta": {"type": "input_json_delta", "partial_json": piece}})
            .to_string(),
        )
    }));
    events.extend(stream[11..].iter().cloned());
    let server = serve(
        MESSAGES,
        ResponseTemplate::new(200).set_body_raw(anthropic_body(&events), "text/event-stream"),
    )
    .await;
    let reply = limited(&server.uri(), false)
        .chat_stream(&ChatRequest::new().user("hi"))
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(reply.tool_calls[0].arguments, piece.repeat(5));
}
