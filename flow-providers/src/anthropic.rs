//! The Anthropic Messages client: `POST {base_url}/v1/messages`, with the `x-api-key`
//! and `anthropic-version` headers and Anthropic's typed stream events
//! (`message_start`, `content_block_start`, `content_block_delta`, `content_block_stop`,
//! `message_delta`, `message_stop`, `ping`, `error`).

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::header::HeaderValue;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::{ConfigError, ProviderError, classify};
use crate::http::client::{CommonBuilder, Core, Defaults, common_builder_methods};
use crate::http::sse::SseEvent;
use crate::http::{self, Decoder, secret_header};
use crate::model::ChatModel;
use crate::stream::{ChatStream, StreamEvent};
use crate::telemetry::{measured_chat, measured_stream};
use crate::types::{ChatRequest, ChatResponse, FinishReason, ResponseFormat, Role, Usage};

const PROVIDER: &str = "anthropic";

/// The API version sent in `anthropic-version`.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// The beta that enables `output_format` (native structured output).
const STRUCTURED_OUTPUTS_BETA: &str = "structured-outputs-2025-11-13";

const DEFAULTS: Defaults = Defaults {
    provider: PROVIDER,
    base_url: "https://api.anthropic.com",
    base_url_env: "ANTHROPIC_BASE_URL",
    api_key_env: "ANTHROPIC_API_KEY",
    model_env: "ANTHROPIC_MODEL",
    path: "v1/messages",
};

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
    /// [`ConfigError::Client`] for bad settings.
    pub fn build(self) -> Result<AnthropicClient, ConfigError> {
        let core = Core::build(self.common, &DEFAULTS)?;
        let key = core
            .api_key
            .as_ref()
            .map(|key| secret_header("x-api-key", "", key))
            .transpose()?;
        Ok(AnthropicClient {
            inner: Arc::new(Inner {
                auth_hint: core.auth_hint(),
                core,
                key,
                default_max_tokens: self.default_max_tokens,
                native_structured_output: self.native_structured_output,
            }),
        })
    }
}

struct Inner {
    core: Core,
    key: Option<HeaderValue>,
    auth_hint: String,
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
    inner: Arc<Inner>,
}

impl fmt::Debug for AnthropicClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicClient")
            .field("core", &self.inner.core)
            .field("default_max_tokens", &self.inner.default_max_tokens)
            .field(
                "native_structured_output",
                &self.inner.native_structured_output,
            )
            .finish()
    }
}

impl AnthropicClient {
    /// A builder with the defaults described on its methods.
    pub fn builder() -> AnthropicBuilder {
        AnthropicBuilder::default()
    }

    fn body(
        &self,
        request: &ChatRequest,
        model: &str,
        stream: bool,
    ) -> Result<Vec<u8>, ProviderError> {
        // The Messages API takes the system prompt apart from the turns.
        let mut system: Vec<&str> = request.system.iter().map(String::as_str).collect();
        let mut messages = Vec::with_capacity(request.messages.len());
        for m in &request.messages {
            match m.role {
                Role::System => system.push(&m.content),
                role => messages.push(json!({"role": role.as_str(), "content": m.content})),
            }
        }
        let mut system = system.join("\n\n");
        let mut body = Map::new();
        if let Some(ResponseFormat::JsonSchema { schema, .. }) = &request.response_format {
            if !system.is_empty() {
                system.push_str("\n\n");
            }
            system.push_str(&crate::structured::schema_instruction(schema));
            if self.inner.native_structured_output {
                body.insert(
                    "output_format".into(),
                    json!({"type": "json_schema", "schema": schema}),
                );
            }
        }
        body.insert("model".into(), model.into());
        body.insert(
            "max_tokens".into(),
            request
                .max_tokens
                .unwrap_or(self.inner.default_max_tokens)
                .into(),
        );
        if !system.is_empty() {
            body.insert("system".into(), system.into());
        }
        body.insert("messages".into(), messages.into());
        if let Some(t) = request.temperature {
            body.insert("temperature".into(), t.into());
        }
        if !request.stop.is_empty() {
            body.insert("stop_sequences".into(), request.stop.clone().into());
        }
        if stream {
            body.insert("stream".into(), true.into());
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
        let mut http_request = core
            .post(self.body(request, model, stream)?, stream)
            .header("anthropic-version", ANTHROPIC_VERSION);
        if let Some(key) = &self.inner.key {
            http_request = http_request.header("x-api-key", key.clone());
        }
        if self.inner.native_structured_output && request.response_format.is_some() {
            http_request = http_request.header("anthropic-beta", STRUCTURED_OUTPUTS_BETA);
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
        let message: wire::Message = http::parse_json(PROVIDER, &body)?;
        if message.kind.as_deref() == Some("error") {
            return Err(in_band_error(
                message.error.unwrap_or(Value::Null),
                model,
                &self.inner.auth_hint,
            ));
        }
        let text = message
            .content
            .into_iter()
            .filter(|block| block.kind == "text")
            .filter_map(|block| block.text)
            .collect();
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
        })
    }
}

#[async_trait]
impl ChatModel for AnthropicClient {
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
        let decoder = AnthropicDecoder {
            model: model.to_owned(),
            auth_hint: self.inner.auth_hint.clone(),
            prompt_tokens: None,
            completion_tokens: None,
            stop_reason: None,
            server_model: None,
        };
        let send = self.send(request, model, true);
        let max_event = self.inner.core.max_event();
        let redactor = &self.inner.core.redactor;
        measured_stream(PROVIDER, model, redactor, max_event, send, decoder).await
    }
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

fn in_band_error(error: Value, model: &str, hint: &str) -> ProviderError {
    let status = status_of(error.get("type").and_then(Value::as_str).unwrap_or(""));
    let body = json!({ "type": "error", "error": error }).to_string();
    let api = http::api_error(
        PROVIDER,
        status,
        &reqwest::header::HeaderMap::new(),
        body.as_bytes(),
        std::time::SystemTime::now(),
    );
    classify(api, model, hint)
}

/// Reads Anthropic's typed stream events.
struct AnthropicDecoder {
    model: String,
    auth_hint: String,
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    stop_reason: Option<FinishReason>,
    server_model: Option<String>,
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
            "content_block_start" => {
                if let Some(text) = data
                    .content_block
                    .filter(|b| b.kind == "text")
                    .and_then(|b| b.text)
                    .filter(|t| !t.is_empty())
                {
                    out.push_back(StreamEvent::Delta(text));
                }
            }
            "content_block_delta" => {
                if let Some(text) = data
                    .delta
                    .filter(|d| d.kind.as_deref() == Some("text_delta"))
                    .and_then(|d| d.text)
                    .filter(|t| !t.is_empty())
                {
                    out.push_back(StreamEvent::Delta(text));
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
                return Err(in_band_error(
                    data.error.unwrap_or(Value::Null),
                    &self.model,
                    &self.auth_hint,
                ));
            }
            // ping, content_block_stop, and event types added later.
            _ => {}
        }
        Ok(false)
    }

    fn eof(&mut self, _out: &mut VecDeque<StreamEvent>) -> Result<(), ProviderError> {
        // Only message_stop completes a reply: without it the caller reports the cut.
        Ok(())
    }
}

mod wire {
    use super::*;

    #[derive(Deserialize)]
    pub(super) struct Message {
        #[serde(default, rename = "type")]
        pub(super) kind: Option<String>,
        #[serde(default)]
        pub(super) content: Vec<Block>,
        #[serde(default)]
        pub(super) model: Option<String>,
        #[serde(default)]
        pub(super) stop_reason: Option<String>,
        #[serde(default)]
        pub(super) usage: Option<UsageWire>,
        #[serde(default)]
        pub(super) error: Option<Value>,
    }

    #[derive(Deserialize)]
    pub(super) struct Block {
        #[serde(default, rename = "type")]
        pub(super) kind: String,
        #[serde(default)]
        pub(super) text: Option<String>,
    }

    /// Anthropic counts cached prompt tokens apart from `input_tokens`; the prompt is
    /// their sum.
    #[derive(Deserialize)]
    pub(super) struct UsageWire {
        #[serde(default)]
        input_tokens: Option<u64>,
        #[serde(default)]
        cache_read_input_tokens: Option<u64>,
        #[serde(default)]
        cache_creation_input_tokens: Option<u64>,
        #[serde(default)]
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
        #[serde(default, rename = "type")]
        pub(super) kind: Option<String>,
        #[serde(default)]
        pub(super) message: Option<StartMessage>,
        #[serde(default)]
        pub(super) content_block: Option<Block>,
        #[serde(default)]
        pub(super) delta: Option<DeltaWire>,
        #[serde(default)]
        pub(super) usage: Option<UsageWire>,
        #[serde(default)]
        pub(super) error: Option<Value>,
    }

    #[derive(Deserialize)]
    pub(super) struct StartMessage {
        #[serde(default)]
        pub(super) model: Option<String>,
        #[serde(default)]
        pub(super) usage: Option<UsageWire>,
    }

    #[derive(Deserialize)]
    pub(super) struct DeltaWire {
        #[serde(default, rename = "type")]
        pub(super) kind: Option<String>,
        #[serde(default)]
        pub(super) text: Option<String>,
        #[serde(default)]
        pub(super) stop_reason: Option<String>,
    }
}
