//! The flow of the `observe` example: a small review loop, traced and metered, with a
//! Prometheus exporter on loopback.

use std::net::SocketAddr;
use std::time::Duration;

use flow_runtime::prelude::*;
use flow_runtime::telemetry::{Metered, Traced};
use metrics_exporter_prometheus::PrometheusBuilder;

/// A reviewer's decision.
pub enum Review {
    /// Needs another pass, with the draft so far.
    Again(String),
    /// Good enough.
    Done(String),
}

#[node]
async fn draft(topic: String) -> String {
    tokio::time::sleep(Duration::from_millis(20)).await;
    format!("draft on {topic}")
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
    Writer::new(()).with_hook((Traced, Metered))
}

/// Installs the Prometheus recorder and serves `/metrics` on `addr` (must be loopback).
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
        .with_http_listener(addr)
        .install()?;
    Ok(())
}
