//! The OpenAI-compatible client: `POST {base_url}/chat/completions`.
//!
//! One client serves OpenAI, vLLM, the llama.cpp server, LM Studio and Ollama's
//! compatible endpoint. Parsing is lenient where compatible servers differ: unknown
//! fields are ignored, an empty or unknown `finish_reason` is accepted, usage may be
//! missing, the final usage chunk may have empty `choices`, and `[DONE]` may or may not
//! follow the finish.

use std::collections::VecDeque;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ConfigError, ProviderError};
use crate::http::client::{
    CommonBuilder, Defaults, HttpClient, Protocol, common_builder_methods, defaults,
    http_chat_model,
};
use crate::http::sse::SseEvent;
use crate::http::{self, Decoder, ErrorContext, Turn};
use crate::stream::StreamEvent;
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
                .map(|system| Turn {
                    role: Role::System.as_str(),
                    content: system,
                })
                .chain(request.messages.iter().map(|m| Turn {
                    role: m.role.as_str(),
                    content: &m.content,
                }))
                .collect(),
            temperature: request.temperature,
            max_tokens,
            max_completion_tokens,
            stop: &request.stop,
            seed: request.seed,
            response_format,
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
        let text = choice
            .message
            .and_then(|m| m.content)
            .map(wire::Content::into_text)
            .unwrap_or_default();
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
            tool_calls: Vec::new(),
        })
    }

    fn decoder(&self, model: &str, auth_hint: &str) -> OpenAiDecoder {
        OpenAiDecoder {
            model: model.to_owned(),
            auth_hint: auth_hint.to_owned(),
            finish: None,
            usage: None,
            server_model: None,
        }
    }
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
}

impl OpenAiDecoder {
    fn finish_event(&mut self) -> StreamEvent {
        StreamEvent::Finish {
            reason: self.finish.take().unwrap_or(FinishReason::Unknown),
            usage: self.usage.take(),
            model: self.server_model.take(),
        }
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
            out.push_back(self.finish_event());
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
            if let Some(text) = choice
                .delta
                .and_then(|d| d.content)
                .filter(|t| !t.is_empty())
            {
                out.push_back(StreamEvent::Delta(text));
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
            out.push_back(self.finish_event());
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
        pub(super) messages: Vec<http::Turn<'a>>,
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
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        pub(super) stream: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub(super) stream_options: Option<StreamOptions>,
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
    }
}
