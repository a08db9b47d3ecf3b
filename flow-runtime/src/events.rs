//! A live stream of typed events while a run goes on: [`Run::stream`](crate::Run::stream).
//!
//! The stream drives the run itself (nothing is spawned): polling it polls the run, which
//! hands events to a bounded buffer. When the buffer is full the run waits until the
//! consumer takes one (at the next node start or end, or the next
//! [`Context::emit_token`](crate::Context::emit_token)): a slow consumer slows the run down
//! instead of growing memory. The policies' events (retries, timeouts, breaker changes)
//! are reported from code that cannot wait and enter the buffer regardless; there are at
//! most a few per attempt. Dropping the stream drops the run, like dropping its future.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context as TaskContext, Poll};
use std::sync::Arc;
use std::time::Duration;

use futures_util::Stream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::Instant;

use crate::policy::BreakerState;
use crate::scope::{self, Scope};
use crate::{Context, ErrorKind, FlowError, GraphInfo, Node, NodeInfo, RunId, StepHook};

/// How many events a stream buffers before the run waits for its consumer.
pub const EVENT_BUFFER: usize = 64;

/// Something that happened during a run, in the order it happened.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// The run began.
    RunStarted {
        /// The flow's name.
        flow: &'static str,
        /// The run's id.
        run_id: RunId,
    },
    /// A node was called.
    NodeStarted {
        /// The node's name.
        node: &'static str,
        /// The step, counting from 1.
        step: u32,
    },
    /// A node returned.
    NodeFinished {
        /// The node's name.
        node: &'static str,
        /// The step.
        step: u32,
        /// `None` when the node returned its output, else what kind of failure ended it.
        error: Option<ErrorKind>,
        /// How long the call took, retries and their waits included.
        duration: Duration,
    },
    /// An attempt of a node with a retry policy failed, and the next one starts after
    /// `delay`.
    RetryScheduled {
        /// The node's name.
        node: &'static str,
        /// The step.
        step: u32,
        /// The attempt that failed, counting from 1.
        attempt: u32,
        /// The wait before the next attempt.
        delay: Duration,
    },
    /// An attempt ran past the node's per-attempt timeout and was dropped.
    AttemptTimedOut {
        /// The node's name.
        node: &'static str,
        /// The step.
        step: u32,
        /// The attempt that timed out, counting from 1.
        attempt: u32,
        /// The per-attempt timeout.
        timeout: Duration,
    },
    /// An attempt of a node waited for a permit of the node's rate limit.
    RateLimited {
        /// The node's name.
        node: &'static str,
        /// The step.
        step: u32,
        /// How long it waited.
        waited: Duration,
    },
    /// A node's circuit breaker changed state (opened, let a probe through, closed).
    BreakerChanged {
        /// The node's name.
        node: &'static str,
        /// The state before.
        from: BreakerState,
        /// The state after.
        to: BreakerState,
    },
    /// A node emitted a token through [`Context::emit_token`](crate::Context::emit_token),
    /// e.g. a piece of an LLM's streamed answer.
    Token {
        /// The node's name.
        node: &'static str,
        /// The step.
        step: u32,
        /// The token's text.
        text: String,
    },
    /// A node is about to run a tool call a model asked for
    /// ([`Context::emit_tool_call`](crate::Context::emit_tool_call)).
    ToolCall {
        /// The node's name.
        node: &'static str,
        /// The step.
        step: u32,
        /// The call's id, which its [`Event::ToolResult`] repeats.
        id: String,
        /// The tool's name, as the model wrote it.
        tool: String,
        /// The arguments, as the model wrote them (JSON text).
        arguments: String,
    },
    /// A tool call finished ([`Context::emit_tool_result`](crate::Context::emit_tool_result)).
    ToolResult {
        /// The node's name.
        node: &'static str,
        /// The step.
        step: u32,
        /// The id of the call.
        id: String,
        /// The tool's name, as the model wrote it.
        tool: String,
        /// What goes back to the model: the tool's output, or what went wrong.
        content: String,
        /// Whether the call failed.
        is_error: bool,
        /// How long the call took.
        duration: Duration,
    },
    /// A checkpointed run stopped at an interrupt and is saved, waiting for an answer to
    /// its question; [`Event::RunFinished`] follows, without an error.
    Waiting {
        /// The interrupt's name in the graph.
        node: &'static str,
        /// The step.
        step: u32,
        /// The question's type, as the graph writes it.
        question: &'static str,
    },
    /// The run ended; the stream ends after this event, and
    /// [`EventStream::output`] gives the run's output or error.
    RunFinished {
        /// The flow's name.
        flow: &'static str,
        /// `None` when the run returned its output, else what kind of failure ended it.
        error: Option<ErrorKind>,
        /// How long the run took, from its first event.
        duration: Duration,
    },
}

/// An event in the buffer, holding its room until the consumer takes it.
struct Queued {
    event: Event,
    _room: Option<OwnedSemaphorePermit>,
}

/// The sending end of a stream's buffer.
///
/// Events the run can wait for (a node started or finished, a token) take a unit of room
/// first and wait while there is none: that is the bound. Events the policies report from
/// inside a call ([`push`](Sink::push)) cannot wait and go in without room; there are at
/// most a few per attempt, so the retry policy bounds them.
#[derive(Clone)]
pub(crate) struct Sink {
    tx: mpsc::UnboundedSender<Queued>,
    room: Arc<Semaphore>,
}

impl Sink {
    /// Sends `event`, waiting while the buffer is full.
    pub(crate) async fn send(&self, event: Event) {
        // The semaphore is never closed, so acquiring fails never; if it did, the event
        // would go in without room rather than be lost.
        let room = Arc::clone(&self.room).acquire_owned().await.ok();
        // The receiver lives as long as the run (the stream owns both): a failed send
        // means the stream is being dropped, and the event has nowhere to go.
        let _ = self.tx.send(Queued { event, _room: room });
    }

    /// Puts `event` in the buffer at once.
    pub(crate) fn push(&self, event: Event) {
        let _ = self.tx.send(Queued { event, _room: None });
    }
}

/// The step hook that feeds a stream's buffer.
pub struct EventHook {
    sink: Sink,
}

impl fmt::Debug for EventHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventHook").finish_non_exhaustive()
    }
}

impl StepHook for EventHook {
    fn step<N: Node, F: Future<Output = Result<N::Output, N::Error>>>(
        &self,
        cx: &Context,
        node: &'static NodeInfo,
        call: F,
    ) -> impl Future<Output = F::Output> {
        let step = cx.step();
        let sink = &self.sink;
        async move {
            sink.send(Event::NodeStarted {
                node: node.name,
                step,
            })
            .await;
            let started = Instant::now();
            let listen = |s: &mut Scope| s.events = Some(sink.clone());
            let out = scope::within(node.name, step, listen, call).await;
            let finished = Event::NodeFinished {
                node: node.name,
                step,
                error: out.as_ref().err().map(N::error_kind),
                duration: started.elapsed(),
            };
            sink.send(finished).await;
            out
        }
    }

    async fn waiting(&self, cx: &Context, interrupt: &'static NodeInfo, question: &'static str) {
        let waiting = Event::Waiting {
            node: interrupt.name,
            step: cx.step(),
            question,
        };
        self.sink.send(waiting).await;
    }

    async fn run<T, F: Future<Output = Result<T, FlowError>>>(
        &self,
        graph: &'static GraphInfo,
        run_id: RunId,
        run: F,
    ) -> F::Output {
        self.sink
            .send(Event::RunStarted {
                flow: graph.name,
                run_id,
            })
            .await;
        run.await
    }
}

/// The events of one run, then its output: what [`Run::stream`](crate::Run::stream)
/// returns.
///
/// The stream drives the run (nothing is spawned): polling it polls the run, which
/// hands events to a bounded buffer. When they are not taken the run waits, so a slow
/// consumer slows the run rather than growing memory. The last event is
/// [`Event::RunFinished`]; then [`output`](EventStream::output) gives the run's result.
/// Dropping the stream cancels the run cleanly, as dropping a run's future does. A
/// flow's own hook still sees every step, and runs that are not streamed cost nothing
/// more because streaming exists.
///
/// ```
/// use typedflow::prelude::*;
/// use typedflow::events::Event;
/// use futures_util::StreamExt;
///
/// #[node]
/// async fn double(x: u32) -> u32 { x * 2 }
///
/// graph! {
///     Double(u32) -> u32 {
///         START -> double -> END;
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let flow = Double::new(());
/// let mut events = flow.run(21).stream();
/// let mut seen = Vec::new();
/// while let Some(event) = events.next().await {
///     seen.push(event);
/// }
/// assert!(matches!(seen[0], Event::RunStarted { flow: "Double", .. }));
/// assert!(matches!(seen[1], Event::NodeStarted { node: "double", step: 1 }));
/// assert!(matches!(seen[2], Event::NodeFinished { node: "double", error: None, .. }));
/// assert!(matches!(seen[3], Event::RunFinished { error: None, .. }));
/// assert_eq!(events.output().await.unwrap(), 42);
/// # });
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct EventStream<O, F> {
    // Boxed, so that the stream is `Unpin`: taken with `next()` and then `output()`
    // without pinning it first. A streamed run allocates its buffer anyway.
    run: Pin<Box<F>>,
    rx: mpsc::UnboundedReceiver<Queued>,
    flow: &'static str,
    started: Option<Instant>,
    result: Option<Result<O, FlowError>>,
    done: bool,
}

// Nothing of the stream is pinned but the run, which is boxed.
impl<O, F> Unpin for EventStream<O, F> {}

impl<O, F> EventStream<O, F> {
    /// A stream of the run `run` makes with the event hook it is given.
    pub(crate) fn new(buffer: usize, flow: &'static str, run: impl FnOnce(EventHook) -> F) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let room = Arc::new(Semaphore::new(buffer.clamp(1, Semaphore::MAX_PERMITS)));
        EventStream {
            run: Box::pin(run(EventHook {
                sink: Sink { tx, room },
            })),
            rx,
            flow,
            started: None,
            result: None,
            done: false,
        }
    }
}

impl<O, F: Future<Output = Result<O, FlowError>>> EventStream<O, F> {
    /// The run's output or error, once its events are taken; the events not taken yet
    /// are dropped and the run goes on to its end. Call it after the stream has ended to
    /// get the result of the run it streamed.
    ///
    /// # Errors
    ///
    /// The run's [`FlowError`].
    pub async fn output(mut self) -> Result<O, FlowError> {
        loop {
            if let Some(result) = self.result.take() {
                return result;
            }
            // Taking an event drives the run. The stream ends only after the run has
            // ended and left its result, which nothing but this method takes: the loop
            // returns at the latest on the turn after the stream's last event.
            let _ = futures_util::StreamExt::next(&mut self).await;
        }
    }
}

impl<O, F> Stream for EventStream<O, F>
where
    F: Future<Output = Result<O, FlowError>>,
{
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Event>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        this.started.get_or_insert_with(Instant::now);
        if let Poll::Ready(Some(queued)) = this.rx.poll_recv(cx) {
            return Poll::Ready(Some(queued.event));
        }
        if this.result.is_none() {
            if let Poll::Ready(result) = this.run.as_mut().poll(cx) {
                this.result = Some(result);
            }
            // The run may have handed over events while it was polled.
            if let Poll::Ready(Some(queued)) = this.rx.poll_recv(cx) {
                return Poll::Ready(Some(queued.event));
            }
        }
        match &this.result {
            // Every event sent before the run ended has been taken (the buffer is empty):
            // the run's end comes last; its result stays for `output`.
            Some(result) => {
                this.done = true;
                let flow = this.flow;
                Poll::Ready(Some(Event::RunFinished {
                    flow,
                    error: result.as_ref().err().map(FlowError::kind),
                    duration: this.started.map_or(Duration::ZERO, |t| t.elapsed()),
                }))
            }
            None => Poll::Pending,
        }
    }
}
