//! The OpenAI-compatible client: `POST {base_url}/chat/completions`.
//!
//! One client serves OpenAI, vLLM, the llama.cpp server, LM Studio and Ollama's
//! compatible endpoint. Parsing is lenient where compatible servers differ: unknown
//! fields are ignored, an empty or unknown `finish_reason` is accepted, usage may be
//! missing, the final usage chunk may have empty `choices`, and `[DONE]` may or may not
//! follow the finish.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::header::AUTHORIZATION;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ConfigError, ProviderError, classify};
use crate::http::client::{CommonBuilder, Core, Defaults, common_builder_methods};
use crate::http::sse::SseEvent;
use crate::http::{self, Decoder, secret_header};
use crate::model::ChatModel;
use crate::stream::{ChatStream, StreamEvent};
use crate::telemetry::{measured_chat, measured_stream};
use crate::types::{ChatRequest, ChatResponse, FinishReason, ResponseFormat, Usage};

const PROVIDER: &str = "openai";

const DEFAULTS: Defaults = Defaults {
    provider: PROVIDER,
    base_url: "https://api.openai.com/v1",
    base_url_env: "OPENAI_BASE_URL",
    api_key_env: "OPENAI_API_KEY",
    model_env: "OPENAI_MODEL",
    path: "chat/completions",
};

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
    /// [`ConfigError::Client`] for bad settings.
    pub fn build(self) -> Result<OpenAiClient, ConfigError> {
        let core = Core::build(self.common, &DEFAULTS)?;
        let auth = core
            .api_key
            .as_ref()
            .map(|key| secret_header("authorization", "Bearer ", key))
            .transpose()?;
        Ok(OpenAiClient {
            inner: Arc::new(Inner {
                auth_hint: core.auth_hint(),
                core,
                auth,
                max_completion_tokens: self.max_completion_tokens,
                stream_usage: !self.no_stream_usage,
            }),
        })
    }
}

struct Inner {
    core: Core,
    auth: Option<reqwest::header::HeaderValue>,
    auth_hint: String,
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
    inner: Arc<Inner>,
}

impl fmt::Debug for OpenAiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiClient")
            .field("core", &self.inner.core)
            .field("max_completion_tokens", &self.inner.max_completion_tokens)
            .field("stream_usage", &self.inner.stream_usage)
            .finish()
    }
}

impl OpenAiClient {
    /// A builder with the defaults described on its methods.
    pub fn builder() -> OpenAiBuilder {
        OpenAiBuilder::default()
    }

    /// The request body for `request`.
    fn body(
        &self,
        request: &ChatRequest,
        model: &str,
        stream: bool,
    ) -> Result<Vec<u8>, ProviderError> {
        let mut messages = Vec::with_capacity(request.messages.len() + 1);
        if let Some(system) = &request.system {
            messages.push(json!({"role": "system", "content": system}));
        }
        for m in &request.messages {
            messages.push(json!({"role": m.role.as_str(), "content": m.content}));
        }
        let mut body = Map::new();
        body.insert("model".into(), model.into());
        body.insert("messages".into(), messages.into());
        if let Some(t) = request.temperature {
            body.insert("temperature".into(), t.into());
        }
        if let Some(n) = request.max_tokens {
            let field = if self.inner.max_completion_tokens {
                "max_completion_tokens"
            } else {
                "max_tokens"
            };
            body.insert(field.into(), n.into());
        }
        if !request.stop.is_empty() {
            body.insert("stop".into(), request.stop.clone().into());
        }
        if let Some(seed) = request.seed {
            body.insert("seed".into(), seed.into());
        }
        if let Some(ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
        }) = &request.response_format
        {
            body.insert(
                "response_format".into(),
                json!({"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": strict}}),
            );
        }
        if stream {
            body.insert("stream".into(), true.into());
            if self.inner.stream_usage {
                body.insert("stream_options".into(), json!({"include_usage": true}));
            }
        }
        serde_json::to_vec(&Value::Object(body)).map_err(|e| {
            ProviderError::bad_response(PROVIDER, ".", format!("could not encode the request: {e}"))
        })
    }

    async fn send(
        &self,
        request: &ChatRequest,
        model: &str,
        stream: bool,
    ) -> Result<reqwest::Response, ProviderError> {
        let core = &self.inner.core;
        let mut http_request = core.post(self.body(request, model, stream)?, stream);
        if let Some(auth) = &self.inner.auth {
            http_request = http_request.header(AUTHORIZATION, auth.clone());
        }
        http::send(
            http_request,
            &core.error_context(model, &self.inner.auth_hint),
        )
        .await
    }

    async fn chat_inner(
        &self,
        request: &ChatRequest,
        model: &str,
    ) -> Result<ChatResponse, ProviderError> {
        let response = self.send(request, model, false).await?;
        let body = http::read_body(
            response,
            PROVIDER,
            self.inner.core.settings.max_response_bytes,
        )
        .await?;
        let completion: wire::Completion = http::parse_json(PROVIDER, &body)?;
        if let Some(error) = completion.error {
            return Err(in_band_error(error, model, &self.inner.auth_hint));
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
        })
    }
}

#[async_trait]
impl ChatModel for OpenAiClient {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn model(&self) -> &str {
        &self.inner.core.model
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let model = self.inner.core.model_for(request.model.as_deref());
        let redactor = &self.inner.core.redactor;
        measured_chat(PROVIDER, model, redactor, self.chat_inner(request, model)).await
    }

    async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream, ProviderError> {
        let model = self.inner.core.model_for(request.model.as_deref());
        let decoder = OpenAiDecoder {
            model: model.to_owned(),
            auth_hint: self.inner.auth_hint.clone(),
            finish: None,
            usage: None,
            server_model: None,
        };
        let send = self.send(request, model, true);
        let max_event = self.inner.core.max_event();
        let redactor = &self.inner.core.redactor;
        measured_stream(PROVIDER, model, redactor, max_event, send, decoder).await
    }
}

/// An error object sent with a 200 status (in a body or inside a stream).
fn in_band_error(error: Value, model: &str, hint: &str) -> ProviderError {
    let status = error
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| (400..600).contains(c))
        .unwrap_or(500);
    let body = json!({ "error": error }).to_string();
    let api: ApiError = http::api_error(
        PROVIDER,
        status,
        &reqwest::header::HeaderMap::new(),
        body.as_bytes(),
        std::time::SystemTime::now(),
    );
    classify(api, model, hint)
}

/// Reads `chat.completion.chunk` events.
struct OpenAiDecoder {
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
            return Err(in_band_error(error, &self.model, &self.auth_hint));
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

/// The wire format, as leniently as the servers need.
mod wire {
    use super::*;

    #[derive(Deserialize)]
    pub(super) struct Completion {
        #[serde(default)]
        pub(super) choices: Vec<Choice>,
        #[serde(default)]
        pub(super) usage: Option<Usage>,
        #[serde(default)]
        pub(super) model: Option<String>,
        #[serde(default)]
        pub(super) error: Option<Value>,
    }

    #[derive(Deserialize)]
    pub(super) struct Choice {
        #[serde(default)]
        pub(super) message: Option<Message>,
        #[serde(default)]
        pub(super) finish_reason: Option<String>,
    }

    #[derive(Deserialize)]
    pub(super) struct Message {
        #[serde(default)]
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
        #[serde(default)]
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
        #[serde(default)]
        prompt_tokens: Option<u64>,
        #[serde(default)]
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
        #[serde(default)]
        pub(super) usage: Option<Usage>,
        #[serde(default)]
        pub(super) model: Option<String>,
        #[serde(default)]
        pub(super) error: Option<Value>,
    }

    #[derive(Deserialize)]
    pub(super) struct ChunkChoice {
        #[serde(default)]
        pub(super) index: Option<u32>,
        #[serde(default)]
        pub(super) delta: Option<Delta>,
        #[serde(default)]
        pub(super) finish_reason: Option<String>,
    }

    #[derive(Deserialize)]
    pub(super) struct Delta {
        #[serde(default)]
        pub(super) content: Option<String>,
    }
}
