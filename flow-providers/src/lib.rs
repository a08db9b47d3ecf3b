//! LLM chat clients for `flow`, behind one object-safe trait.
//!
//! - [`ChatModel`]: chat, streaming chat; [`ChatModelExt::structured`] for structured
//!   output into any `T: DeserializeOwned + JsonSchema`.
//! - [`OpenAiClient`] (feature `openai`): OpenAI and every server that copies its chat
//!   completions API (vLLM, the llama.cpp server, LM Studio, Ollama).
//! - [`AnthropicClient`] (feature `anthropic`): Anthropic's Messages API.
//! - [`ScriptedModel`]: replies from a script (text or tool calls), for tests and
//!   offline examples.
//! - Tool calling: [`ChatRequest::tool`] offers a [`ToolDefinition`] (its schema from a
//!   serde type), [`ChatResponse::tool_calls`] holds the [`ToolCall`]s, the same for both
//!   providers and streamed or not; a [`Toolbox`] of typed [`Tool`]s runs them and turns
//!   every failure into a [`ToolResult`] the model can read. [`#[tool]`](macro@tool) makes
//!   a tool of an `async fn`; [`agent`] writes the loop (model, tools, model) as a
//!   checked graph. The [`tools_guide`] covers both.
//! - [`ProviderError`]: every failure, classified (authentication, rate limited with its
//!   retry-after, quota, overloaded, unknown model, context too long, ...), implementing
//!   the runtime's [`Retryable`], so the runtime's retry policy (`#[node(retry(..))]` in a
//!   flow, [`NodePolicies`](typedflow::policy::NodePolicies) outside one) reads its facts.
//!
//! - [`report`] and [`Report`]: an error as a person reads it, message and causes.
//!
//! Keys are read from the environment by default, held as secrets, and never appear in
//! `Debug` output, errors or logs. Every request reports metrics and a tracing span
//! (see [below](#metrics-and-tracing)); the [`guide`] covers it all with examples.
//!
//! ```
//! use std::sync::Arc;
//! use typedflow_providers::{ChatModel, ChatRequest, ScriptedModel, ScriptedReply};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! // In production: Arc::new(OpenAiClient::builder().model("gpt-4o-mini").build()?)
//! let model: Arc<dyn ChatModel> = Arc::new(ScriptedModel::new([ScriptedReply::text("Bonjour")]));
//! let reply = model.chat(&ChatRequest::new().user("Say hello in French")).await?;
//! assert_eq!(reply.text, "Bonjour");
//! # Ok::<(), typedflow_providers::ProviderError>(())
//! # }).unwrap();
//! ```
//!
//! # Metrics and tracing
//!
//! Through the `metrics` facade (nothing is recorded without a recorder):
//!
//! | name | kind | labels |
//! |---|---|---|
//! | `llm_requests_total` | counter | `provider`, `model`, `outcome` (`ok`, an [`ErrorKind`] name, or `cancelled`) |
//! | `llm_request_duration_seconds` | histogram | `provider`, `model` |
//! | `llm_tokens_total` | counter | `provider`, `model`, `kind` (`prompt`, `completion`) |
//! | `flow_tool_calls_total` | counter | `tool`, `outcome` (`ok`, a [`ToolError::as_str`] name, or `cancelled` for a call dropped before it ended) |
//! | `flow_tool_duration_seconds` | histogram | `tool` |
//!
//! Each request runs in a `llm.request` span with `provider`, `model`, `stream`, and when
//! it ends `outcome`, `prompt_tokens`, `completion_tokens`, `latency_ms`. Each tool call
//! a [`Toolbox`] runs is a `tool.call` span with `tool`, then `outcome` and
//! `duration_ms`. The `tool` label and field are the toolbox's name for the tool, or
//! `(unknown)` for a name the model made up: never text from outside.
//!
//! # Features
//!
//! `openai`, `anthropic` (the HTTP clients) and `rustls` (HTTPS) are on by default.
//! Without `openai` and `anthropic` the crate has no HTTP stack at all: the trait, the
//! errors and the scripted model remain.

pub mod agent;
mod error;
mod model;
mod redact;
mod scripted;
mod stream;
mod structured;
mod telemetry;
mod toolbox;
mod tools;
mod types;

#[cfg(feature = "anthropic")]
mod anthropic;
#[cfg(feature = "http")]
mod http;
#[cfg(feature = "openai")]
mod openai;

pub use error::{ApiError, BoxError, ConfigError, ErrorKind, ProviderError};
pub use model::ChatModel;
pub use scripted::{ScriptedModel, ScriptedReply};
pub use stream::{ChatStream, StreamEvent};
pub use structured::{ChatModelExt, parse_structured, response_format_for};
pub use toolbox::{Tool, ToolError, Toolbox};
pub use tools::{NoArgs, ToolCall, ToolChoice, ToolDefinition, ToolResult};
pub use typedflow::Retryable;
pub use typedflow::{Report, report};
pub use types::{ChatRequest, ChatResponse, FinishReason, Message, ResponseFormat, Role, Usage};

/// Makes an `async fn` of one argument a [`Tool`]: `#[tool]` on `get_weather` adds a
/// unit struct `GetWeather` (the name in UpperCamelCase) that a [`Toolbox`] takes.
///
/// - the tool's name is the function's (`get_weather`);
/// - its description, which the model reads to decide when to call it, is the doc
///   comment up to its first heading (`# Errors`, `# Examples` stay for Rust readers);
///   a tool without one does not compile;
/// - its arguments are the one parameter's type, which derives `Deserialize` and
///   `JsonSchema` (the model is shown its JSON Schema); a function without a parameter
///   takes [`NoArgs`];
/// - it returns a `Serialize` value, or a `Result` of one whose error is `Display` (the
///   message goes to the model).
///
/// The function stays as written, callable and testable on its own. It must be a free,
/// non-generic `async fn` with at most one parameter, taken by value; anything else is a
/// compile error on the offending token.
///
/// ```
/// use typedflow_providers::{ToolCall, Toolbox, tool};
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Weather {
///     /// The city, e.g. "Paris".
///     city: String,
/// }
///
/// #[derive(serde::Serialize)]
/// struct Forecast {
///     celsius: i32,
/// }
///
/// /// The weather in a city, now.
/// ///
/// /// # Errors
/// ///
/// /// When the city has no weather station.
/// #[tool]
/// async fn get_weather(args: Weather) -> Result<Forecast, String> {
///     match args.city.as_str() {
///         "Paris" => Ok(Forecast { celsius: 21 }),
///         other => Err(format!("no station in {other}")),
///     }
/// }
///
/// /// The time, UTC.
/// #[tool]
/// async fn now() -> &'static str {
///     "12:00"
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let tools = Toolbox::new().with_tool(GetWeather)?.with_tool(Now)?;
/// let definitions = tools.definitions();
/// assert_eq!(definitions[0].name, "get_weather");
/// assert_eq!(definitions[0].description, "The weather in a city, now.");
/// assert_eq!(definitions[0].parameters["required"][0], "city");
///
/// let call = ToolCall::new("call_1", "get_weather", serde_json::json!({"city": "Paris"}));
/// assert_eq!(tools.call(&call).await.content, r#"{"celsius":21}"#);
/// let call = ToolCall::new("call_2", "now", serde_json::json!({}));
/// assert_eq!(tools.call(&call).await.content, "12:00");
/// // Still a function.
/// assert!(get_weather(Weather { city: "Lyon".into() }).await.is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub use typedflow_macros::tool;

/// What `#[tool]` expands to refers to these; not a public API.
#[doc(hidden)]
pub mod __private {
    /// The output and error types of a tool function returning an alias of `Result`
    /// (`anyhow::Result<T>`).
    pub trait ToolOutcome {
        /// The `Ok` type.
        type Output;
        /// The `Err` type.
        type Error;
    }

    impl<T, E> ToolOutcome for Result<T, E> {
        type Output = T;
        type Error = E;
    }
}

/// The guide in `docs/providers.md`, compiled here so its examples are tested.
#[cfg(all(feature = "openai", feature = "anthropic"))]
pub mod guide {
    #![doc = include_str!("../docs/providers.md")]
}

/// The guide to tools and the agent loop in `docs/tools.md`, compiled here so its
/// examples are tested.
pub mod tools_guide {
    #![doc = include_str!("../docs/tools.md")]
}

#[cfg(feature = "anthropic")]
pub use anthropic::{ANTHROPIC_VERSION, AnthropicBuilder, AnthropicClient};
#[cfg(feature = "openai")]
pub use openai::{OpenAiBuilder, OpenAiClient};
