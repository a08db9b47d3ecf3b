//! The request and reply types every [`ChatModel`](crate::ChatModel) speaks.
//!
//! They are provider-neutral: each client maps them onto its wire format and back.

use serde::{Deserialize, Serialize};

use crate::tools::{ToolCall, ToolChoice, ToolDefinition, ToolResult};

/// Who wrote a [`Message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Role {
    /// Instructions for the model. Clients whose API has a separate system field
    /// (Anthropic) move these messages there.
    System,
    /// The human (or the program acting for one).
    User,
    /// The model.
    Assistant,
    /// The result of a tool call ([`Message::tool_result`]). Anthropic's API takes it as
    /// a `tool_result` block of a user turn; the client moves it there.
    Tool,
}

impl Role {
    /// The role's name on the wire: `system`, `user`, `assistant` or `tool`.
    ///
    /// ```
    /// assert_eq!(typedflow_providers::Role::Assistant.as_str(), "assistant");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// One turn of a conversation.
///
/// Besides text, an assistant turn may carry the tool calls the model made, and a
/// [`Role::Tool`] turn carries the result of one call.
///
/// ```
/// use serde_json::json;
/// use typedflow_providers::{Message, Role, ToolCall, ToolResult};
///
/// let m = Message::user("hello");
/// assert_eq!(m.role, Role::User);
/// assert_eq!(m.content, "hello");
///
/// let call = ToolCall::new("call_1", "get_weather", json!({"city": "Paris"}));
/// let asked = Message::assistant_tool_calls("", [call]);
/// let answered = Message::tool_result(ToolResult::ok("call_1", "21 °C"));
/// assert_eq!(answered.role, Role::Tool);
/// assert_eq!(answered.tool_call_id.as_deref(), Some("call_1"));
/// assert_eq!(asked.tool_calls[0].id, "call_1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// What they wrote; for a [`Role::Tool`] message, the tool's result.
    pub content: String,
    /// The tools the model called in this (assistant) turn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a [`Role::Tool`] message: the id of the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// For a [`Role::Tool`] message: whether the call failed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_error: bool,
}

impl Message {
    /// A message with the given role and text.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Message {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
            is_error: false,
        }
    }

    /// An assistant turn that called tools (with any text the model wrote beside the
    /// calls), to keep in the conversation before the results.
    pub fn assistant_tool_calls(
        content: impl Into<String>,
        calls: impl IntoIterator<Item = ToolCall>,
    ) -> Self {
        Message {
            tool_calls: calls.into_iter().collect(),
            ..Message::new(Role::Assistant, content)
        }
    }

    /// The result of a tool call, sent back to the model.
    pub fn tool_result(result: ToolResult) -> Self {
        Message {
            tool_call_id: Some(result.call_id),
            is_error: result.is_error,
            ..Message::new(Role::Tool, result.content)
        }
    }

    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Message::new(Role::System, content)
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Message::new(Role::User, content)
    }

    /// An assistant message, e.g. an earlier reply kept in the conversation.
    pub fn assistant(content: impl Into<String>) -> Self {
        Message::new(Role::Assistant, content)
    }
}

/// Asks the model for output of a given shape.
///
/// [`ChatModelExt::structured`](crate::ChatModelExt::structured) fills this in from a
/// Rust type; set it by hand only when writing your own [`ChatModel`](crate::ChatModel).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ResponseFormat {
    /// A JSON value valid for the given JSON Schema.
    JsonSchema {
        /// A name for the schema (letters, digits, `_` and `-`), as OpenAI requires.
        name: String,
        /// The JSON Schema the reply must satisfy.
        schema: serde_json::Value,
        /// Ask the server to enforce the schema strictly (OpenAI's `strict`); strict mode
        /// needs `additionalProperties: false` and every property required.
        strict: bool,
    },
}

/// What to send to a model: the conversation and the sampling settings.
///
/// Built with chained setters; unset fields are left out of the request so the
/// server's defaults apply.
///
/// ```
/// use typedflow_providers::ChatRequest;
///
/// let request = ChatRequest::new()
///     .system("answer in one word")
///     .user("the capital of France?")
///     .temperature(0.0)
///     .max_tokens(8)
///     .stop("\n")
///     .seed(42);
/// assert_eq!(request.messages.len(), 1);
/// assert_eq!(request.stop, ["\n"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ChatRequest {
    /// Overrides the model the client was built with, for this request only.
    pub model: Option<String>,
    /// The system prompt.
    pub system: Option<String>,
    /// The conversation, oldest first.
    pub messages: Vec<Message>,
    /// Sampling temperature; 0 makes the reply (nearly) deterministic.
    pub temperature: Option<f32>,
    /// The most tokens the reply may have.
    pub max_tokens: Option<u32>,
    /// Sequences at which the model stops.
    pub stop: Vec<String>,
    /// Seed for sampling, where the provider supports it (OpenAI-compatible servers do,
    /// Anthropic does not and ignores it).
    pub seed: Option<u64>,
    /// The shape the reply must have, for structured output.
    pub response_format: Option<ResponseFormat>,
    /// The tools the model may call; none are offered when empty.
    pub tools: Vec<ToolDefinition>,
    /// Whether and which tools the model must call; the server's default (auto, when
    /// tools are offered) when unset.
    pub tool_choice: Option<ToolChoice>,
    /// Whether the model may call several tools in one turn; the server's default
    /// (yes, for both APIs) when unset. Anthropic takes `false` as
    /// `disable_parallel_tool_use`.
    pub parallel_tool_calls: Option<bool>,
}

impl ChatRequest {
    /// An empty request.
    pub fn new() -> Self {
        ChatRequest::default()
    }

    /// Uses `model` instead of the client's model for this request.
    #[must_use]
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Sets the system prompt.
    #[must_use]
    pub fn system(mut self, system: impl Into<String>) -> Self {
        self.system = Some(system.into());
        self
    }

    /// Appends a message.
    #[must_use]
    pub fn message(mut self, message: Message) -> Self {
        self.messages.push(message);
        self
    }

    /// Appends a user message.
    #[must_use]
    pub fn user(self, content: impl Into<String>) -> Self {
        self.message(Message::user(content))
    }

    /// Appends an assistant message.
    #[must_use]
    pub fn assistant(self, content: impl Into<String>) -> Self {
        self.message(Message::assistant(content))
    }

    /// Sets the sampling temperature.
    #[must_use]
    pub fn temperature(mut self, temperature: f32) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Sets the most tokens the reply may have.
    #[must_use]
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// Adds a stop sequence.
    #[must_use]
    pub fn stop(mut self, stop: impl Into<String>) -> Self {
        self.stop.push(stop.into());
        self
    }

    /// Sets the sampling seed.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Asks for output of the given shape.
    #[must_use]
    pub fn response_format(mut self, format: ResponseFormat) -> Self {
        self.response_format = Some(format);
        self
    }

    /// Offers a tool to the model.
    ///
    /// ```
    /// use typedflow_providers::{ChatRequest, ToolChoice, ToolDefinition};
    ///
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Weather {
    ///     city: String,
    /// }
    ///
    /// let request = ChatRequest::new()
    ///     .user("the weather in Paris?")
    ///     .tool(ToolDefinition::for_args::<Weather>("get_weather", "the weather in a city"))
    ///     .tool_choice(ToolChoice::Required)
    ///     .parallel_tool_calls(false);
    /// assert_eq!(request.tools[0].name, "get_weather");
    /// ```
    #[must_use]
    pub fn tool(mut self, tool: ToolDefinition) -> Self {
        self.tools.push(tool);
        self
    }

    /// Offers several tools.
    #[must_use]
    pub fn tools(mut self, tools: impl IntoIterator<Item = ToolDefinition>) -> Self {
        self.tools.extend(tools);
        self
    }

    /// Sets whether and which tools the model must call.
    #[must_use]
    pub fn tool_choice(mut self, choice: ToolChoice) -> Self {
        self.tool_choice = Some(choice);
        self
    }

    /// Allows or forbids several tool calls in one turn.
    #[must_use]
    pub fn parallel_tool_calls(mut self, yes: bool) -> Self {
        self.parallel_tool_calls = Some(yes);
        self
    }

    /// Appends the result of a tool call ([`Message::tool_result`]).
    #[must_use]
    pub fn tool_result(self, result: ToolResult) -> Self {
        self.message(Message::tool_result(result))
    }
}

/// Why the model stopped writing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FinishReason {
    /// It finished its answer.
    Stop,
    /// It hit `max_tokens`: the answer is probably cut off.
    Length,
    /// It wrote one of the stop sequences.
    StopSequence,
    /// The provider filtered the content or the model refused.
    ContentFilter,
    /// It wants to call tools.
    ToolCalls,
    /// The server ended the reply properly but did not say why (e.g. an
    /// OpenAI-compatible stream with `[DONE]` and no `finish_reason`).
    Unknown,
    /// A reason this crate does not know, as the server spelled it.
    Other(String),
}

impl FinishReason {
    /// Maps an OpenAI `finish_reason`; an empty string counts as no reason.
    #[cfg(feature = "openai")]
    pub(crate) fn from_openai(raw: &str) -> Option<Self> {
        Some(match raw {
            "" => return None,
            "stop" => FinishReason::Stop,
            "length" => FinishReason::Length,
            "content_filter" => FinishReason::ContentFilter,
            "tool_calls" | "function_call" => FinishReason::ToolCalls,
            other => FinishReason::Other(other.to_owned()),
        })
    }

    /// Maps an Anthropic `stop_reason`; an empty string counts as no reason.
    #[cfg(feature = "anthropic")]
    pub(crate) fn from_anthropic(raw: &str) -> Option<Self> {
        Some(match raw {
            "" => return None,
            "end_turn" => FinishReason::Stop,
            "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
            "stop_sequence" => FinishReason::StopSequence,
            "tool_use" => FinishReason::ToolCalls,
            "refusal" => FinishReason::ContentFilter,
            other => FinishReason::Other(other.to_owned()),
        })
    }
}

/// Tokens a request used.
///
/// ```
/// let usage = typedflow_providers::Usage::new(12, 30);
/// assert_eq!(usage.total(), 42);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Usage {
    /// Tokens in the prompt (OpenAI's `prompt_tokens`, Anthropic's `input_tokens`).
    pub prompt_tokens: u64,
    /// Tokens in the reply (OpenAI's `completion_tokens`, Anthropic's `output_tokens`).
    pub completion_tokens: u64,
}

impl Usage {
    /// Usage with the given counts.
    pub fn new(prompt_tokens: u64, completion_tokens: u64) -> Self {
        Usage {
            prompt_tokens,
            completion_tokens,
        }
    }

    /// Prompt plus completion tokens.
    pub fn total(&self) -> u64 {
        self.prompt_tokens.saturating_add(self.completion_tokens)
    }
}

/// A model's complete reply.
///
/// ```
/// use typedflow_providers::{ChatResponse, FinishReason, Usage};
///
/// let reply = ChatResponse::new("hi", FinishReason::Stop).with_usage(Usage::new(3, 1));
/// assert_eq!(reply.text, "hi");
/// assert_eq!(reply.usage.map(|u| u.total()), Some(4));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChatResponse {
    /// The text of the reply.
    pub text: String,
    /// Why the model stopped.
    pub finish_reason: FinishReason,
    /// Token usage, when the server reported it (some compatible servers do not).
    pub usage: Option<Usage>,
    /// The model that answered, as the server named it.
    pub model: Option<String>,
    /// The tools the model called, in its order ([`FinishReason::ToolCalls`] usually
    /// says so too).
    pub tool_calls: Vec<ToolCall>,
}

impl ChatResponse {
    /// A reply with the given text and finish reason, no usage, no model name and no
    /// tool calls.
    pub fn new(text: impl Into<String>, finish_reason: FinishReason) -> Self {
        ChatResponse {
            text: text.into(),
            finish_reason,
            usage: None,
            model: None,
            tool_calls: Vec::new(),
        }
    }

    /// Sets the tool calls.
    #[must_use]
    pub fn with_tool_calls(mut self, calls: impl IntoIterator<Item = ToolCall>) -> Self {
        self.tool_calls = calls.into_iter().collect();
        self
    }

    /// The reply as an assistant turn (its text and tool calls), to append to the
    /// conversation before the tool results.
    ///
    /// ```
    /// use serde_json::json;
    /// use typedflow_providers::{ChatResponse, FinishReason, Role, ToolCall};
    ///
    /// let call = ToolCall::new("call_1", "get_weather", json!({"city": "Paris"}));
    /// let reply = ChatResponse::new("", FinishReason::ToolCalls).with_tool_calls([call]);
    /// let turn = reply.to_message();
    /// assert_eq!(turn.role, Role::Assistant);
    /// assert_eq!(turn.tool_calls, reply.tool_calls);
    /// ```
    pub fn to_message(&self) -> Message {
        Message::assistant_tool_calls(self.text.clone(), self.tool_calls.iter().cloned())
    }

    /// Sets the usage.
    #[must_use]
    pub fn with_usage(mut self, usage: Usage) -> Self {
        self.usage = Some(usage);
        self
    }

    /// Sets the model name.
    #[must_use]
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }
}
