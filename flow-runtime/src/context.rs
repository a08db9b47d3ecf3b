//! The run context a node can take as `&Context`.

use core::fmt;

/// Identifies one run of a flow.
///
/// Run ids are unique within a flow instance and random across instances: each
/// instance draws a random base when built and numbers its runs from there.
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
}
