//! A streamed answer: the body read through the SSE parser and a provider's [`Decoder`]
//! into [`StreamEvent`]s, until the reply is complete, an error, or the stream is dropped.

use std::collections::VecDeque;

use futures::Stream;

use super::answer::transport_error;
use super::sse::{SseEvent, SseParser};
use crate::error::ProviderError;
use crate::stream::StreamEvent;

/// The longest line accepted in an event stream.
const MAX_SSE_LINE: usize = 1024 * 1024;

/// Turns the events of a provider's stream into [`StreamEvent`]s.
pub(crate) trait Decoder: Send + 'static {
    /// Handles one server-sent event; returns `true` when the reply is complete.
    fn event(
        &mut self,
        event: SseEvent,
        out: &mut VecDeque<StreamEvent>,
    ) -> Result<bool, ProviderError>;

    /// Handles the end of the body; a decoder that saw enough to finish pushes the
    /// finish event, otherwise the caller reports the cut.
    fn eof(&mut self, out: &mut VecDeque<StreamEvent>) -> Result<(), ProviderError>;
}

/// Refuses tool-call arguments that would grow past `limit` bytes in all when `adding`
/// more: a stream's events are bounded one by one, and this bounds what a decoder keeps
/// of them.
pub(crate) fn check_buffered(
    provider: &'static str,
    path: impl Into<String>,
    buffered: usize,
    adding: usize,
    limit: usize,
) -> Result<(), ProviderError> {
    if buffered.saturating_add(adding) > limit {
        return Err(ProviderError::bad_response(
            provider,
            path,
            format!("the streamed tool-call arguments exceed the limit of {limit} bytes"),
        ));
    }
    Ok(())
}

struct StreamState<D> {
    response: Option<reqwest::Response>,
    parser: SseParser,
    decoder: D,
    events: VecDeque<SseEvent>,
    ready: VecDeque<StreamEvent>,
    provider: &'static str,
    done: bool,
}

/// Reads a streaming response through the SSE parser and `decoder`.
///
/// The connection is dropped as soon as the reply is complete, on the first error,
/// or when the stream is dropped.
pub(crate) fn event_stream<D: Decoder>(
    response: reqwest::Response,
    provider: &'static str,
    max_event: usize,
    decoder: D,
) -> impl Stream<Item = Result<StreamEvent, ProviderError>> + Send + Unpin {
    let state = StreamState {
        response: Some(response),
        parser: SseParser::new(MAX_SSE_LINE.min(max_event.max(1024)), max_event),
        decoder,
        events: VecDeque::new(),
        ready: VecDeque::new(),
        provider,
        done: false,
    };
    Box::pin(futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(event) = st.ready.pop_front() {
                return Some((Ok(event), st));
            }
            if st.done {
                return None;
            }
            if let Some(event) = st.events.pop_front() {
                match st.decoder.event(event, &mut st.ready) {
                    Ok(true) => {
                        st.done = true;
                        st.response = None;
                    }
                    Ok(false) => {}
                    Err(err) => {
                        st.fail();
                        return Some((Err(err), st));
                    }
                }
                continue;
            }
            let response = st.response.as_mut()?;
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if let Err(message) = st.parser.push(&chunk, &mut st.events) {
                        st.fail();
                        return Some((
                            Err(ProviderError::bad_response(
                                st.provider,
                                "(event stream)",
                                message,
                            )),
                            st,
                        ));
                    }
                }
                Ok(None) => {
                    st.response = None;
                    st.done = true;
                    if let Err(err) = st.decoder.eof(&mut st.ready) {
                        return Some((Err(err), st));
                    }
                }
                Err(err) => {
                    st.fail();
                    return Some((Err(transport_error(st.provider, err)), st));
                }
            }
        }
    }))
}

impl<D> StreamState<D> {
    /// Stops reading: drops the connection and anything queued.
    fn fail(&mut self) {
        self.done = true;
        self.response = None;
        self.ready.clear();
        self.events.clear();
    }
}
