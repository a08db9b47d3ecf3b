//! The run context a node can take as `&Context`.

use core::fmt;

/// Identifies one run of a flow.
///
/// Run ids are unique within the process, across every flow and flow instance, and
/// random across processes: the first run of a process draws a random base, and its runs
/// are numbered from there (in blocks per thread, so not in the order they started).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId(u64);

impl RunId {
    /// Wraps a raw id, e.g. one read back from a checkpoint store.
    pub const fn from_u64(raw: u64) -> Self {
        RunId(raw)
    }

    /// The raw id.
    pub const fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Debug for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RunId({:016x})", self.0)
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// A run id read back from its [`Display`](fmt::Display) form: up to 16 hexadecimal
/// digits, as stores, logs and command lines show it.
///
/// ```
/// use typedflow::RunId;
///
/// let id = RunId::from_u64(0x2a);
/// assert_eq!(id.to_string().parse::<RunId>(), Ok(id));
/// assert_eq!("2a".parse::<RunId>(), Ok(id));
/// assert!("run-7".parse::<RunId>().is_err());
/// ```
impl core::str::FromStr for RunId {
    type Err = ParseRunIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || s.len() > 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ParseRunIdError(()));
        }
        u64::from_str_radix(s, 16)
            .map(RunId)
            .map_err(|_| ParseRunIdError(()))
    }
}

/// The error of a string that is not a run id: see [`RunId`]'s `FromStr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseRunIdError(());

impl fmt::Display for ParseRunIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a run id is 1 to 16 hexadecimal digits")
    }
}

impl std::error::Error for ParseRunIdError {}

/// What a node knows about the run it is part of.
///
/// A node receives it by declaring a parameter of type `&Context`:
///
/// ```
/// use typedflow::prelude::*;
///
/// #[node]
/// async fn stamp(text: String, cx: &Context) -> String {
///     format!("{text} (run {}, step {})", cx.run_id(), cx.step())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Context {
    flow: &'static str,
    run_id: RunId,
    pub(crate) step: u32,
}

impl Context {
    /// A context for calling a node outside a flow, e.g. in a unit test.
    pub fn new(flow: &'static str, run_id: RunId) -> Self {
        Context {
            flow,
            run_id,
            step: 0,
        }
    }

    /// The name of the flow this run belongs to.
    pub fn flow(&self) -> &'static str {
        self.flow
    }

    /// This run's id.
    pub fn run_id(&self) -> RunId {
        self.run_id
    }

    /// The number of the step being run, counting from 1; 0 before the first step.
    pub fn step(&self) -> u32 {
        self.step
    }

    /// A key for the side effects of this step of this run: the run id and the step,
    /// `"{run_id}-{step}"`. A durable run resumed after a crash runs the step that had not
    /// been saved again, with the same key: give it to an API that deduplicates requests
    /// (an idempotency key header, a unique column) so the effect happens once.
    ///
    /// ```
    /// use typedflow::{Context, RunId};
    ///
    /// let cx = Context::new("Essay", RunId::from_u64(255));
    /// assert_eq!(cx.idempotency_key(), "00000000000000ff-0");
    /// ```
    pub fn idempotency_key(&self) -> String {
        format!("{}-{}", self.run_id, self.step)
    }

    /// Hands a token to whoever streams this run ([`Run::stream`](crate::Run::stream)),
    /// as an [`Event::Token`](crate::events::Event::Token) of the node calling it: the way
    /// a node passes on an LLM's answer while it arrives.
    ///
    /// Waits while the stream's buffer is full, so a slow consumer slows the node down.
    /// When nobody streams the run it returns at once and copies nothing. It must be
    /// awaited inside the node's own call: a task the node spawns is outside the run.
    ///
    /// ```
    /// use typedflow::prelude::*;
    ///
    /// #[node]
    /// async fn answer(question: String, cx: &Context) -> String {
    ///     let mut answer = String::new();
    ///     for word in ["It ", "depends."] {
    ///         cx.emit_token(word).await;
    ///         answer.push_str(word);
    ///     }
    ///     answer
    /// }
    /// ```
    pub async fn emit_token(&self, text: &str) {
        if let Some((sink, node, step)) = crate::scope::event_sink() {
            let text = text.to_owned();
            sink.send(crate::events::Event::Token { node, step, text })
                .await;
        }
    }

    /// Tells whoever streams this run that the node calls a tool, as an
    /// [`Event::ToolCall`](crate::events::Event::ToolCall): `id` is the call's id, `tool`
    /// the tool's name and `arguments` its JSON text, as the model wrote them.
    ///
    /// Like [`emit_token`](Self::emit_token): it waits while the stream's buffer is full,
    /// returns at once and copies nothing when nobody streams the run, and must be awaited
    /// inside the node's own call.
    ///
    /// ```
    /// use std::time::Duration;
    /// use typedflow::prelude::*;
    ///
    /// #[node]
    /// async fn lookup(city: String, cx: &Context) -> String {
    ///     let arguments = format!(r#"{{"city":"{city}"}}"#);
    ///     cx.emit_tool_call("call_1", "get_weather", &arguments).await;
    ///     let answer = format!("21 °C in {city}");
    ///     cx.emit_tool_result("call_1", "get_weather", &answer, false, Duration::from_millis(3))
    ///         .await;
    ///     answer
    /// }
    /// ```
    pub async fn emit_tool_call(&self, id: &str, tool: &str, arguments: &str) {
        if let Some((sink, node, step)) = crate::scope::event_sink() {
            sink.send(crate::events::Event::ToolCall {
                node,
                step,
                id: id.to_owned(),
                tool: tool.to_owned(),
                arguments: arguments.to_owned(),
            })
            .await;
        }
    }

    /// Tells whoever streams this run how a tool call ended, as an
    /// [`Event::ToolResult`](crate::events::Event::ToolResult): `content` is what goes back
    /// to the model (the output, or what went wrong when `is_error`), `duration` how long
    /// the call took. As [`emit_tool_call`](Self::emit_tool_call) otherwise.
    pub async fn emit_tool_result(
        &self,
        id: &str,
        tool: &str,
        content: &str,
        is_error: bool,
        duration: core::time::Duration,
    ) {
        if let Some((sink, node, step)) = crate::scope::event_sink() {
            sink.send(crate::events::Event::ToolResult {
                node,
                step,
                id: id.to_owned(),
                tool: tool.to_owned(),
                content: content.to_owned(),
                is_error,
                duration,
            })
            .await;
        }
    }
}
