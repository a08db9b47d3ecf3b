//! Tool calling, provider-neutral: what a request offers ([`ToolDefinition`],
//! [`ToolChoice`]), what the model asks for ([`ToolCall`]) and what goes back
//! ([`ToolResult`]). Each client maps these onto its wire format (OpenAI's `tools` and
//! `tool_calls`, Anthropic's `tool_use` and `tool_result` blocks) and back.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A tool the model may call: its name, what it does, and the JSON Schema of its
/// arguments.
///
/// Build it from the Rust type the arguments deserialize into, so the schema and the
/// parsing cannot drift apart:
///
/// ```
/// use typedflow_providers::ToolDefinition;
///
/// /// Arguments of `get_weather`.
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Weather {
///     /// The city, e.g. "Paris".
///     city: String,
/// }
///
/// let tool = ToolDefinition::for_args::<Weather>("get_weather", "the weather in a city, now");
/// assert_eq!(tool.name, "get_weather");
/// assert_eq!(tool.parameters["type"], "object");
/// assert_eq!(tool.parameters["required"][0], "city");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolDefinition {
    /// The name the model calls it by (letters, digits, `_` and `-`, as both APIs
    /// require).
    pub name: String,
    /// What the tool does and when to use it; the model reads this to decide.
    pub description: String,
    /// The JSON Schema of the arguments: an object schema.
    pub parameters: serde_json::Value,
}

impl ToolDefinition {
    /// A tool with a hand-written argument schema.
    ///
    /// ```
    /// use serde_json::json;
    /// use typedflow_providers::ToolDefinition;
    ///
    /// let tool = ToolDefinition::new(
    ///     "now",
    ///     "the current time, UTC",
    ///     json!({"type": "object", "properties": {}}),
    /// );
    /// assert_eq!(tool.description, "the current time, UTC");
    /// ```
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: serde_json::Value,
    ) -> Self {
        ToolDefinition {
            name: name.into(),
            description: description.into(),
            parameters,
        }
    }

    /// A tool whose arguments are `T`, with `T`'s JSON Schema (from `schemars`).
    pub fn for_args<T: JsonSchema>(
        name: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        ToolDefinition::new(name, description, schema_of::<T>())
    }
}

/// The JSON Schema of `T` as a tool's parameters: inline (no `$schema` marker, which
/// some servers turn into grammar noise).
pub(crate) fn schema_of<T: JsonSchema>() -> serde_json::Value {
    let mut schema = schemars::SchemaGenerator::default()
        .into_root_schema_for::<T>()
        .to_value();
    if let Some(object) = schema.as_object_mut() {
        object.remove("$schema");
    }
    schema
}

/// Whether and which tools the model must call.
///
/// ```
/// use typedflow_providers::{ChatRequest, ToolChoice};
///
/// let request = ChatRequest::new().tool_choice(ToolChoice::tool("get_weather"));
/// assert_eq!(request.tool_choice, Some(ToolChoice::Tool("get_weather".into())));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ToolChoice {
    /// The model decides whether to call tools (the servers' default when tools are
    /// offered).
    Auto,
    /// The model must not call tools; it answers in text.
    None,
    /// The model must call at least one tool (OpenAI's `required`, Anthropic's `any`).
    Required,
    /// The model must call this tool.
    Tool(String),
}

impl ToolChoice {
    /// [`ToolChoice::Tool`] with the given name.
    pub fn tool(name: impl Into<String>) -> Self {
        ToolChoice::Tool(name.into())
    }
}

/// A call the model asked for.
///
/// `arguments` is the JSON text exactly as the model wrote it: normally an object, but a
/// model can get it wrong, and what was wrong is worth telling it (see
/// [`ToolCall::parse_arguments`]) rather than failing the whole reply.
///
/// ```
/// use serde_json::json;
/// use typedflow_providers::ToolCall;
///
/// #[derive(serde::Deserialize)]
/// struct Weather {
///     city: String,
/// }
///
/// let call = ToolCall::new("call_1", "get_weather", json!({"city": "Paris"}));
/// let args: Weather = call.parse_arguments()?;
/// assert_eq!(args.city, "Paris");
///
/// let bad = ToolCall::from_raw("call_2", "get_weather", r#"{"city": "Par"#);
/// assert!(bad.arguments_json().is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolCall {
    /// The call's id, which its [`ToolResult`] must repeat.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments as JSON text, as the model wrote them (`{}` when it wrote none).
    pub arguments: String,
}

impl ToolCall {
    /// A call with arguments given as a JSON value.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: serde_json::Value,
    ) -> Self {
        ToolCall::from_raw(id, name, arguments.to_string())
    }

    /// A call with arguments given as JSON text, kept as written even if it is not valid
    /// JSON; empty text counts as `{}`.
    pub fn from_raw(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        let mut arguments = arguments.into();
        if arguments.trim().is_empty() {
            arguments = "{}".to_owned();
        }
        ToolCall {
            id: id.into(),
            name: name.into(),
            arguments,
        }
    }

    /// The arguments as a JSON value.
    ///
    /// # Errors
    ///
    /// When the model wrote text that is not JSON.
    pub fn arguments_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(&self.arguments)
    }

    /// The arguments deserialized into `T`.
    ///
    /// # Errors
    ///
    /// When the text is not JSON or does not fit `T`; the error's message says where.
    pub fn parse_arguments<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.arguments)
    }
}

/// The outcome of a [`ToolCall`], sent back to the model as a
/// [`Message::tool_result`](crate::Message::tool_result).
///
/// ```
/// use typedflow_providers::ToolResult;
///
/// let ok = ToolResult::ok("call_1", r#"{"celsius": 21}"#);
/// let failed = ToolResult::error("call_2", "unknown city `Pariss`; did you mean `Paris`?");
/// assert!(!ok.is_error && failed.is_error);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolResult {
    /// The id of the call this answers.
    pub call_id: String,
    /// What the tool returned (often JSON text), or what went wrong.
    pub content: String,
    /// Whether the call failed. Anthropic sends it as `is_error`; OpenAI's API has no
    /// such field, so there the content alone must say it.
    pub is_error: bool,
}

impl ToolResult {
    /// A successful result.
    pub fn ok(call_id: impl Into<String>, content: impl Into<String>) -> Self {
        ToolResult {
            call_id: call_id.into(),
            content: content.into(),
            is_error: false,
        }
    }

    /// A failed call, with a message for the model saying what went wrong.
    pub fn error(call_id: impl Into<String>, message: impl Into<String>) -> Self {
        ToolResult {
            call_id: call_id.into(),
            content: message.into(),
            is_error: true,
        }
    }
}

/// The arguments of a tool that takes none: an empty JSON object, whose schema is
/// `{"type": "object", "properties": {}}` (both APIs want an object schema). A
/// [`#[tool]`](crate::tool) function without an argument gets it; fields the model adds
/// anyway are ignored.
///
/// ```
/// use typedflow_providers::{NoArgs, ToolCall, ToolDefinition};
///
/// let tool = ToolDefinition::for_args::<NoArgs>("now", "the time, UTC");
/// assert_eq!(tool.parameters["type"], "object");
/// assert_eq!(tool.parameters["properties"], serde_json::json!({}));
/// let call = ToolCall::from_raw("call_1", "now", "");
/// assert_eq!(call.parse_arguments::<NoArgs>()?, NoArgs {});
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NoArgs {}

impl JsonSchema for NoArgs {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "NoArgs".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "object", "properties": {}})
    }
}
