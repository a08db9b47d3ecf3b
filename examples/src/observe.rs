//! The flow of the `observe` example: a small review loop, traced and metered, with a
//! Prometheus exporter on loopback.

use core::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use typedflow::prelude::*;
use typedflow::telemetry::{Metered, Traced};

/// A reviewer's decision.
pub enum Review {
    /// Needs another pass, with the draft so far.
    Again(String),
    /// Good enough.
    Done(String),
}

/// A stand-in for a rate-limited model: every other attempt is refused.
#[derive(Debug, Default)]
pub struct Model {
    calls: AtomicU32,
}

/// The flow's dependencies.
#[derive(Debug, Default, Deps)]
pub struct Services {
    model: Model,
}

/// The model refused the call; worth another attempt.
#[derive(Debug)]
pub struct Busy;

impl fmt::Display for Busy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the model is busy")
    }
}

impl std::error::Error for Busy {}

/// Every `Busy` is retried (the trait's defaults).
impl Retryable for Busy {}

/// Writes the first draft word by word, handing each word to whoever streams the run.
#[node(retry(attempts = 3, backoff = constant(50ms), jitter = none))]
async fn draft(topic: String, model: &Model, cx: &Context) -> Result<String, Busy> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    if model
        .calls
        .fetch_add(1, Ordering::Relaxed)
        .is_multiple_of(2)
    {
        return Err(Busy);
    }
    let text = format!("draft on {topic}");
    for word in text.split_inclusive(' ') {
        tokio::time::sleep(Duration::from_millis(5)).await;
        cx.emit_token(word).await;
    }
    Ok(text)
}

#[node]
async fn review(text: String) -> Review {
    tokio::time::sleep(Duration::from_millis(10)).await;
    if text.matches('+').count() < 2 {
        Review::Again(text)
    } else {
        Review::Done(text)
    }
}

#[node]
async fn polish(text: String) -> String {
    tokio::time::sleep(Duration::from_millis(15)).await;
    format!("{text}+")
}

graph! {
    /// Drafts, then polishes until the reviewer is satisfied.
    #[flow(deps = Services)]
    pub Writer(String) -> String {
        START -> draft -> review;
        review => {
            Review::Again -> polish,
            Review::Done -> END,
        }
        polish -> review;
    }
}

/// A `Writer` whose every run is traced and metered.
pub fn writer() -> Writer<(Traced, Metered)> {
    Writer::new(Services::default()).with_hook((Traced, Metered))
}

/// The upper bounds, in seconds, of the buckets of every `*_seconds` histogram: from a
/// millisecond (a node that computes) to two minutes (a slow model's long answer).
///
/// Without buckets the exporter renders histograms as summaries, whose quantiles are
/// computed in this process and cannot be aggregated across instances or over time; with
/// them Prometheus gets `_bucket` series and `histogram_quantile` works.
pub const DURATION_BUCKETS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// Installs the Prometheus recorder and serves `/metrics` on `addr` (must be loopback).
///
/// Every metric whose name ends in `_seconds` (`flow_run_duration_seconds`,
/// `flow_node_duration_seconds`, the providers' `llm_request_duration_seconds`) is
/// exported as a histogram with [`DURATION_BUCKETS`].
///
/// # Errors
///
/// When the address is not a loopback one, or the exporter cannot be installed (a
/// recorder is already installed, or the port is taken).
pub fn serve_metrics(addr: SocketAddr) -> Result<(), Box<dyn std::error::Error>> {
    if !addr.ip().is_loopback() {
        return Err(format!("serve metrics on a loopback address, not {addr}").into());
    }
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &DURATION_BUCKETS)?
        .with_http_listener(addr)
        .install()?;
    Ok(())
}
