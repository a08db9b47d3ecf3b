//! Metrics and tracing for every request, whatever the client.
//!
//! Metrics (through the `metrics` facade, free when no recorder is installed):
//!
//! - `llm_requests_total{provider,model,outcome}`: counter; `outcome` is `ok`, an
//!   [`ErrorKind`](crate::ErrorKind) name such as `rate_limited`, or `cancelled` when
//!   the caller dropped the request or its stream before the end;
//! - `llm_request_duration_seconds{provider,model}`: histogram, from sending the request
//!   to the last byte of the reply (the end of the stream for streamed replies);
//! - `llm_tokens_total{provider,model,kind}`: counter; `kind` is `prompt` or `completion`.
//!
//! Tracing: a span `llm.request` per request with the fields `provider`, `model`,
//! `stream`, and, when it ends, `outcome`, `prompt_tokens`, `completion_tokens` and
//! `latency_ms`; an event at the end (debug on success, warn on failure).

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::Instant;

use futures::Stream;
use futures::stream::StreamExt as _;
use tracing::Instrument as _;
use tracing::Span;

use crate::error::ProviderError;
#[cfg(feature = "http")]
use crate::http::{self, Decoder};
use crate::redact::Redactor;
use crate::stream::{ChatStream, StreamEvent};
use crate::types::{ChatResponse, Usage};

/// Records one request's outcome exactly once: on success, on error, or as `cancelled`
/// when dropped before either.
pub(crate) struct RequestTelemetry {
    provider: &'static str,
    /// Redacted: it becomes a span field and a metric label.
    model: String,
    /// The client's secrets, removed from every error before it is logged or returned.
    redactor: Redactor,
    start: Instant,
    span: Span,
    finished: bool,
}

impl RequestTelemetry {
    pub(crate) fn start(
        provider: &'static str,
        model: &str,
        stream: bool,
        redactor: Redactor,
    ) -> Self {
        let model = redactor.redact(model).into_owned();
        let span = tracing::info_span!(
            "llm.request",
            provider,
            model = model.as_str(),
            stream,
            outcome = tracing::field::Empty,
            prompt_tokens = tracing::field::Empty,
            completion_tokens = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        RequestTelemetry {
            provider,
            model,
            redactor,
            start: Instant::now(),
            span,
            finished: false,
        }
    }

    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    /// Records a success with the usage the server reported.
    pub(crate) fn ok(&mut self, usage: Option<Usage>) {
        if self.finish("ok") {
            if let Some(usage) = usage {
                self.span.record("prompt_tokens", usage.prompt_tokens);
                self.span
                    .record("completion_tokens", usage.completion_tokens);
                let tokens = |kind: &'static str| {
                    metrics::counter!(
                        "llm_tokens_total",
                        "provider" => self.provider,
                        "model" => self.model.clone(),
                        "kind" => kind,
                    )
                };
                tokens("prompt").increment(usage.prompt_tokens);
                tokens("completion").increment(usage.completion_tokens);
            }
            tracing::debug!(parent: &self.span, "llm request finished");
        }
    }

    /// Removes the client's secrets from `err`: every error goes through this before
    /// [`err`](Self::err) logs it and the caller sees it.
    pub(crate) fn redact(&self, err: ProviderError) -> ProviderError {
        err.redact(&self.redactor)
    }

    /// Records a failure; `err` has been through [`redact`](Self::redact).
    pub(crate) fn err(&mut self, err: &ProviderError) {
        if self.finish(err.kind().as_str()) {
            tracing::warn!(
                parent: &self.span,
                kind = err.kind().as_str(),
                retryable = err.is_retryable(),
                error = %err,
                "llm request failed"
            );
        }
    }

    /// Redacts the error of `result`, and records either outcome.
    pub(crate) fn result<T>(
        &mut self,
        result: Result<T, ProviderError>,
        usage: impl FnOnce(&T) -> Option<Usage>,
    ) -> Result<T, ProviderError> {
        match result {
            Ok(value) => {
                self.ok(usage(&value));
                Ok(value)
            }
            Err(err) => {
                let err = self.redact(err);
                self.err(&err);
                Err(err)
            }
        }
    }

    /// Counts the request and its duration under `outcome`; false if already done.
    fn finish(&mut self, outcome: &'static str) -> bool {
        if self.finished {
            return false;
        }
        self.finished = true;
        let elapsed = self.start.elapsed();
        self.span.record("outcome", outcome);
        self.span.record(
            "latency_ms",
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        );
        metrics::counter!(
            "llm_requests_total",
            "provider" => self.provider,
            "model" => self.model.clone(),
            "outcome" => outcome,
        )
        .increment(1);
        metrics::histogram!(
            "llm_request_duration_seconds",
            "provider" => self.provider,
            "model" => self.model.clone(),
        )
        .record(elapsed.as_secs_f64());
        true
    }
}

impl Drop for RequestTelemetry {
    fn drop(&mut self) {
        if self.finish("cancelled") {
            tracing::debug!(parent: &self.span, "llm request cancelled");
        }
    }
}

/// A plain chat request of `provider`, measured and inside its `llm.request` span.
#[cfg(feature = "http")]
pub(crate) async fn measured_chat(
    provider: &'static str,
    model: &str,
    redactor: &Redactor,
    chat: impl Future<Output = Result<ChatResponse, ProviderError>>,
) -> Result<ChatResponse, ProviderError> {
    let mut telemetry = RequestTelemetry::start(provider, model, false, redactor.clone());
    let result = chat.instrument(telemetry.span().clone()).await;
    telemetry.result(result, |r| r.usage)
}

/// A streamed chat request of `provider`: `send` opens the response inside the request's
/// span, `decoder` reads its events, and the stream is measured until it ends.
#[cfg(feature = "http")]
pub(crate) async fn measured_stream<D: Decoder>(
    provider: &'static str,
    model: &str,
    redactor: &Redactor,
    max_event: usize,
    send: impl Future<Output = Result<reqwest::Response, ProviderError>>,
    decoder: D,
) -> Result<ChatStream, ProviderError> {
    let mut telemetry = RequestTelemetry::start(provider, model, true, redactor.clone());
    let response = match send.instrument(telemetry.span().clone()).await {
        Ok(response) => response,
        Err(err) => {
            // The request is not over on success: the stream's end closes it.
            let err = telemetry.redact(err);
            telemetry.err(&err);
            return Err(err);
        }
    };
    let events = http::event_stream(response, provider, max_event, decoder);
    Ok(ChatStream::new(
        provider,
        Instrumented::new(events, telemetry),
    ))
}

/// A stream of events whose end (finish, error, or drop) closes the request's telemetry,
/// and which runs inside the request's span.
pub(crate) struct Instrumented<S> {
    inner: S,
    telemetry: RequestTelemetry,
}

impl<S> Instrumented<S> {
    pub(crate) fn new(inner: S, telemetry: RequestTelemetry) -> Self {
        Instrumented { inner, telemetry }
    }
}

impl<S> Stream for Instrumented<S>
where
    S: Stream<Item = Result<StreamEvent, ProviderError>> + Unpin,
{
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let _entered = this.telemetry.span.clone().entered();
        let mut item = this.inner.poll_next_unpin(cx);
        if let Poll::Ready(Some(Err(err))) = item {
            item = Poll::Ready(Some(Err(this.telemetry.redact(err))));
        }
        match &item {
            Poll::Ready(Some(Ok(StreamEvent::Finish { usage, .. }))) => this.telemetry.ok(*usage),
            Poll::Ready(Some(Err(err))) => this.telemetry.err(err),
            Poll::Ready(None) => {
                // The source ended without a finish event; ChatStream turns that into
                // StreamCut, so count it as such here.
                this.telemetry
                    .err(&ProviderError::stream_cut(this.telemetry.provider, 0));
            }
            _ => {}
        }
        item
    }
}
