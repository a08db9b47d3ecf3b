//! A live stream of typed events while a run goes on: [`Flow::stream`](crate::Flow::stream).
//!
//! The stream drives the run itself (nothing is spawned): polling it polls the run, which
//! hands events to a bounded buffer. When the buffer is full the run waits until the
//! consumer takes one: a slow consumer slows the run down instead of growing memory.
//! Dropping the stream drops the run, like dropping its future.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context as TaskContext, Poll};
use std::time::Duration;

use futures_util::Stream;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::{Context, FlowError, GraphInfo, NodeInfo, RunId, StepHook};

/// How many events a stream buffers before the run waits for its consumer.
pub const EVENT_BUFFER: usize = 64;

/// Something that happened during a run, in the order it happened.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<O> {
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
        /// Whether it returned its output (`false`: it failed).
        ok: bool,
        /// How long the call took.
        duration: Duration,
    },
    /// The run ended; the stream ends after this event.
    RunFinished(Result<O, FlowError>),
}

/// The step hook that feeds a stream's buffer.
#[derive(Debug)]
pub struct EventHook<O> {
    tx: mpsc::Sender<Event<O>>,
}

impl<O> EventHook<O> {
    async fn send(&self, event: Event<O>) {
        // The receiver lives as long as the run (the stream owns both): a failed send means
        // the stream is being dropped, and the event has nowhere to go.
        let _ = self.tx.send(event).await;
    }
}

impl<O> StepHook for EventHook<O> {
    fn step<T, E, F: Future<Output = Result<T, E>>>(
        &self,
        cx: &Context,
        node: &'static NodeInfo,
        call: F,
    ) -> impl Future<Output = F::Output> {
        let step = cx.step();
        async move {
            self.send(Event::NodeStarted {
                node: node.name,
                step,
            })
            .await;
            let started = Instant::now();
            let out = call.await;
            let finished = Event::NodeFinished {
                node: node.name,
                step,
                ok: out.is_ok(),
                duration: started.elapsed(),
            };
            self.send(finished).await;
            out
        }
    }

    async fn run<T, F: Future<Output = Result<T, FlowError>>>(
        &self,
        graph: &'static GraphInfo,
        run_id: RunId,
        run: F,
    ) -> F::Output {
        self.send(Event::RunStarted {
            flow: graph.name,
            run_id,
        })
        .await;
        run.await
    }
}

pin_project_lite::pin_project! {
    /// The events of one run: see [`Flow::stream`](crate::Flow::stream).
    #[must_use = "streams do nothing unless polled"]
    pub struct EventStream<F, O> {
        #[pin]
        run: F,
        rx: mpsc::Receiver<Event<O>>,
        result: Option<Result<O, FlowError>>,
        done: bool,
    }
}

impl<F, O> EventStream<F, O> {
    fn new(buffer: usize, run: impl FnOnce(EventHook<O>) -> F) -> Self {
        let (tx, rx) = mpsc::channel(buffer.max(1));
        EventStream {
            run: run(EventHook { tx }),
            rx,
            result: None,
            done: false,
        }
    }
}

/// As [`Flow::stream`](crate::Flow::stream), buffering at most `buffer` events (at least
/// one) before the run waits for the consumer.
pub fn stream_buffered<Fl: crate::Flow>(
    flow: &Fl,
    input: Fl::Input,
    buffer: usize,
) -> EventStream<impl Future<Output = Result<Fl::Output, FlowError>> + '_, Fl::Output> {
    EventStream::new(buffer, |hook| flow.run_with(input, hook))
}

impl<F, O> Stream for EventStream<F, O>
where
    F: Future<Output = Result<O, FlowError>>,
{
    type Item = Event<O>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Event<O>>> {
        let mut this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        if let Poll::Ready(Some(event)) = this.rx.poll_recv(cx) {
            return Poll::Ready(Some(event));
        }
        if this.result.is_none() {
            if let Poll::Ready(result) = this.run.as_mut().poll(cx) {
                *this.result = Some(result);
            }
            // The run may have handed over events while it was polled.
            if let Poll::Ready(Some(event)) = this.rx.poll_recv(cx) {
                return Poll::Ready(Some(event));
            }
        }
        match this.result.take() {
            // Every event sent before the run ended has been taken (the buffer is empty):
            // the run's result comes last.
            Some(result) => {
                *this.done = true;
                Poll::Ready(Some(Event::RunFinished(result)))
            }
            None => Poll::Pending,
        }
    }
}
