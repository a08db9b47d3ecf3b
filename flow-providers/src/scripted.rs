//! A scripted model for tests and offline examples.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tracing::Instrument as _;

use crate::error::{ApiError, ProviderError};
use crate::model::ChatModel;
use crate::redact::Redactor;
use crate::stream::{ChatStream, StreamEvent};
use crate::telemetry::{Instrumented, RequestTelemetry};
use crate::tools::ToolCall;
use crate::types::{ChatRequest, ChatResponse, FinishReason, Usage};

const PROVIDER: &str = "scripted";

/// One scripted answer: text (in chunks when streamed), tool calls, or an error before
/// or during the reply.
///
/// ```
/// use std::time::Duration;
/// use typedflow_providers::{FinishReason, ProviderError, ScriptedReply, Usage};
///
/// let plain = ScriptedReply::text("hello");
/// let streamed = ScriptedReply::chunks(["hel", "lo"]).with_usage(Usage::new(5, 2));
/// let cut_off = ScriptedReply::length(["a long ans"]);
/// let refused = ScriptedReply::error(ProviderError::timeout("scripted"));
/// let broken = ScriptedReply::chunks(["hel"]).then_fail(ProviderError::stream_cut("scripted", 1));
/// let slow = ScriptedReply::text("zzz").with_delay(Duration::from_secs(5));
/// ```
///
/// A reply that calls tools, for testing an agent loop offline:
///
/// ```
/// use serde_json::json;
/// use typedflow_providers::{
///     ChatModel, ChatRequest, FinishReason, ScriptedModel, ScriptedReply, ToolCall, ToolResult,
/// };
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let model = ScriptedModel::new([
///     ScriptedReply::tool_calls([
///         ToolCall::new("call_1", "get_weather", json!({"city": "Paris"})),
///         ToolCall::new("call_2", "get_weather", json!({"city": "Lyon"})),
///     ]),
///     ScriptedReply::text("Paris 21 °C, Lyon 23 °C"),
/// ]);
/// let mut request = ChatRequest::new().user("weather in Paris and Lyon?");
/// let reply = model.chat(&request).await?;
/// assert_eq!(reply.finish_reason, FinishReason::ToolCalls);
/// assert_eq!(reply.tool_calls.len(), 2);
///
/// request = request
///     .message(reply.to_message())
///     .tool_result(ToolResult::ok("call_1", "21 °C"))
///     .tool_result(ToolResult::ok("call_2", "23 °C"));
/// let reply = model.chat(&request).await?;
/// assert_eq!(reply.text, "Paris 21 °C, Lyon 23 °C");
/// # Ok::<(), typedflow_providers::ProviderError>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
#[must_use]
pub struct ScriptedReply {
    chunks: Vec<String>,
    tool_calls: Vec<ToolCall>,
    finish: FinishReason,
    usage: Option<Usage>,
    error: Option<ProviderError>,
    delay: Duration,
}

impl ScriptedReply {
    /// A reply of `text`, streamed as one chunk.
    pub fn text(text: impl Into<String>) -> Self {
        ScriptedReply::chunks([text.into()])
    }

    /// A reply streamed in these chunks (joined for [`ChatModel::chat`]).
    pub fn chunks<S: Into<String>>(chunks: impl IntoIterator<Item = S>) -> Self {
        ScriptedReply {
            chunks: chunks.into_iter().map(Into::into).collect(),
            tool_calls: Vec::new(),
            finish: FinishReason::Stop,
            usage: None,
            error: None,
            delay: Duration::ZERO,
        }
    }

    /// A reply cut off by `max_tokens` ([`FinishReason::Length`]).
    pub fn length<S: Into<String>>(chunks: impl IntoIterator<Item = S>) -> Self {
        ScriptedReply::chunks(chunks).with_finish(FinishReason::Length)
    }

    /// A reply that calls these tools and has no text, with [`FinishReason::ToolCalls`].
    /// Streamed, each call comes whole as a [`StreamEvent::ToolCall`], before the finish.
    pub fn tool_calls(calls: impl IntoIterator<Item = ToolCall>) -> Self {
        ScriptedReply::chunks(Vec::<String>::new()).with_tool_calls(calls)
    }

    /// Adds tool calls after the text (a model may explain before it calls), and sets
    /// the finish reason to [`FinishReason::ToolCalls`].
    pub fn with_tool_calls(mut self, calls: impl IntoIterator<Item = ToolCall>) -> Self {
        self.tool_calls.extend(calls);
        self.finish = FinishReason::ToolCalls;
        self
    }

    /// A request that fails before any text, as an HTTP error answer does.
    pub fn error(error: ProviderError) -> Self {
        ScriptedReply {
            error: Some(error),
            ..ScriptedReply::chunks(Vec::<String>::new())
        }
    }

    /// Fails after the chunks: the stream yields them and then `error` (never the tool
    /// calls, as a stream cut inside a call yields none); `chat` returns `error`.
    pub fn then_fail(mut self, error: ProviderError) -> Self {
        self.error = Some(error);
        self
    }

    /// Sets the finish reason.
    ///
    /// # Default
    ///
    /// [`FinishReason::Stop`].
    pub fn with_finish(mut self, finish: FinishReason) -> Self {
        self.finish = finish;
        self
    }

    /// Sets the usage reported.
    ///
    /// # Default
    ///
    /// Whitespace-separated words of the request and of the reply, as a stand-in for
    /// tokens.
    pub fn with_usage(mut self, usage: Usage) -> Self {
        self.usage = Some(usage);
        self
    }

    /// Waits this long (on tokio's clock, so a paused test clock skips it) before
    /// answering.
    ///
    /// # Default
    ///
    /// No delay.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    fn usage_for(&self, request: &ChatRequest) -> Usage {
        self.usage.unwrap_or_else(|| {
            let words = |s: &str| s.split_whitespace().count() as u64;
            let prompt = request.system.as_deref().map_or(0, words)
                + request
                    .messages
                    .iter()
                    .map(|m| words(&m.content))
                    .sum::<u64>();
            let completion = self.chunks.iter().map(|c| words(c)).sum();
            Usage::new(prompt, completion)
        })
    }
}

type ReplyFn = dyn FnMut(&ChatRequest, usize) -> ScriptedReply + Send;

enum Script {
    Queue(VecDeque<ScriptedReply>),
    Fn(Box<ReplyFn>),
}

/// A [`ChatModel`] that answers from a script and records every request it got.
///
/// Replies come in order ([`new`](Self::new), [`push`](Self::push)) or from a closure
/// ([`from_fn`](Self::from_fn)). When the queue runs dry the model answers with a
/// [`ProviderError::BadRequest`] saying so. It reports metrics and spans like the
/// real clients, with `provider="scripted"`.
///
/// ```
/// use typedflow_providers::{ChatModel, ChatRequest, ScriptedModel, ScriptedReply};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let model = ScriptedModel::from_fn(|request, n| {
///     let last = &request.messages.last().unwrap().content;
///     ScriptedReply::text(format!("#{n}: {}", last.to_uppercase()))
/// });
/// let reply = model.chat(&ChatRequest::new().user("hi")).await.unwrap();
/// assert_eq!(reply.text, "#0: HI");
/// assert_eq!(model.requests().len(), 1);
/// # });
/// ```
pub struct ScriptedModel {
    model: String,
    script: Mutex<Script>,
    requests: Mutex<Vec<ChatRequest>>,
}

impl fmt::Debug for ScriptedModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptedModel")
            .field("model", &self.model)
            .field("requests", &self.calls())
            .finish_non_exhaustive()
    }
}

impl ScriptedModel {
    /// A model answering with `replies`, in order.
    pub fn new(replies: impl IntoIterator<Item = ScriptedReply>) -> Self {
        ScriptedModel::with_script(Script::Queue(replies.into_iter().collect()))
    }

    /// A model answering with whatever `reply` returns for each request and its index
    /// (counting from 0).
    pub fn from_fn(
        reply: impl FnMut(&ChatRequest, usize) -> ScriptedReply + Send + 'static,
    ) -> Self {
        ScriptedModel::with_script(Script::Fn(Box::new(reply)))
    }

    fn with_script(script: Script) -> Self {
        ScriptedModel {
            model: "scripted".to_owned(),
            script: Mutex::new(script),
            requests: Mutex::new(Vec::new()),
        }
    }

    /// Names the model (the `model` label of its metrics).
    ///
    /// # Default
    ///
    /// `scripted`.
    #[must_use]
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// Appends a reply to the queue (ignored by a model built with [`from_fn`](Self::from_fn)).
    pub fn push(&self, reply: ScriptedReply) {
        if let Script::Queue(queue) = &mut *lock(&self.script) {
            queue.push_back(reply);
        }
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<ChatRequest> {
        lock(&self.requests).clone()
    }

    /// How many requests were received.
    pub fn calls(&self) -> usize {
        lock(&self.requests).len()
    }

    /// How many queued replies are left.
    pub fn remaining(&self) -> usize {
        match &*lock(&self.script) {
            Script::Queue(queue) => queue.len(),
            Script::Fn(_) => 0,
        }
    }

    /// Records the request and takes its reply.
    fn next_reply(&self, request: &ChatRequest) -> ScriptedReply {
        let index = {
            let mut requests = lock(&self.requests);
            requests.push(request.clone());
            requests.len() - 1
        };
        let mut script = lock(&self.script);
        match &mut *script {
            Script::Queue(queue) => queue.pop_front().unwrap_or_else(|| {
                ScriptedReply::error(ProviderError::BadRequest {
                    api: Box::new(ApiError::new(
                        PROVIDER,
                        400,
                        format!(
                            "the script has no reply left for request #{index}; add more replies"
                        ),
                    )),
                })
            }),
            Script::Fn(reply) => reply(request, index),
        }
    }
}

/// Locks `mutex`, recovering from poisoning: the data (a queue, a log) stays
/// consistent even if a user's closure panicked while it was held.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[async_trait]
impl ChatModel for ScriptedModel {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn model(&self) -> &str {
        &self.model
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let model = request.model.as_deref().unwrap_or(&self.model);
        let mut telemetry = RequestTelemetry::start(PROVIDER, model, false, Redactor::none());
        let reply = self.next_reply(request);
        let usage = reply.usage_for(request);
        let result = async {
            if !reply.delay.is_zero() {
                tokio::time::sleep(reply.delay).await;
            }
            match reply.error {
                Some(error) => Err(error),
                None => Ok(ChatResponse {
                    text: reply.chunks.concat(),
                    finish_reason: reply.finish,
                    usage: Some(usage),
                    model: Some(model.to_owned()),
                    tool_calls: reply.tool_calls,
                }),
            }
        }
        .instrument(telemetry.span().clone())
        .await;
        telemetry.result(result, |_| Some(usage))
    }

    async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream, ProviderError> {
        let model = request.model.as_deref().unwrap_or(&self.model);
        let mut telemetry = RequestTelemetry::start(PROVIDER, model, true, Redactor::none());
        let reply = self.next_reply(request);
        let usage = reply.usage_for(request);
        if !reply.delay.is_zero() {
            tokio::time::sleep(reply.delay)
                .instrument(telemetry.span().clone())
                .await;
        }
        if reply.chunks.is_empty()
            && let Some(error) = reply.error
        {
            telemetry.err(&error);
            return Err(error);
        }
        let mut events: Vec<Result<StreamEvent, ProviderError>> = reply
            .chunks
            .into_iter()
            .map(|c| Ok(StreamEvent::Delta(c)))
            .collect();
        match reply.error {
            Some(error) => events.push(Err(error)),
            None => {
                events.extend(
                    reply
                        .tool_calls
                        .into_iter()
                        .map(|call| Ok(StreamEvent::ToolCall(call))),
                );
                events.push(Ok(StreamEvent::Finish {
                    reason: reply.finish,
                    usage: Some(usage),
                    model: Some(model.to_owned()),
                }));
            }
        }
        let events = futures::stream::iter(events);
        Ok(ChatStream::new(
            PROVIDER,
            Instrumented::new(events, telemetry),
        ))
    }
}
