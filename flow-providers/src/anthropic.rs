//! The Anthropic Messages client: `POST {base_url}/v1/messages`, with the `x-api-key`
//! and `anthropic-version` headers and Anthropic's typed stream events
//! (`message_start`, `content_block_start`, `content_block_delta`, `content_block_stop`,
//! `message_delta`, `message_stop`, `ping`, `error`).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ConfigError, ProviderError};
use crate::http::client::{
    CommonBuilder, Defaults, HttpClient, Protocol, common_builder_methods, defaults,
    http_chat_model,
};
use crate::http::sse::SseEvent;
use crate::http::{self, Decoder, ErrorContext};
use crate::stream::StreamEvent;
use crate::tools::{ToolCall, ToolChoice};
use crate::types::{ChatRequest, ChatResponse, FinishReason, Message, ResponseFormat, Role, Usage};

const PROVIDER: &str = "anthropic";

/// The API version sent in `anthropic-version`.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// The beta that enables `output_format` (native structured output).
const STRUCTURED_OUTPUTS_BETA: &str = "structured-outputs-2025-11-13";

/// Builds an [`AnthropicClient`].
///
/// ```
/// use typedflow_providers::AnthropicClient;
///
/// let client = AnthropicClient::builder()
///     .api_key("sk-ant-example")
///     .model("claude-sonnet-4-5")
///     .default_max_tokens(2048)
///     .build()?;
/// # Ok::<(), typedflow_providers::ConfigError>(())
/// ```
#[must_use]
#[derive(Debug)]
pub struct AnthropicBuilder {
    common: CommonBuilder,
    default_max_tokens: u32,
    native_structured_output: bool,
}

impl Default for AnthropicBuilder {
    fn default() -> Self {
        AnthropicBuilder {
            common: CommonBuilder::default(),
            default_max_tokens: 1024,
            native_structured_output: false,
        }
    }
}

common_builder_methods!(
    AnthropicBuilder,
    "AnthropicClient",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_MODEL"
);

impl AnthropicBuilder {
    /// Sets `max_tokens` for requests that do not set it (the Messages API requires one).
    ///
    /// # Default
    ///
    /// 1024.
    pub fn default_max_tokens(mut self, max_tokens: u32) -> Self {
        self.default_max_tokens = max_tokens;
        self
    }

    /// Sends structured-output schemas as Anthropic's native `output_format` (with its
    /// beta header) in addition to the instruction in the system prompt. Leave it off for
    /// servers that only copy the plain Messages API.
    ///
    /// # Default
    ///
    /// `false`: the schema goes in the system prompt only.
    pub fn native_structured_output(mut self, yes: bool) -> Self {
        self.native_structured_output = yes;
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// [`ConfigError::MissingApiKey`] when the base URL is Anthropic's and no key was
    /// given or found in `ANTHROPIC_API_KEY`; [`ConfigError::MissingModel`] without a
    /// model; [`ConfigError::InvalidBaseUrl`], [`ConfigError::InvalidHeader`],
    /// [`ConfigError::InvalidTimeout`], [`ConfigError::Client`] for bad settings.
    pub fn build(self) -> Result<AnthropicClient, ConfigError> {
        let protocol = Anthropic {
            default_max_tokens: self.default_max_tokens,
            native_structured_output: self.native_structured_output,
        };
        Ok(AnthropicClient {
            inner: Arc::new(HttpClient::build(self.common, protocol)?),
        })
    }
}

/// What Anthropic's Messages API does its own way.
#[derive(Debug)]
struct Anthropic {
    default_max_tokens: u32,
    native_structured_output: bool,
}

/// A client for Anthropic's Messages API (and servers that copy it, such as llama.cpp's).
///
/// Cheap to clone. Its `Debug` output never shows the key. Anthropic has no sampling
/// seed: [`ChatRequest::seed`] is not sent.
///
/// ```no_run
/// use typedflow_providers::{AnthropicClient, ChatModel, ChatRequest};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// // Reads ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL, ANTHROPIC_MODEL when set).
/// let client = AnthropicClient::builder().model("claude-haiku-4-5").build()?;
/// let reply = client.chat(&ChatRequest::new().user("Say hi")).await?;
/// println!("{}", reply.text);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct AnthropicClient {
    inner: Arc<HttpClient<Anthropic>>,
}

http_chat_model!(AnthropicClient);

impl AnthropicClient {
    /// A builder with the defaults described on its methods.
    pub fn builder() -> AnthropicBuilder {
        AnthropicBuilder::default()
    }
}

impl Protocol for Anthropic {
    const DEFAULTS: Defaults = defaults!(
        PROVIDER,
        "ANTHROPIC",
        "https://api.anthropic.com",
        "v1/messages"
    );
    const KEY_HEADER: (&'static str, &'static str) = ("x-api-key", "");
    type Decoder = AnthropicDecoder;

    fn body(
        &self,
        request: &ChatRequest,
        model: &str,
        stream: bool,
    ) -> Result<Vec<u8>, ProviderError> {
        // The Messages API takes the system prompt apart from the turns.
        let mut system: Vec<&str> = request.system.iter().map(String::as_str).collect();
        let mut messages: Vec<wire::Turn<'_>> = Vec::with_capacity(request.messages.len());
        for m in &request.messages {
            match m.role {
                Role::System => system.push(&m.content),
                // Results go back as `tool_result` blocks of a user turn; the results of
                // one turn's calls share one user turn, as the API asks.
                Role::Tool => {
                    let block = wire::Block::ToolResult {
                        tool_use_id: m.tool_call_id.as_deref().unwrap_or(""),
                        content: &m.content,
                        is_error: m.is_error,
                    };
                    match messages.last_mut() {
                        Some(wire::Turn {
                            role: "user",
                            content: wire::Content::Blocks(blocks),
                        }) if blocks
                            .iter()
                            .all(|b| matches!(b, wire::Block::ToolResult { .. })) =>
                        {
                            blocks.push(block);
                        }
                        _ => messages.push(wire::Turn {
                            role: Role::User.as_str(),
                            content: wire::Content::Blocks(vec![block]),
                        }),
                    }
                }
                _ if !m.tool_calls.is_empty() => messages.push(tool_use_turn(m)),
                role => messages.push(wire::Turn {
                    role: role.as_str(),
                    content: wire::Content::Text(&m.content),
                }),
            }
        }
        let mut system = system.join("\n\n");
        let mut output_format = None;
        if let Some(ResponseFormat::JsonSchema { schema, .. }) = &request.response_format {
            if !system.is_empty() {
                system.push_str("\n\n");
            }
            system.push_str(&crate::structured::schema_instruction(schema));
            if self.native_structured_output {
                output_format = Some(wire::OutputFormat {
                    kind: "json_schema",
                    schema,
                });
            }
        }
        let body = wire::Request {
            model,
            max_tokens: request.max_tokens.unwrap_or(self.default_max_tokens),
            system,
            messages,
            temperature: request.temperature,
            stop_sequences: &request.stop,
            output_format,
            tools: request
                .tools
                .iter()
                .map(|tool| wire::Tool {
                    name: &tool.name,
                    description: &tool.description,
                    input_schema: &tool.parameters,
                })
                .collect(),
            tool_choice: tool_choice(request),
            stream,
        };
        http::encode(PROVIDER, &body)
    }

    fn headers(
        &self,
        request: &ChatRequest,
        http: reqwest::RequestBuilder,
    ) -> reqwest::RequestBuilder {
        let http = http.header("anthropic-version", ANTHROPIC_VERSION);
        if self.native_structured_output && request.response_format.is_some() {
            http.header("anthropic-beta", STRUCTURED_OUTPUTS_BETA)
        } else {
            http
        }
    }

    fn answer(&self, body: &[u8], cx: &ErrorContext<'_>) -> Result<ChatResponse, ProviderError> {
        let message: wire::Message = http::parse_json(PROVIDER, body)?;
        if message.kind.as_deref() == Some("error") {
            return Err(in_band_error(message.error.unwrap_or(Value::Null), cx));
        }
        let mut text = String::new();
        let mut tool_calls = Vec::new();
        for (index, block) in message.content.into_iter().enumerate() {
            match block.kind.as_str() {
                "text" => text.push_str(block.text.as_deref().unwrap_or("")),
                "tool_use" => tool_calls.push(block.into_tool_call(index)?),
                // thinking, server tools, and block types added later.
                _ => {}
            }
        }
        let finish_reason = message
            .stop_reason
            .as_deref()
            .and_then(FinishReason::from_anthropic)
            .unwrap_or(FinishReason::Unknown);
        Ok(ChatResponse {
            text,
            finish_reason,
            usage: message
                .usage
                .map(|u| Usage::new(u.prompt_tokens().unwrap_or(0), u.output_tokens.unwrap_or(0))),
            model: message.model,
            tool_calls,
        })
    }

    fn decoder(&self, model: &str, auth_hint: &str, max_bytes: usize) -> AnthropicDecoder {
        AnthropicDecoder {
            model: model.to_owned(),
            auth_hint: auth_hint.to_owned(),
            prompt_tokens: None,
            completion_tokens: None,
            stop_reason: None,
            server_model: None,
            calls: BTreeMap::new(),
            buffered: 0,
            max_buffered: max_bytes,
        }
    }
}

/// An assistant turn that called tools: its text, then a `tool_use` block per call.
fn tool_use_turn(m: &Message) -> wire::Turn<'_> {
    let text = (!m.content.is_empty()).then_some(wire::Block::Text { text: &m.content });
    let calls = m.tool_calls.iter().map(|call| wire::Block::ToolUse {
        id: &call.id,
        name: &call.name,
        // The API takes an object; arguments the model wrote wrong (and was told so
        // in the call's result) go back as an empty one.
        input: call
            .arguments_json()
            .ok()
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({})),
    });
    wire::Turn {
        role: Role::Assistant.as_str(),
        content: wire::Content::Blocks(text.into_iter().chain(calls).collect()),
    }
}

/// Anthropic's `tool_choice`, which also carries `disable_parallel_tool_use`; sent only
/// with tools.
fn tool_choice(request: &ChatRequest) -> Option<Value> {
    if request.tools.is_empty() {
        return None;
    }
    let serial = request.parallel_tool_calls == Some(false);
    let mut choice = match request.tool_choice.as_ref() {
        None if !serial => return None,
        None | Some(ToolChoice::Auto) => json!({"type": "auto"}),
        // `none` takes no parallelism flag: no tools are called at all.
        Some(ToolChoice::None) => return Some(json!({"type": "none"})),
        Some(ToolChoice::Required) => json!({"type": "any"}),
        Some(ToolChoice::Tool(name)) => json!({"type": "tool", "name": name}),
    };
    if serial && let Some(object) = choice.as_object_mut() {
        object.insert("disable_parallel_tool_use".to_owned(), Value::Bool(true));
    }
    Some(choice)
}

/// A streamed `tool_use` block being assembled.
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

/// The HTTP status an Anthropic error type stands for, for errors sent inside a stream.
fn status_of(error_type: &str) -> u16 {
    match error_type {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "overloaded_error" => 529,
        _ => 500,
    }
}

/// An error object sent in a success answer or as a stream's `error` event.
fn in_band_error(error: Value, cx: &ErrorContext<'_>) -> ProviderError {
    let status = status_of(error.get("type").and_then(Value::as_str).unwrap_or(""));
    cx.in_band(status, &json!({ "type": "error", "error": error }))
}

/// Reads Anthropic's typed stream events.
pub(crate) struct AnthropicDecoder {
    model: String,
    auth_hint: String,
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    stop_reason: Option<FinishReason>,
    server_model: Option<String>,
    /// Open `tool_use` blocks by their index: their input arrives as JSON fragments.
    calls: BTreeMap<usize, PartialCall>,
    /// Bytes of input held in `calls`, and the most allowed.
    buffered: usize,
    max_buffered: usize,
}

impl AnthropicDecoder {
    /// The error for a reply that ended while a `tool_use` block was open.
    fn open_call_error(&self) -> Option<ProviderError> {
        let (index, call) = self.calls.iter().next()?;
        Some(ProviderError::bad_response(
            PROVIDER,
            format!("content[{index}]"),
            format!(
                "the stream ended inside tool call `{}` (id `{}`): its input is incomplete",
                call.name, call.id
            ),
        ))
    }
}

impl Decoder for AnthropicDecoder {
    fn event(
        &mut self,
        event: SseEvent,
        out: &mut VecDeque<StreamEvent>,
    ) -> Result<bool, ProviderError> {
        if event.data.trim().is_empty() {
            return Ok(false);
        }
        let data: wire::Event = http::parse_json(PROVIDER, event.data.as_bytes())?;
        // The JSON's `type` is authoritative; the SSE `event:` name is a fallback for
        // proxies that strip one or the other.
        let kind = data
            .kind
            .as_deref()
            .or(event.event.as_deref())
            .unwrap_or("");
        match kind {
            "message_start" => {
                if let Some(message) = data.message {
                    self.server_model = message.model.or(self.server_model.take());
                    if let Some(usage) = message.usage {
                        self.prompt_tokens = usage.prompt_tokens().or(self.prompt_tokens);
                        self.completion_tokens = usage.output_tokens.or(self.completion_tokens);
                    }
                }
            }
            "content_block_start" => match data.content_block {
                Some(block) if block.kind == "tool_use" => {
                    let index = data.index.unwrap_or(0);
                    let call = block.into_tool_call(index)?;
                    // The start's `input` is `{}`; the real one follows in fragments.
                    self.calls.insert(
                        index,
                        PartialCall {
                            id: call.id,
                            name: call.name,
                            arguments: String::new(),
                        },
                    );
                }
                Some(block) if block.kind == "text" => {
                    if let Some(text) = block.text.filter(|t| !t.is_empty()) {
                        out.push_back(StreamEvent::Delta(text));
                    }
                }
                _ => {}
            },
            "content_block_delta" => match data.delta {
                Some(delta) if delta.kind.as_deref() == Some("text_delta") => {
                    if let Some(text) = delta.text.filter(|t| !t.is_empty()) {
                        out.push_back(StreamEvent::Delta(text));
                    }
                }
                Some(delta) if delta.kind.as_deref() == Some("input_json_delta") => {
                    let index = data.index.unwrap_or(0);
                    let Some(call) = self.calls.get_mut(&index) else {
                        return Err(ProviderError::bad_response(
                            PROVIDER,
                            format!("content[{index}]"),
                            "an `input_json_delta` for a block that is not an open `tool_use`",
                        ));
                    };
                    let partial = delta.partial_json.as_deref().unwrap_or("");
                    http::check_buffered(
                        PROVIDER,
                        format!("content[{index}].input"),
                        self.buffered,
                        partial.len(),
                        self.max_buffered,
                    )?;
                    self.buffered += partial.len();
                    call.arguments.push_str(partial);
                }
                _ => {}
            },
            "content_block_stop" => {
                if let Some(call) = data.index.and_then(|i| self.calls.remove(&i)) {
                    out.push_back(StreamEvent::ToolCall(ToolCall::from_raw(
                        call.id,
                        call.name,
                        call.arguments,
                    )));
                }
            }
            "message_delta" => {
                if let Some(reason) = data
                    .delta
                    .and_then(|d| d.stop_reason)
                    .as_deref()
                    .and_then(FinishReason::from_anthropic)
                {
                    self.stop_reason = Some(reason);
                }
                if let Some(usage) = data.usage {
                    // Counts in message_delta are cumulative.
                    self.prompt_tokens = usage.prompt_tokens().or(self.prompt_tokens);
                    self.completion_tokens = usage.output_tokens.or(self.completion_tokens);
                }
            }
            "message_stop" => {
                if let Some(err) = self.open_call_error() {
                    return Err(err);
                }
                let usage = match (self.prompt_tokens, self.completion_tokens) {
                    (None, None) => None,
                    (p, c) => Some(Usage::new(p.unwrap_or(0), c.unwrap_or(0))),
                };
                out.push_back(StreamEvent::Finish {
                    reason: self.stop_reason.take().unwrap_or(FinishReason::Unknown),
                    usage,
                    model: self.server_model.take(),
                });
                return Ok(true);
            }
            "error" => {
                let cx = ErrorContext {
                    provider: PROVIDER,
                    model: &self.model,
                    auth_hint: &self.auth_hint,
                };
                return Err(in_band_error(data.error.unwrap_or(Value::Null), &cx));
            }
            // ping, and event types added later.
            _ => {}
        }
        Ok(false)
    }

    fn eof(&mut self, _out: &mut VecDeque<StreamEvent>) -> Result<(), ProviderError> {
        // Only message_stop completes a reply: without it the caller reports the cut,
        // unless a tool call was open, which says more.
        match self.open_call_error() {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

/// The wire format: requests as the API documents them, answers as leniently as the
/// servers need.
mod wire {
    use serde::Serialize;

    use super::*;

    #[derive(Serialize)]
    pub(super) struct Request<'a> {
        pub(super) model: &'a str,
        pub(super) max_tokens: u32,
        #[serde(skip_serializing_if = "String::is_empty")]
        pub(super) system: String,
        pub(super) messages: Vec<Turn<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub(super) temperature: Option<f32>,
        #[serde(skip_serializing_if = "<[String]>::is_empty")]
        pub(super) stop_sequences: &'a [String],
        #[serde(skip_serializing_if = "Option::is_none")]
        pub(super) output_format: Option<OutputFormat<'a>>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub(super) tools: Vec<Tool<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub(super) tool_choice: Option<Value>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        pub(super) stream: bool,
    }

    #[derive(Serialize)]
    pub(super) struct Turn<'a> {
        pub(super) role: &'static str,
        pub(super) content: Content<'a>,
    }

    /// A turn's content: plain text, or blocks when it carries tool calls or results.
    #[derive(Serialize)]
    #[serde(untagged)]
    pub(super) enum Content<'a> {
        Text(&'a str),
        Blocks(Vec<Block<'a>>),
    }

    #[derive(Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub(super) enum Block<'a> {
        Text {
            text: &'a str,
        },
        ToolUse {
            id: &'a str,
            name: &'a str,
            input: Value,
        },
        ToolResult {
            tool_use_id: &'a str,
            content: &'a str,
            #[serde(skip_serializing_if = "std::ops::Not::not")]
            is_error: bool,
        },
    }

    #[derive(Serialize)]
    pub(super) struct Tool<'a> {
        pub(super) name: &'a str,
        pub(super) description: &'a str,
        pub(super) input_schema: &'a Value,
    }

    #[derive(Serialize)]
    pub(super) struct OutputFormat<'a> {
        #[serde(rename = "type")]
        pub(super) kind: &'static str,
        pub(super) schema: &'a Value,
    }

    #[derive(Deserialize)]
    pub(super) struct Message {
        #[serde(rename = "type")]
        pub(super) kind: Option<String>,
        #[serde(default)]
        pub(super) content: Vec<InBlock>,
        pub(super) model: Option<String>,
        pub(super) stop_reason: Option<String>,
        pub(super) usage: Option<UsageWire>,
        pub(super) error: Option<Value>,
    }

    #[derive(Deserialize)]
    pub(super) struct InBlock {
        #[serde(default, rename = "type")]
        pub(super) kind: String,
        pub(super) text: Option<String>,
        id: Option<String>,
        name: Option<String>,
        input: Option<Value>,
    }

    impl InBlock {
        /// A `tool_use` block as a call.
        pub(super) fn into_tool_call(self, index: usize) -> Result<ToolCall, ProviderError> {
            let Some(name) = self.name.filter(|n| !n.is_empty()) else {
                return Err(ProviderError::bad_response(
                    PROVIDER,
                    format!("content[{index}].name"),
                    "a `tool_use` block has no name",
                ));
            };
            let id = self
                .id
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| format!("toolu_{index}"));
            let arguments = match self.input {
                None | Some(Value::Null) => String::new(),
                Some(input) => input.to_string(),
            };
            Ok(ToolCall::from_raw(id, name, arguments))
        }
    }

    /// Anthropic counts cached prompt tokens apart from `input_tokens`; the prompt is
    /// their sum.
    #[derive(Deserialize)]
    pub(super) struct UsageWire {
        input_tokens: Option<u64>,
        cache_read_input_tokens: Option<u64>,
        cache_creation_input_tokens: Option<u64>,
        pub(super) output_tokens: Option<u64>,
    }

    impl UsageWire {
        pub(super) fn prompt_tokens(&self) -> Option<u64> {
            let parts = [
                self.input_tokens,
                self.cache_read_input_tokens,
                self.cache_creation_input_tokens,
            ];
            parts
                .iter()
                .any(Option::is_some)
                .then(|| parts.iter().flatten().sum())
        }
    }

    #[derive(Deserialize)]
    pub(super) struct Event {
        #[serde(rename = "type")]
        pub(super) kind: Option<String>,
        pub(super) message: Option<StartMessage>,
        pub(super) index: Option<usize>,
        pub(super) content_block: Option<InBlock>,
        pub(super) delta: Option<DeltaWire>,
        pub(super) usage: Option<UsageWire>,
        pub(super) error: Option<Value>,
    }

    #[derive(Deserialize)]
    pub(super) struct StartMessage {
        pub(super) model: Option<String>,
        pub(super) usage: Option<UsageWire>,
    }

    #[derive(Deserialize)]
    pub(super) struct DeltaWire {
        #[serde(rename = "type")]
        pub(super) kind: Option<String>,
        pub(super) text: Option<String>,
        pub(super) partial_json: Option<String>,
        pub(super) stop_reason: Option<String>,
    }
}
