//! The agent loop (the model calls tools, the tools run, the model reads their results,
//! until it answers) as an ordinary checked graph: two nodes and a route.
//!
//! - [`Conversation`]: the request so far (system prompt, messages, offered tools,
//!   settings); the input of the model node.
//! - [`Conversation::ask`] (or [`ask_streamed`](Conversation::ask_streamed)) calls the
//!   model and returns a [`Reply`]: [`Reply::Tools`] when it called tools,
//!   [`Reply::Final`] when it answered. `graph!` routes on it.
//! - [`ToolTurn::run`] runs the calls through a [`Toolbox`] (concurrently, at most its
//!   [`with_concurrency`](Toolbox::with_concurrency) at once; every failure becomes an
//!   error result the model reads), reports them in the run's event stream, and returns
//!   the conversation with the results, for the model node again.
//!
//! The flow's step limit bounds the loop: a model that keeps calling tools ends the run
//! with [`FlowError::StepLimit`](typedflow::FlowError::StepLimit) rather than looping on.
//!
//! ```
//! use std::sync::Arc;
//!
//! use serde_json::json;
//! use typedflow::prelude::*;
//! use typedflow_providers::agent::{Answer, Conversation, Reply, ToolTurn};
//! use typedflow_providers::{
//!     ChatModel, ChatRequest, ProviderError, ScriptedModel, ScriptedReply, ToolCall, Toolbox, tool,
//! };
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct City {
//!     city: String,
//! }
//!
//! /// The temperature in a city, in °C.
//! #[tool]
//! async fn temperature(args: City) -> Result<i32, String> {
//!     match args.city.as_str() {
//!         "Paris" => Ok(21),
//!         other => Err(format!("no station in {other}")),
//!     }
//! }
//!
//! #[derive(Deps)]
//! struct AgentDeps {
//!     llm: Arc<dyn ChatModel>,
//!     tools: Toolbox,
//! }
//!
//! #[node]
//! async fn model(chat: Conversation, llm: &Arc<dyn ChatModel>) -> Result<Reply, ProviderError> {
//!     chat.ask(llm.as_ref()).await
//! }
//!
//! #[node]
//! async fn tools(turn: ToolTurn, tools: &Toolbox, cx: &Context) -> Conversation {
//!     turn.run(tools, cx).await
//! }
//!
//! #[flow(deps = AgentDeps, max_steps = 9)]
//! graph! {
//!     Agent(Conversation) -> Answer {
//!         START -> model;
//!         model => {
//!             Reply::Tools -> tools,
//!             Reply::Final -> END,
//!         }
//!         tools -> model;
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! let llm = Arc::new(ScriptedModel::new([
//!     ScriptedReply::tool_calls([ToolCall::new("call_1", "temperature", json!({"city": "Paris"}))]),
//!     ScriptedReply::text("21 °C in Paris."),
//! ]));
//! let tools = Toolbox::new().with_tool(Temperature)?;
//! let question = ChatRequest::new().user("How warm is Paris?").tools(tools.definitions());
//! let agent = Agent::new(AgentDeps { llm: llm.clone(), tools });
//!
//! let answer = agent.run(Conversation::new(question)).await?;
//! assert_eq!(answer.text, "21 °C in Paris.");
//! assert_eq!(answer.conversation.turns(), 2);
//! // The model's second request carried the tool's result.
//! assert_eq!(llm.requests()[1].messages.last().unwrap().content, "21");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })
//! # }
//! ```

use crate::error::ProviderError;
use crate::model::ChatModel;
use crate::toolbox::Toolbox;
use crate::tools::ToolCall;
use crate::types::{ChatRequest, ChatResponse, FinishReason, Message, Usage};

/// An agent's conversation so far: the request the model is sent next, and how many
/// replies it has given.
///
/// Offer the tools on the request ([`ChatRequest::tools`] with
/// [`Toolbox::definitions`]); they stay offered on every turn.
///
/// It is serializable, as are [`Reply`], [`ToolTurn`] and [`Answer`], so an agent's flow
/// can be `#[flow(durable)]`: each turn is a checkpoint, and a run resumed after a crash
/// does not ask the model again for the turns it already answered.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Conversation {
    request: ChatRequest,
    turns: u32,
}

impl Conversation {
    /// A conversation starting with `request`.
    pub fn new(request: ChatRequest) -> Self {
        Conversation { request, turns: 0 }
    }

    /// The request the model is sent next.
    pub fn request(&self) -> &ChatRequest {
        &self.request
    }

    /// The request, to change before the next turn (a note for the model, other tools).
    pub fn request_mut(&mut self) -> &mut ChatRequest {
        &mut self.request
    }

    /// The request, when the conversation is over.
    pub fn into_request(self) -> ChatRequest {
        self.request
    }

    /// How many replies the model has given.
    pub fn turns(&self) -> u32 {
        self.turns
    }

    /// Sends the conversation to `model` and returns its reply: the tools it called, or
    /// its answer. Either way the reply is appended to the conversation.
    ///
    /// # Errors
    ///
    /// The model's [`ProviderError`], classified, so `#[node(retry(..))]` retries what
    /// is worth retrying (the conversation is unchanged by a failed call).
    pub async fn ask(self, model: &dyn ChatModel) -> Result<Reply, ProviderError> {
        let response = model.chat(&self.request).await?;
        Ok(self.reply(response))
    }

    /// As [`ask`](Self::ask), with the answer streamed: each piece of its text goes to
    /// whoever streams the run ([`Context::emit_token`](typedflow::Context::emit_token)).
    ///
    /// # Errors
    ///
    /// As [`ask`](Self::ask); a stream cut in the middle (of text or of a tool call) is
    /// [`ProviderError::StreamCut`] or a bad response, never a short answer.
    pub async fn ask_streamed(
        self,
        model: &dyn ChatModel,
        cx: &typedflow::Context,
    ) -> Result<Reply, ProviderError> {
        let response = model
            .chat_stream(&self.request)
            .await?
            .emit_tokens(cx)
            .await?;
        Ok(self.reply(response))
    }

    /// Appends `response` as the model's turn and says what comes next.
    fn reply(mut self, response: ChatResponse) -> Reply {
        self.turns = self.turns.saturating_add(1);
        let message = response.to_message();
        self.request.messages.push(message);
        if response.tool_calls.is_empty() {
            Reply::Final(Answer {
                text: response.text,
                finish_reason: response.finish_reason,
                usage: response.usage,
                conversation: self,
            })
        } else {
            Reply::Tools(ToolTurn {
                calls: response.tool_calls,
                conversation: self,
            })
        }
    }
}

/// What the model did with its turn; route on it in `graph!`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Reply {
    /// It called tools: run them ([`ToolTurn::run`]) and ask again.
    Tools(ToolTurn),
    /// It answered.
    Final(Answer),
}

/// The tools the model called, with the conversation that ends with its call.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ToolTurn {
    /// The calls, in the model's order.
    pub calls: Vec<ToolCall>,
    /// The conversation, ending with the model's turn that made the calls.
    pub conversation: Conversation,
}

impl ToolTurn {
    /// Runs the calls through `tools` (concurrently, at most the toolbox's
    /// [`with_concurrency`](Toolbox::with_concurrency) at once), reports each call and
    /// result in the run's event stream ([`Toolbox::call_all_in`]), and returns the
    /// conversation with the results appended in the calls' order.
    ///
    /// Every failure (an unknown tool, arguments that do not fit, the tool's error or
    /// timeout) is an error result the model reads on its next turn, so this cannot fail.
    pub async fn run(self, tools: &Toolbox, cx: &typedflow::Context) -> Conversation {
        let results = tools.call_all_in(&self.calls, cx).await;
        let mut conversation = self.conversation;
        conversation
            .request
            .messages
            .extend(results.into_iter().map(Message::tool_result));
        conversation
    }
}

/// The model's answer, ending the loop.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Answer {
    /// The text of the answer.
    pub text: String,
    /// Why the model stopped ([`FinishReason::Length`] means the answer is cut off).
    pub finish_reason: FinishReason,
    /// The tokens the last request used, when the server said.
    pub usage: Option<Usage>,
    /// The whole conversation, the answer included.
    pub conversation: Conversation,
}
