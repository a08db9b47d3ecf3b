//! The one trait every chat client implements.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::ProviderError;
use crate::stream::ChatStream;
use crate::types::{ChatRequest, ChatResponse};

/// A chat model: send a conversation, get a reply, whole or streamed.
///
/// The trait is object-safe, so a flow can hold any model as `Arc<dyn ChatModel>`.
/// Structured output is a generic method and lives on [`ChatModelExt`](crate::ChatModelExt),
/// implemented for every `ChatModel`.
///
/// # Writing your own
///
/// Implement [`chat`](Self::chat) and [`chat_stream`](Self::chat_stream) (or use
/// [`ChatStream::new`] over a single reply when the backend cannot stream), and honour
/// [`ChatRequest::response_format`] if the backend can constrain its output.
///
/// ```
/// use async_trait::async_trait;
/// use typedflow_providers::{
///     ChatModel, ChatRequest, ChatResponse, ChatStream, FinishReason, ProviderError, StreamEvent,
/// };
///
/// /// Answers every question by repeating the last message.
/// #[derive(Debug)]
/// struct Echo;
///
/// #[async_trait]
/// impl ChatModel for Echo {
///     fn provider(&self) -> &'static str {
///         "echo"
///     }
///     fn model(&self) -> &str {
///         "echo-1"
///     }
///     async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ProviderError> {
///         let last = request.messages.last().map(|m| m.content.clone()).unwrap_or_default();
///         Ok(ChatResponse::new(last, FinishReason::Stop))
///     }
///     async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream, ProviderError> {
///         let reply = self.chat(request).await?;
///         let events = [
///             Ok(StreamEvent::Delta(reply.text)),
///             Ok(StreamEvent::finish(reply.finish_reason, reply.usage)),
///         ];
///         Ok(ChatStream::new("echo", futures::stream::iter(events)))
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let model: std::sync::Arc<dyn ChatModel> = std::sync::Arc::new(Echo);
/// let reply = model.chat(&ChatRequest::new().user("ping")).await.unwrap();
/// assert_eq!(reply.text, "ping");
/// # });
/// ```
#[async_trait]
pub trait ChatModel: Send + Sync {
    /// The provider's name, used as the `provider` label of metrics and spans.
    fn provider(&self) -> &'static str;

    /// The model requests go to unless [`ChatRequest::model`] overrides it.
    fn model(&self) -> &str;

    /// Sends the conversation and waits for the whole reply.
    ///
    /// # Errors
    ///
    /// A classified [`ProviderError`]; see its table for which classes are worth a retry.
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ProviderError>;

    /// Sends the conversation and returns the reply as a stream of text deltas that ends
    /// with the finish reason and usage.
    ///
    /// # Errors
    ///
    /// Errors before the first byte of the reply (refused key, rate limit, ...) are
    /// returned here; errors during the reply come out of the stream.
    async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream, ProviderError>;
}

macro_rules! forward_chat_model {
    ($($ty:ty),*) => {$(
        #[async_trait]
        impl<M: ChatModel + ?Sized> ChatModel for $ty {
            fn provider(&self) -> &'static str {
                (**self).provider()
            }
            fn model(&self) -> &str {
                (**self).model()
            }
            async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ProviderError> {
                (**self).chat(request).await
            }
            async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream, ProviderError> {
                (**self).chat_stream(request).await
            }
        }
    )*};
}

forward_chat_model!(Arc<M>, Box<M>, &M);
