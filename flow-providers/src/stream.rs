//! Streaming replies: a [`Stream`] of text deltas that always ends with the finish
//! reason and usage, or with an error.

use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures::Stream;
use futures::stream::StreamExt as _;

use crate::error::ProviderError;
use crate::tools::ToolCall;
use crate::types::{ChatResponse, FinishReason, Usage};

/// One item of a streamed reply.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StreamEvent {
    /// The next piece of text.
    Delta(String),
    /// A tool call, complete: clients assemble it from the stream's fragments and yield
    /// it once its arguments are whole, so it never carries half an argument.
    ToolCall(ToolCall),
    /// The reply is complete: why it stopped and what it used. Always the last item.
    Finish {
        /// Why the model stopped.
        reason: FinishReason,
        /// Token usage, when the server reported it.
        usage: Option<Usage>,
        /// The model that answered, as the server named it.
        model: Option<String>,
    },
}

impl StreamEvent {
    /// A finish event with the given reason and usage and no model name.
    pub fn finish(reason: FinishReason, usage: Option<Usage>) -> Self {
        StreamEvent::Finish {
            reason,
            usage,
            model: None,
        }
    }
}

type BoxEventStream = Pin<Box<dyn Stream<Item = Result<StreamEvent, ProviderError>> + Send>>;

/// A streamed reply from [`ChatModel::chat_stream`](crate::ChatModel::chat_stream).
///
/// It yields [`StreamEvent::Delta`]s (and [`StreamEvent::ToolCall`]s when the model calls
/// tools) and then exactly one [`StreamEvent::Finish`], or an error. A source that ends without its finish event yields
/// [`ProviderError::StreamCut`]: a cut stream is never a silently short answer. Nothing
/// is yielded after the finish event or after an error.
///
/// To show tokens as they come (e.g. to forward them into a run's event stream) use
/// [`for_each_delta`](Self::for_each_delta), which also returns the whole reply:
///
/// ```
/// use typedflow_providers::{ChatModel, ChatRequest, ScriptedModel, ScriptedReply};
///
/// # tokio_test_block_on(async {
/// let model = ScriptedModel::new([ScriptedReply::chunks(["Hel", "lo"])]);
/// let stream = model.chat_stream(&ChatRequest::new().user("hi")).await?;
/// let mut shown = String::new();
/// let reply = stream.for_each_delta(|delta| shown.push_str(delta)).await?;
/// assert_eq!(shown, "Hello");
/// assert_eq!(reply.text, "Hello");
/// # Ok::<(), typedflow_providers::ProviderError>(())
/// # }).unwrap();
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
/// # }
/// ```
pub struct ChatStream {
    inner: BoxEventStream,
    provider: &'static str,
    events: usize,
    done: bool,
}

impl fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatStream")
            .field("provider", &self.provider)
            .field("events", &self.events)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl ChatStream {
    /// Wraps a source of events, enforcing the contract above: `provider` names the
    /// source in the [`ProviderError::StreamCut`] raised if it ends without a finish.
    ///
    /// ```
    /// use futures::StreamExt as _;
    /// use typedflow_providers::{ChatStream, ErrorKind, StreamEvent};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// // A source that stops after one delta, without a finish event.
    /// let source = futures::stream::iter([Ok(StreamEvent::Delta("half an ans".into()))]);
    /// let mut stream = ChatStream::new("mine", source);
    /// assert!(matches!(stream.next().await, Some(Ok(StreamEvent::Delta(_)))));
    /// let err = stream.next().await.unwrap().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::StreamCut);
    /// assert!(stream.next().await.is_none());
    /// # });
    /// ```
    pub fn new(
        provider: &'static str,
        source: impl Stream<Item = Result<StreamEvent, ProviderError>> + Send + 'static,
    ) -> Self {
        ChatStream {
            inner: Box::pin(source),
            provider,
            events: 0,
            done: false,
        }
    }

    /// Reads the whole stream, calling `on_delta` with each piece of text as it
    /// arrives, and returns the complete reply, tool calls included.
    ///
    /// # Errors
    ///
    /// The first error of the stream, including [`ProviderError::StreamCut`].
    pub async fn for_each_delta(
        mut self,
        mut on_delta: impl FnMut(&str),
    ) -> Result<ChatResponse, ProviderError> {
        let mut reply = ChatResponse::new(String::new(), FinishReason::Stop);
        while let Some(delta) = self.next_delta(&mut reply).await? {
            on_delta(&delta);
        }
        Ok(reply)
    }

    /// Reads the whole stream inside a node, handing each piece of text to whoever
    /// streams the run ([`Context::emit_token`](typedflow::Context::emit_token), so
    /// a slow consumer slows the reading down), and returns the complete reply.
    ///
    /// ```
    /// use typedflow_providers::{ChatModel, ChatRequest, ProviderError, ScriptedModel};
    /// use typedflow::prelude::*;
    ///
    /// #[derive(Deps)]
    /// struct Llm {
    ///     model: ScriptedModel,
    /// }
    ///
    /// #[node]
    /// async fn answer(question: String, model: &ScriptedModel, cx: &Context) -> Result<String, ProviderError> {
    ///     let request = ChatRequest::new().user(question);
    ///     let reply = model.chat_stream(&request).await?.emit_tokens(cx).await?;
    ///     Ok(reply.text)
    /// }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`for_each_delta`](Self::for_each_delta).
    pub async fn emit_tokens(
        mut self,
        cx: &typedflow::Context,
    ) -> Result<ChatResponse, ProviderError> {
        let mut reply = ChatResponse::new(String::new(), FinishReason::Stop);
        while let Some(delta) = self.next_delta(&mut reply).await? {
            cx.emit_token(&delta).await;
        }
        Ok(reply)
    }

    /// The next piece of text, added to `reply` (tool calls on the way are added too);
    /// `None` once the finish event has completed `reply`.
    async fn next_delta(
        &mut self,
        reply: &mut ChatResponse,
    ) -> Result<Option<String>, ProviderError> {
        loop {
            return match self.next().await {
                Some(Ok(StreamEvent::Delta(delta))) => {
                    reply.text.push_str(&delta);
                    Ok(Some(delta))
                }
                Some(Ok(StreamEvent::ToolCall(call))) => {
                    reply.tool_calls.push(call);
                    continue;
                }
                Some(Ok(StreamEvent::Finish {
                    reason,
                    usage,
                    model,
                })) => {
                    reply.finish_reason = reason;
                    reply.usage = usage;
                    reply.model = model;
                    Ok(None)
                }
                Some(Err(err)) => Err(err),
                // `poll_next` yields an error or a finish before it ends, so this is
                // reached only if the caller polled the stream before handing it over.
                None => Err(ProviderError::stream_cut(self.provider, self.events)),
            };
        }
    }

    /// Reads the whole stream and returns the complete reply.
    ///
    /// # Errors
    ///
    /// As [`for_each_delta`](Self::for_each_delta).
    pub async fn collect_response(self) -> Result<ChatResponse, ProviderError> {
        self.for_each_delta(|_| {}).await
    }
}

impl Stream for ChatStream {
    type Item = Result<StreamEvent, ProviderError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // ChatStream is Unpin: its source is boxed.
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        match this.inner.poll_next_unpin(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(event))) => {
                this.events += 1;
                if matches!(event, StreamEvent::Finish { .. }) {
                    this.done = true;
                }
                Poll::Ready(Some(Ok(event)))
            }
            Poll::Ready(Some(Err(err))) => {
                this.done = true;
                Poll::Ready(Some(Err(err)))
            }
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(Some(Err(ProviderError::stream_cut(
                    this.provider,
                    this.events,
                ))))
            }
        }
    }
}
