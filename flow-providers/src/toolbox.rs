//! Typed tools and the toolbox that runs the calls a model makes.
//!
//! A [`Tool`] is an async function of one serde type (whose JSON Schema is offered to the
//! model) to a serializable output. The [`Toolbox`] holds tools by name and turns each
//! [`ToolCall`] into a [`ToolResult`]: whatever goes wrong (an unknown tool, arguments
//! that are not JSON or do not fit the type, the tool's own error, a panic, a timeout)
//! becomes an error result that tells the model what was wrong, never a crash.

use std::fmt;
use std::future::Future;
use std::num::NonZeroUsize;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt as _;
use futures::StreamExt as _;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument as _;

use crate::error::ConfigError;
use crate::tools::{ToolCall, ToolDefinition, ToolResult, schema_of};

/// The end of one tool call: records its outcome, duration and metrics when dropped,
/// as `cancelled` if the call was dropped before it ended.
struct CallEnd<'a> {
    tool: &'a str,
    span: tracing::Span,
    started: tokio::time::Instant,
    /// Set when the call ended.
    outcome: Option<&'static str>,
}

impl Drop for CallEnd<'_> {
    fn drop(&mut self) {
        let elapsed = self.started.elapsed();
        let outcome = self.outcome.unwrap_or("cancelled");
        self.span.record("outcome", outcome);
        self.span.record(
            "duration_ms",
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        );
        match self.outcome {
            Some("ok") => tracing::debug!(parent: &self.span, "tool call finished"),
            Some(_) => {}
            None => {
                tracing::warn!(parent: &self.span, outcome, "tool call cancelled before it ended")
            }
        }
        metrics::counter!(
            "flow_tool_calls_total",
            "tool" => self.tool.to_owned(),
            "outcome" => outcome,
        )
        .increment(1);
        metrics::histogram!("flow_tool_duration_seconds", "tool" => self.tool.to_owned())
            .record(elapsed.as_secs_f64());
    }
}

/// The `tool` label of a call to a tool the toolbox does not have: not a valid tool name,
/// so it cannot be mistaken for one.
const UNKNOWN_TOOL_LABEL: &str = "(unknown)";

/// The longest per-tool timeout accepted, as for the clients' timeouts.
const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// A tool written by hand: a name, a description, and an async call from typed arguments
/// to a serializable output.
///
/// The JSON Schema the model sees is `Args`' (from `schemars`), so the model is asked
/// for exactly what `call` can read.
///
/// ```
/// use typedflow_providers::Tool;
///
/// /// Arguments of `add`.
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct AddArgs {
///     a: i64,
///     b: i64,
/// }
///
/// struct Add;
///
/// impl Tool for Add {
///     type Args = AddArgs;
///     type Output = i64;
///     type Error = std::num::TryFromIntError;
///
///     fn name(&self) -> &str {
///         "add"
///     }
///     fn description(&self) -> &str {
///         "adds two integers"
///     }
///     async fn call(&self, args: AddArgs) -> Result<i64, Self::Error> {
///         Ok(args.a + args.b)
///     }
/// }
/// ```
pub trait Tool: Send + Sync + 'static {
    /// The arguments, deserialized from the model's JSON.
    type Args: DeserializeOwned + JsonSchema + Send;
    /// What the tool returns; sent to the model as JSON (a string as plain text).
    type Output: Serialize + Send;
    /// The tool's own failure; its message is sent to the model.
    type Error: fmt::Display + Send;

    /// The name the model calls the tool by (letters, digits, `_` and `-`).
    fn name(&self) -> &str;

    /// What the tool does and when to use it.
    fn description(&self) -> &str;

    /// Runs the tool.
    ///
    /// # Errors
    ///
    /// Whatever the tool decides; the toolbox reports it to the model.
    fn call(
        &self,
        args: Self::Args,
    ) -> impl Future<Output = Result<Self::Output, Self::Error>> + Send;
}

/// Why a call produced no output. Its message is what the model reads (after `error: `).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    /// The model called a tool the toolbox does not have.
    #[error("unknown tool `{name}`; the tools are: {known}")]
    UnknownTool {
        /// The name the model used.
        name: String,
        /// The names of the tools there are, comma-separated.
        known: String,
    },
    /// The arguments are not JSON.
    #[error("the arguments of `{tool}` are not valid JSON ({message}); send one JSON object")]
    ArgumentsNotJson {
        /// The tool.
        tool: String,
        /// What the JSON parser said.
        message: String,
    },
    /// The arguments are JSON but do not fit the tool's schema.
    #[error(
        "the arguments of `{tool}` do not match its schema at `{path}`: {message}; call it again with arguments valid for the schema"
    )]
    InvalidArguments {
        /// The tool.
        tool: String,
        /// Where in the arguments (`.` for the whole).
        path: String,
        /// What is wrong there.
        message: String,
    },
    /// The tool ran and failed.
    #[error("`{tool}` failed: {message}")]
    Failed {
        /// The tool.
        tool: String,
        /// The tool's error message.
        message: String,
    },
    /// The tool panicked.
    #[error("`{tool}` crashed")]
    Panicked {
        /// The tool.
        tool: String,
    },
    /// The tool did not finish within its timeout.
    #[error("`{tool}` did not finish within {timeout:?}")]
    TimedOut {
        /// The tool.
        tool: String,
        /// The timeout it had.
        timeout: Duration,
    },
    /// The tool's output could not be serialized.
    #[error("the output of `{tool}` could not be serialized: {message}")]
    Output {
        /// The tool.
        tool: String,
        /// What serde said.
        message: String,
    },
}

impl ToolError {
    /// A short name of the class, for metric labels: `unknown_tool`,
    /// `arguments_not_json`, `invalid_arguments`, `failed`, `panicked`, `timed_out`,
    /// `output`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use typedflow_providers::ToolError;
    ///
    /// let err = ToolError::TimedOut { tool: "search".into(), timeout: Duration::from_secs(5) };
    /// assert_eq!(err.as_str(), "timed_out");
    /// assert_eq!(err.to_string(), "`search` did not finish within 5s");
    /// ```
    pub fn as_str(&self) -> &'static str {
        match self {
            ToolError::UnknownTool { .. } => "unknown_tool",
            ToolError::ArgumentsNotJson { .. } => "arguments_not_json",
            ToolError::InvalidArguments { .. } => "invalid_arguments",
            ToolError::Failed { .. } => "failed",
            ToolError::Panicked { .. } => "panicked",
            ToolError::TimedOut { .. } => "timed_out",
            ToolError::Output { .. } => "output",
        }
    }

    /// Whether the model got the call wrong (unknown tool, bad arguments), as opposed to
    /// the tool failing.
    pub fn is_model_mistake(&self) -> bool {
        matches!(
            self,
            ToolError::UnknownTool { .. }
                | ToolError::ArgumentsNotJson { .. }
                | ToolError::InvalidArguments { .. }
        )
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A [`Tool`] with its types erased: JSON text in, text out.
trait DynTool: Send + Sync {
    fn call_json<'a>(
        &'a self,
        name: &'a str,
        arguments: &'a str,
    ) -> BoxFuture<'a, Result<String, ToolError>>;
}

impl<T: Tool> DynTool for T {
    fn call_json<'a>(
        &'a self,
        name: &'a str,
        arguments: &'a str,
    ) -> BoxFuture<'a, Result<String, ToolError>> {
        Box::pin(async move {
            let args = parse_args::<T::Args>(name, arguments)?;
            let output = self.call(args).await.map_err(|e| ToolError::Failed {
                tool: name.to_owned(),
                message: e.to_string(),
            })?;
            output_text(name, &output)
        })
    }
}

/// Reads the arguments into `A`: JSON first, then an object (both APIs take object
/// schemas only, and serde would read an array into a struct by position), then the
/// type, naming the path that failed.
fn parse_args<A: DeserializeOwned>(tool: &str, arguments: &str) -> Result<A, ToolError> {
    let value: serde_json::Value =
        serde_json::from_str(arguments).map_err(|e| ToolError::ArgumentsNotJson {
            tool: tool.to_owned(),
            message: e.to_string(),
        })?;
    let found = match &value {
        serde_json::Value::Object(_) => None,
        serde_json::Value::Null => Some("null"),
        serde_json::Value::Bool(_) => Some("a boolean"),
        serde_json::Value::Number(_) => Some("a number"),
        serde_json::Value::String(_) => Some("a string"),
        serde_json::Value::Array(_) => Some("an array"),
    };
    if let Some(found) = found {
        return Err(ToolError::InvalidArguments {
            tool: tool.to_owned(),
            path: ".".to_owned(),
            message: format!("expected a JSON object, found {found}"),
        });
    }
    serde_path_to_error::deserialize(value).map_err(|err| ToolError::InvalidArguments {
        tool: tool.to_owned(),
        path: err.path().to_string(),
        message: err.into_inner().to_string(),
    })
}

/// The output as the model reads it: a string as itself, anything else as JSON (in the
/// type's field order, so not through a `Value`).
fn output_text(tool: &str, output: &impl Serialize) -> Result<String, ToolError> {
    let failed = |e: serde_json::Error| ToolError::Output {
        tool: tool.to_owned(),
        message: e.to_string(),
    };
    let json = serde_json::to_string(output).map_err(failed)?;
    if json.starts_with('"') {
        return serde_json::from_str::<String>(&json).map_err(failed);
    }
    Ok(json)
}

struct Entry {
    definition: ToolDefinition,
    timeout: Duration,
    tool: Arc<dyn DynTool>,
}

/// Tools by name, and the dispatch of a model's calls to them.
///
/// Offer [`definitions`](Self::definitions) with the request, then run the reply's
/// calls with [`call_all`](Self::call_all) and send the results back:
///
/// ```
/// use serde_json::json;
/// use typedflow_providers::{
///     ChatModel, ChatRequest, ScriptedModel, ScriptedReply, Tool, ToolCall, Toolbox,
/// };
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Weather {
///     city: String,
/// }
///
/// struct GetWeather;
///
/// impl Tool for GetWeather {
///     type Args = Weather;
///     type Output = serde_json::Value;
///     type Error = String;
///     fn name(&self) -> &str {
///         "get_weather"
///     }
///     fn description(&self) -> &str {
///         "the weather in a city, now"
///     }
///     async fn call(&self, args: Weather) -> Result<serde_json::Value, String> {
///         match args.city.as_str() {
///             "Paris" => Ok(json!({"celsius": 21})),
///             other => Err(format!("no station in {other}")),
///         }
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let tools = Toolbox::new().with_tool(GetWeather)?;
/// let model = ScriptedModel::new([
///     ScriptedReply::tool_calls([
///         ToolCall::new("call_1", "get_weather", json!({"city": "Paris"})),
///         ToolCall::new("call_2", "get_weather", json!({"town": "Lyon"})),
///     ]),
///     ScriptedReply::text("21 °C in Paris"),
/// ]);
///
/// let mut request = ChatRequest::new().user("weather?").tools(tools.definitions());
/// loop {
///     let reply = model.chat(&request).await?;
///     if reply.tool_calls.is_empty() {
///         assert_eq!(reply.text, "21 °C in Paris");
///         break;
///     }
///     let results = tools.call_all(&reply.tool_calls).await;
///     assert_eq!(results[0].content, r#"{"celsius":21}"#);
///     assert!(results[1].is_error);
///     assert!(results[1].content.contains("missing field `city`"), "{}", results[1].content);
///     request = request.message(reply.to_message());
///     for result in results {
///         request = request.tool_result(result);
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Default)]
pub struct Toolbox {
    tools: Vec<Entry>,
    timeout: Option<Duration>,
    concurrency: Option<NonZeroUsize>,
}

impl fmt::Debug for Toolbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Toolbox")
            .field(
                "tools",
                &self
                    .tools
                    .iter()
                    .map(|t| &t.definition.name)
                    .collect::<Vec<_>>(),
            )
            .field("timeout", &self.timeout())
            .field("concurrency", &self.concurrency)
            .finish()
    }
}

impl Toolbox {
    /// The timeout of a tool added without one of its own, unless
    /// [`with_timeout`](Self::with_timeout) says otherwise.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

    /// An empty toolbox.
    pub fn new() -> Self {
        Toolbox::default()
    }

    /// Sets the timeout of the tools added after this without one of their own.
    ///
    /// # Default
    ///
    /// [`Toolbox::DEFAULT_TIMEOUT`], 60 seconds.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidTimeout`] for zero or more than 365 days.
    pub fn with_timeout(mut self, timeout: Duration) -> Result<Self, ConfigError> {
        self.timeout = Some(check_timeout(timeout)?);
        Ok(self)
    }

    /// Runs at most `limit` calls at once in [`call_all`](Self::call_all).
    ///
    /// # Default
    ///
    /// No limit: all the calls of a turn run at once.
    #[must_use]
    pub fn with_concurrency(mut self, limit: NonZeroUsize) -> Self {
        self.concurrency = Some(limit);
        self
    }

    fn timeout(&self) -> Duration {
        self.timeout.unwrap_or(Self::DEFAULT_TIMEOUT)
    }

    /// Adds a tool, with the toolbox's timeout.
    ///
    /// # Errors
    ///
    /// [`ConfigError::DuplicateTool`] when a tool of that name is already in;
    /// [`ConfigError::InvalidToolName`] for a name the APIs refuse.
    pub fn with_tool(self, tool: impl Tool) -> Result<Self, ConfigError> {
        let timeout = self.timeout();
        self.with_tool_timeout(tool, timeout)
    }

    /// Adds a tool that may run for at most `timeout` (on tokio's clock).
    ///
    /// # Errors
    ///
    /// [`ConfigError::DuplicateTool`] when a tool of that name is already in;
    /// [`ConfigError::InvalidToolName`] for a name the APIs refuse;
    /// [`ConfigError::InvalidTimeout`] for zero or more than 365 days.
    pub fn with_tool_timeout<T: Tool>(
        mut self,
        tool: T,
        timeout: Duration,
    ) -> Result<Self, ConfigError> {
        let timeout = check_timeout(timeout)?;
        let definition =
            ToolDefinition::new(tool.name(), tool.description(), schema_of::<T::Args>());
        let valid = (1..=64).contains(&definition.name.len())
            && definition
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid {
            return Err(ConfigError::InvalidToolName {
                name: definition.name,
            });
        }
        if self.entry(&definition.name).is_some() {
            return Err(ConfigError::DuplicateTool {
                name: definition.name,
            });
        }
        self.tools.push(Entry {
            definition,
            timeout,
            tool: Arc::new(tool),
        });
        Ok(self)
    }

    fn entry(&self, name: &str) -> Option<&Entry> {
        self.tools.iter().find(|t| t.definition.name == name)
    }

    /// The tools' definitions, in the order they were added, to offer with a request.
    pub fn definitions(&self) -> Vec<ToolDefinition> {
        self.tools.iter().map(|t| t.definition.clone()).collect()
    }

    /// Runs one call and returns its output text.
    ///
    /// Each call runs in a `tool.call` span (fields `tool`, then `outcome` and
    /// `duration_ms`) and counts in the metrics `flow_tool_calls_total{tool,outcome}` and
    /// `flow_tool_duration_seconds{tool}` (see [the table](crate#metrics-and-tracing)).
    ///
    /// # Errors
    ///
    /// A [`ToolError`] saying what went wrong: the model's mistake (unknown tool,
    /// arguments not JSON or not fitting the schema) or the tool's (its error, a panic,
    /// its timeout).
    pub async fn dispatch(&self, call: &ToolCall) -> Result<String, ToolError> {
        // The label is the toolbox's own name for the tool, never the model's text: a
        // name the model made up would be a label value chosen from outside.
        let tool = self
            .entry(&call.name)
            .map_or(UNKNOWN_TOOL_LABEL, |e| e.definition.name.as_str());
        let span = tracing::info_span!(
            "tool.call",
            tool,
            outcome = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        // Records the call when it ends, and also when it is dropped before it ends (the
        // run's timeout or cancellation), then as `cancelled`.
        let mut end = CallEnd {
            tool,
            span: span.clone(),
            started: tokio::time::Instant::now(),
            outcome: None,
        };
        let result = self.run(call).instrument(span).await;
        end.outcome = Some(result.as_ref().map_or_else(ToolError::as_str, |_| "ok"));
        if let Err(err) = &result {
            tracing::warn!(parent: &end.span, outcome = err.as_str(), error = %err, "tool call failed");
        }
        drop(end);
        result
    }

    /// [`dispatch`](Self::dispatch) without its span and metrics.
    async fn run(&self, call: &ToolCall) -> Result<String, ToolError> {
        let Some(entry) = self.entry(&call.name) else {
            return Err(ToolError::UnknownTool {
                name: call.name.clone(),
                known: self
                    .tools
                    .iter()
                    .map(|t| t.definition.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        let name = entry.definition.name.as_str();
        // A panicking tool is its own failure, not the run's: the model hears of it.
        let run = AssertUnwindSafe(entry.tool.call_json(name, &call.arguments)).catch_unwind();
        match tokio::time::timeout(entry.timeout, run).await {
            Ok(Ok(result)) => result,
            Ok(Err(_panic)) => Err(ToolError::Panicked {
                tool: name.to_owned(),
            }),
            Err(_elapsed) => Err(ToolError::TimedOut {
                tool: name.to_owned(),
                timeout: entry.timeout,
            }),
        }
    }

    /// Runs one call; a failure becomes an error result whose content (`error: ...`)
    /// tells the model what went wrong.
    pub async fn call(&self, call: &ToolCall) -> ToolResult {
        match self.dispatch(call).await {
            Ok(output) => ToolResult::ok(&call.id, output),
            Err(err) => ToolResult::error(&call.id, format!("error: {err}")),
        }
    }

    /// Runs the calls concurrently (at most [`with_concurrency`](Self::with_concurrency)
    /// at once) and returns their results in the calls' order.
    pub async fn call_all(&self, calls: &[ToolCall]) -> Vec<ToolResult> {
        self.buffered(calls.iter().map(|call| self.call(call)).collect())
            .await
    }

    /// As [`call_all`](Self::call_all), inside a node: each call and its result also go
    /// to whoever streams the run, as [`Event::ToolCall`](typedflow::events::Event::ToolCall)
    /// and [`Event::ToolResult`](typedflow::events::Event::ToolResult) of the node.
    ///
    /// ```
    /// use serde_json::json;
    /// use typedflow::prelude::*;
    /// use typedflow_providers::{Tool, ToolCall, ToolResult, Toolbox};
    ///
    /// #[node]
    /// async fn run_tools(calls: Vec<ToolCall>, tools: &Toolbox, cx: &Context) -> Vec<ToolResult> {
    ///     tools.call_all_in(&calls, cx).await
    /// }
    /// ```
    pub async fn call_all_in(
        &self,
        calls: &[ToolCall],
        cx: &typedflow::Context,
    ) -> Vec<ToolResult> {
        let reported = calls.iter().map(|call| self.call_reported(call, cx));
        self.buffered(reported.collect()).await
    }

    /// [`call`](Self::call), with the call and its result in the run's event stream.
    async fn call_reported(&self, call: &ToolCall, cx: &typedflow::Context) -> ToolResult {
        cx.emit_tool_call(&call.id, &call.name, &call.arguments)
            .await;
        let started = tokio::time::Instant::now();
        let result = self.call(call).await;
        let duration = started.elapsed();
        cx.emit_tool_result(
            &call.id,
            &call.name,
            &result.content,
            result.is_error,
            duration,
        )
        .await;
        result
    }

    /// Runs `calls` at most [`with_concurrency`](Self::with_concurrency) at once, and
    /// returns their results in order.
    ///
    /// The calls come built, in a `Vec`: a lazy `map` over the calls, held across the
    /// awaits, made rustc unable to prove the node's future `Send` ("implementation of
    /// `FnOnce` is not general enough", a known limit of its check of closures that take
    /// references), and flows are `Send` by default.
    async fn buffered<F: Future<Output = ToolResult>>(&self, calls: Vec<F>) -> Vec<ToolResult> {
        let count = calls.len();
        let limit = self.concurrency.map_or(count, NonZeroUsize::get);
        futures::stream::iter(calls)
            .buffered(limit.max(1))
            .collect()
            .await
    }
}

fn check_timeout(timeout: Duration) -> Result<Duration, ConfigError> {
    if timeout.is_zero() || timeout > MAX_TIMEOUT {
        return Err(ConfigError::InvalidTimeout {
            setting: "tool timeout",
            value: timeout,
        });
    }
    Ok(timeout)
}
