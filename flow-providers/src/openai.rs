//! The OpenAI-compatible client: `POST {base_url}/chat/completions`.
//!
//! One client serves OpenAI, vLLM, the llama.cpp server, LM Studio and Ollama's
//! compatible endpoint. Parsing is lenient where compatible servers differ: unknown
//! fields are ignored, an empty or unknown `finish_reason` is accepted, usage may be
//! missing, the final usage chunk may have empty `choices`, and `[DONE]` may or may not
//! follow the finish.

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
use crate::types::{ChatRequest, ChatResponse, FinishReason, ResponseFormat, Role, Usage};

const PROVIDER: &str = "openai";

/// Builds an [`OpenAiClient`].
///
/// ```
/// use std::time::Duration;
/// use typedflow_providers::OpenAiClient;
///
/// // A local llama.cpp server, vLLM, LM Studio or Ollama (`http://localhost:11434/v1`).
/// let client = OpenAiClient::builder()
///     .base_url("http://127.0.0.1:8080/v1")
///     .model("smollm2")
///     .timeout(Duration::from_secs(30))
///     .build()?;
/// # Ok::<(), typedflow_providers::ConfigError>(())
/// ```
#[must_use]
#[derive(Debug, Default)]
pub struct OpenAiBuilder {
    common: CommonBuilder,
    max_completion_tokens: bool,
    no_stream_usage: bool,
}

common_builder_methods!(
    OpenAiBuilder,
    "OpenAiClient",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_MODEL"
);

impl OpenAiBuilder {
    /// Sends the reply limit as `max_completion_tokens` (which OpenAI's reasoning models
    /// require) instead of `max_tokens` (which every compatible server understands).
    ///
    /// # Default
    ///
    /// `false`: `max_tokens`.
    pub fn max_completion_tokens(mut self, yes: bool) -> Self {
        self.max_completion_tokens = yes;
        self
    }

    /// Whether streamed requests ask for usage (`stream_options.include_usage`); turn it
    /// off for a server that rejects the option.
    ///
    /// # Default
    ///
    /// `true`.
    pub fn stream_usage(mut self, yes: bool) -> Self {
        self.no_stream_usage = !yes;
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// [`ConfigError::MissingApiKey`] when the base URL is OpenAI's and no key was
    /// given or found in `OPENAI_API_KEY`; [`ConfigError::MissingModel`] without a model;
    /// [`ConfigError::InvalidBaseUrl`], [`ConfigError::InvalidHeader`],
    /// [`ConfigError::InvalidTimeout`], [`ConfigError::Client`] for bad settings.
    pub fn build(self) -> Result<OpenAiClient, ConfigError> {
        let protocol = OpenAi {
            max_completion_tokens: self.max_completion_tokens,
            stream_usage: !self.no_stream_usage,
        };
        Ok(OpenAiClient {
            inner: Arc::new(HttpClient::build(self.common, protocol)?),
        })
    }
}

/// What the OpenAI chat completions API does its own way.
#[derive(Debug)]
struct OpenAi {
    max_completion_tokens: bool,
    stream_usage: bool,
}

/// A client for OpenAI's chat completions API and the servers that copy it.
///
/// Cheap to clone (the connection pool is shared). Its `Debug` output never shows the key.
///
/// ```no_run
/// use typedflow_providers::{ChatModel, ChatRequest, OpenAiClient};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// // Reads OPENAI_API_KEY (and OPENAI_BASE_URL, OPENAI_MODEL when set).
/// let client = OpenAiClient::builder().model("gpt-4o-mini").build()?;
/// let reply = client.chat(&ChatRequest::new().user("Say hi")).await?;
/// println!("{}", reply.text);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct OpenAiClient {
    inner: Arc<HttpClient<OpenAi>>,
}

http_chat_model!(OpenAiClient);

impl OpenAiClient {
    /// A builder with the defaults described on its methods.
    pub fn builder() -> OpenAiBuilder {
        OpenAiBuilder::default()
    }
}

impl Protocol for OpenAi {
    const DEFAULTS: Defaults = defaults!(
        PROVIDER,
        "OPENAI",
        "https://api.openai.com/v1",
        "chat/completions"
    );
    const KEY_HEADER: (&'static str, &'static str) = ("authorization", "Bearer ");
    type Decoder = OpenAiDecoder;

    fn body(
        &self,
        request: &ChatRequest,
        model: &str,
        stream: bool,
    ) -> Result<Vec<u8>, ProviderError> {
        let (max_tokens, max_completion_tokens) = if self.max_completion_tokens {
            (None, request.max_tokens)
        } else {
            (request.max_tokens, None)
        };
        let response_format = request.response_format.as_ref().map(|format| match format {
            ResponseFormat::JsonSchema {
                name,
                schema,
                strict,
            } => wire::ResponseFormat {
                kind: "json_schema",
                json_schema: wire::JsonSchema {
                    name,
                    schema,
                    strict: *strict,
                },
            },
        });
        let body = wire::Request {
            model,
            messages: request
                .system
                .iter()
                .map(|system| wire::Turn::text(Role::System, system))
                .chain(request.messages.iter().map(wire::Turn::of))
                .collect(),
            temperature: request.temperature,
            max_tokens,
            max_completion_tokens,
            stop: &request.stop,
            seed: request.seed,
            response_format,
            tools: request
                .tools
                .iter()
                .map(|tool| wire::Tool {
                    kind: "function",
                    function: wire::Function {
                        name: &tool.name,
                        description: &tool.description,
                        parameters: &tool.parameters,
                    },
                })
                .collect(),
            // OpenAI refuses these without tools, so they go only with tools.
            tool_choice: request
                .tool_choice
                .as_ref()
                .filter(|_| !request.tools.is_empty())
                .map(tool_choice),
            parallel_tool_calls: request
                .parallel_tool_calls
                .filter(|_| !request.tools.is_empty()),
            stream,
            stream_options: (stream && self.stream_usage).then_some(wire::StreamOptions {
                include_usage: true,
            }),
        };
        http::encode(PROVIDER, &body)
    }

    fn answer(&self, body: &[u8], cx: &ErrorContext<'_>) -> Result<ChatResponse, ProviderError> {
        let completion: wire::Completion = http::parse_json(PROVIDER, body)?;
        if let Some(error) = completion.error {
            return Err(in_band_error(error, cx));
        }
        let Some(choice) = completion.choices.into_iter().next() else {
            return Err(ProviderError::bad_response(
                PROVIDER,
                "choices",
                "the response has no choices",
            ));
        };
        let (content, calls) = choice
            .message
            .map(|m| (m.content, m.tool_calls))
            .unwrap_or_default();
        let text = content.map(wire::Content::into_text).unwrap_or_default();
        let tool_calls = calls
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, call)| call.into_tool_call(i))
            .collect::<Result<_, _>>()?;
        let finish_reason = choice
            .finish_reason
            .as_deref()
            .and_then(FinishReason::from_openai)
            .unwrap_or(FinishReason::Unknown);
        Ok(ChatResponse {
            text,
            finish_reason,
            usage: completion.usage.map(wire::Usage::into_usage),
            model: completion.model,
            tool_calls,
        })
    }

    fn decoder(&self, model: &str, auth_hint: &str, max_bytes: usize) -> OpenAiDecoder {
        OpenAiDecoder {
            model: model.to_owned(),
            auth_hint: auth_hint.to_owned(),
            finish: None,
            usage: None,
            server_model: None,
            calls: BTreeMap::new(),
            buffered: 0,
            max_buffered: max_bytes,
        }
    }
}

/// OpenAI's `tool_choice`.
fn tool_choice(choice: &ToolChoice) -> Value {
    match choice {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Tool(name) => json!({"type": "function", "function": {"name": name}}),
    }
}

/// The id a call gets when a (compatible) server sent none: results must name a call.
fn fallback_id(index: usize) -> String {
    format!("call_{index}")
}

/// A streamed tool call being assembled from its fragments.
#[derive(Default)]
struct PartialCall {
    id: Option<String>,
    name: String,
    arguments: String,
}

/// An error object sent with a 200 status (in a body or inside a stream); its numeric
/// `code`, when it is an HTTP error status, is the status it stands for.
fn in_band_error(error: Value, cx: &ErrorContext<'_>) -> ProviderError {
    let status = error
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| (400..600).contains(c))
        .unwrap_or(500);
    cx.in_band(status, &json!({ "error": error }))
}

/// Reads `chat.completion.chunk` events.
pub(crate) struct OpenAiDecoder {
    model: String,
    auth_hint: String,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
    server_model: Option<String>,
    /// Tool calls being assembled, by their `index`: arguments arrive as text fragments.
    calls: BTreeMap<usize, PartialCall>,
    /// Bytes of arguments held in `calls`, and the most allowed.
    buffered: usize,
    max_buffered: usize,
}

impl OpenAiDecoder {
    /// Ends the reply: the assembled tool calls, in index order, then the finish.
    fn finish(&mut self, out: &mut VecDeque<StreamEvent>) -> Result<(), ProviderError> {
        for (index, call) in std::mem::take(&mut self.calls) {
            if call.name.is_empty() {
                return Err(ProviderError::bad_response(
                    PROVIDER,
                    format!("choices[0].delta.tool_calls[{index}].function.name"),
                    "a streamed tool call has no name",
                ));
            }
            out.push_back(StreamEvent::ToolCall(ToolCall::from_raw(
                call.id.unwrap_or_else(|| fallback_id(index)),
                call.name,
                call.arguments,
            )));
        }
        out.push_back(StreamEvent::Finish {
            reason: self.finish.take().unwrap_or(FinishReason::Unknown),
            usage: self.usage.take(),
            model: self.server_model.take(),
        });
        Ok(())
    }

    /// Adds a chunk's tool-call fragments to the calls being assembled.
    fn tool_fragments(&mut self, fragments: Vec<wire::CallFragment>) -> Result<(), ProviderError> {
        for (position, fragment) in fragments.into_iter().enumerate() {
            // Servers that send each call whole in one chunk may leave out `index`.
            let index = fragment.index.map_or(position, |i| i as usize);
            let call = self.calls.entry(index).or_default();
            if let Some(id) = fragment.id.filter(|id| !id.is_empty()) {
                call.id = Some(id);
            }
            if let Some(function) = fragment.function {
                if let Some(name) = function.name.filter(|n| !n.is_empty()) {
                    call.name = name;
                }
                if let Some(arguments) = function.arguments {
                    http::check_buffered(
                        PROVIDER,
                        format!("choices[0].delta.tool_calls[{index}].function.arguments"),
                        self.buffered,
                        arguments.len(),
                        self.max_buffered,
                    )?;
                    self.buffered += arguments.len();
                    call.arguments.push_str(&arguments);
                }
            }
        }
        Ok(())
    }
}

impl Decoder for OpenAiDecoder {
    fn event(
        &mut self,
        event: SseEvent,
        out: &mut VecDeque<StreamEvent>,
    ) -> Result<bool, ProviderError> {
        let data = event.data.trim();
        if data == "[DONE]" {
            self.finish(out)?;
            return Ok(true);
        }
        if data.is_empty() {
            return Ok(false);
        }
        let chunk: wire::Chunk = http::parse_json(PROVIDER, data.as_bytes())?;
        if let Some(error) = chunk.error {
            let cx = ErrorContext {
                provider: PROVIDER,
                model: &self.model,
                auth_hint: &self.auth_hint,
            };
            return Err(in_band_error(error, &cx));
        }
        if chunk.model.is_some() {
            self.server_model = chunk.model;
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage.into_usage());
        }
        // Only the first choice is read: requests ask for one.
        if let Some(choice) = chunk
            .choices
            .into_iter()
            .find(|c| c.index.unwrap_or(0) == 0)
        {
            if let Some(delta) = choice.delta {
                if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
                    out.push_back(StreamEvent::Delta(text));
                }
                if let Some(fragments) = delta.tool_calls {
                    self.tool_fragments(fragments)?;
                }
            }
            if let Some(reason) = choice
                .finish_reason
                .as_deref()
                .and_then(FinishReason::from_openai)
            {
                self.finish = Some(reason);
            }
        }
        Ok(false)
    }

    fn eof(&mut self, out: &mut VecDeque<StreamEvent>) -> Result<(), ProviderError> {
        // Some servers end the body after the finish chunk without `[DONE]`: the
        // finish reason is proof enough that the answer is whole.
        if self.finish.is_some() {
            return self.finish(out);
        }
        // Without it, a call's arguments may be cut anywhere: never hand them out.
        if let Some((index, call)) = self.calls.iter().next_back() {
            return Err(ProviderError::bad_response(
                PROVIDER,
                format!("choices[0].delta.tool_calls[{index}]"),
                format!(
                    "the stream ended before tool call `{}` was complete",
                    call.name
                ),
            ));
        }
        Ok(())
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
        pub(super) messages: Vec<Turn<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub(super) temperature: Option<f32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub(super) max_tokens: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub(super) max_completion_tokens: Option<u32>,
        #[serde(skip_serializing_if = "<[String]>::is_empty")]
        pub(super) stop: &'a [String],
        #[serde(skip_serializing_if = "Option::is_none")]
        pub(super) seed: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub(super) response_format: Option<ResponseFormat<'a>>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub(super) tools: Vec<Tool<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub(super) tool_choice: Option<Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub(super) parallel_tool_calls: Option<bool>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        pub(super) stream: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub(super) stream_options: Option<StreamOptions>,
    }

    /// One message: `content` is `null` only for an assistant turn that is nothing but
    /// tool calls, as the API wants it.
    #[derive(Serialize)]
    pub(super) struct Turn<'a> {
        pub(super) role: &'static str,
        pub(super) content: Option<&'a str>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub(super) tool_calls: Vec<OutCall<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub(super) tool_call_id: Option<&'a str>,
    }

    impl<'a> Turn<'a> {
        pub(super) fn text(role: Role, content: &'a str) -> Self {
            Turn {
                role: role.as_str(),
                content: Some(content),
                tool_calls: Vec::new(),
                tool_call_id: None,
            }
        }

        pub(super) fn of(message: &'a crate::types::Message) -> Self {
            let calls_only = !message.tool_calls.is_empty() && message.content.is_empty();
            Turn {
                role: message.role.as_str(),
                content: (!calls_only).then_some(message.content.as_str()),
                tool_calls: message
                    .tool_calls
                    .iter()
                    .map(|call| OutCall {
                        id: &call.id,
                        kind: "function",
                        function: OutFunction {
                            name: &call.name,
                            arguments: &call.arguments,
                        },
                    })
                    .collect(),
                tool_call_id: message.tool_call_id.as_deref(),
            }
        }
    }

    #[derive(Serialize)]
    pub(super) struct OutCall<'a> {
        pub(super) id: &'a str,
        #[serde(rename = "type")]
        pub(super) kind: &'static str,
        pub(super) function: OutFunction<'a>,
    }

    #[derive(Serialize)]
    pub(super) struct OutFunction<'a> {
        pub(super) name: &'a str,
        pub(super) arguments: &'a str,
    }

    #[derive(Serialize)]
    pub(super) struct Tool<'a> {
        #[serde(rename = "type")]
        pub(super) kind: &'static str,
        pub(super) function: Function<'a>,
    }

    #[derive(Serialize)]
    pub(super) struct Function<'a> {
        pub(super) name: &'a str,
        pub(super) description: &'a str,
        pub(super) parameters: &'a Value,
    }

    #[derive(Serialize)]
    pub(super) struct ResponseFormat<'a> {
        #[serde(rename = "type")]
        pub(super) kind: &'static str,
        pub(super) json_schema: JsonSchema<'a>,
    }

    #[derive(Serialize)]
    pub(super) struct JsonSchema<'a> {
        pub(super) name: &'a str,
        pub(super) schema: &'a Value,
        pub(super) strict: bool,
    }

    #[derive(Serialize)]
    pub(super) struct StreamOptions {
        pub(super) include_usage: bool,
    }

    #[derive(Deserialize)]
    pub(super) struct Completion {
        #[serde(default)]
        pub(super) choices: Vec<Choice>,
        pub(super) usage: Option<Usage>,
        pub(super) model: Option<String>,
        pub(super) error: Option<Value>,
    }

    #[derive(Deserialize)]
    pub(super) struct Choice {
        pub(super) message: Option<Message>,
        pub(super) finish_reason: Option<String>,
    }

    #[derive(Deserialize)]
    pub(super) struct Message {
        pub(super) content: Option<Content>,
        pub(super) tool_calls: Option<Vec<InCall>>,
    }

    #[derive(Deserialize)]
    pub(super) struct InCall {
        id: Option<String>,
        function: Option<InFunction>,
    }

    #[derive(Deserialize)]
    pub(super) struct InFunction {
        name: Option<String>,
        /// JSON text as the API documents it; some compatible servers send an object.
        arguments: Option<Value>,
    }

    impl InCall {
        pub(super) fn into_tool_call(self, index: usize) -> Result<ToolCall, ProviderError> {
            let function = self.function.unwrap_or(InFunction {
                name: None,
                arguments: None,
            });
            let Some(name) = function.name.filter(|n| !n.is_empty()) else {
                return Err(ProviderError::bad_response(
                    PROVIDER,
                    format!("choices[0].message.tool_calls[{index}].function.name"),
                    "a tool call has no name",
                ));
            };
            let arguments = match function.arguments {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(text)) => text,
                Some(other) => other.to_string(),
            };
            let id = self
                .id
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| fallback_id(index));
            Ok(ToolCall::from_raw(id, name, arguments))
        }
    }

    /// A message's content: a string, or (some servers) an array of text parts.
    #[derive(Deserialize)]
    #[serde(untagged)]
    pub(super) enum Content {
        Text(String),
        Parts(Vec<Part>),
    }

    #[derive(Deserialize)]
    pub(super) struct Part {
        text: Option<String>,
    }

    impl Content {
        pub(super) fn into_text(self) -> String {
            match self {
                Content::Text(text) => text,
                Content::Parts(parts) => parts.into_iter().filter_map(|p| p.text).collect(),
            }
        }
    }

    #[derive(Deserialize)]
    pub(super) struct Usage {
        prompt_tokens: Option<u64>,
        completion_tokens: Option<u64>,
    }

    impl Usage {
        pub(super) fn into_usage(self) -> super::Usage {
            super::Usage::new(
                self.prompt_tokens.unwrap_or(0),
                self.completion_tokens.unwrap_or(0),
            )
        }
    }

    #[derive(Deserialize)]
    pub(super) struct Chunk {
        #[serde(default)]
        pub(super) choices: Vec<ChunkChoice>,
        pub(super) usage: Option<Usage>,
        pub(super) model: Option<String>,
        pub(super) error: Option<Value>,
    }

    #[derive(Deserialize)]
    pub(super) struct ChunkChoice {
        pub(super) index: Option<u32>,
        pub(super) delta: Option<Delta>,
        pub(super) finish_reason: Option<String>,
    }

    #[derive(Deserialize)]
    pub(super) struct Delta {
        pub(super) content: Option<String>,
        pub(super) tool_calls: Option<Vec<CallFragment>>,
    }

    /// A piece of a streamed tool call: the first carries `id` and the name, the rest
    /// pieces of `arguments`, all with the call's `index`.
    #[derive(Deserialize)]
    pub(super) struct CallFragment {
        pub(super) index: Option<u32>,
        pub(super) id: Option<String>,
        pub(super) function: Option<FunctionFragment>,
    }

    #[derive(Deserialize)]
    pub(super) struct FunctionFragment {
        pub(super) name: Option<String>,
        pub(super) arguments: Option<String>,
    }
}
