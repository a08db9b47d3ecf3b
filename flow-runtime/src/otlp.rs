//! OpenTelemetry export of the [`Traced`](crate::telemetry::Traced) spans over OTLP/HTTP
//! (cargo feature `otlp`, off by default).
//!
//! [`layer`] builds a `tracing-subscriber` layer that turns the spans the subscriber sees
//! into OpenTelemetry spans and sends them in batches, as OTLP protobuf over HTTP, to a
//! collector (the OpenTelemetry Collector, Jaeger, Tempo, ...). The exported spans have
//! the names and fields of the [`telemetry`](crate::telemetry) tables and nothing more:
//! `flow.run` (`flow`, `run_id`, `outcome`), its child `flow.node` (`flow`, `node`,
//! `step`, `outcome`) and the node's child `flow.attempt` (`node`, `attempt`, `outcome`);
//! a run traced inside a span of the caller is that span's child in the same trace.
//! `step` and `attempt` arrive as strings (`"1"`): tracing-opentelemetry exports unsigned
//! integers as text. What a node logs inside its span becomes an event of the exported
//! span.
//!
//! ```no_run
//! use tracing_subscriber::layer::SubscriberExt;
//! use typedflow::prelude::*;
//! use typedflow::telemetry::Traced;
//!
//! #[node]
//! async fn greet(name: String) -> String {
//!     format!("hello, {name}")
//! }
//!
//! graph! {
//!     Greet(String) -> String {
//!         START -> greet -> END;
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // A collector (or Jaeger) that takes OTLP/HTTP on its usual port.
//!     let (otlp, guard) = typedflow::otlp::layer("http://127.0.0.1:4318", "greeter")?;
//!     tracing::subscriber::set_global_default(tracing_subscriber::registry().with(otlp))?;
//!
//!     let flow = Greet::new(()).with_hook(Traced);
//!     println!("{}", flow.run("world".to_string()).await?);
//!
//!     // Sends the spans still buffered (dropping the guard does too, ignoring errors).
//!     // It blocks until they are sent, so it goes to a thread that may block.
//!     tokio::task::spawn_blocking(move || guard.shutdown()).await??;
//!     Ok(())
//! }
//! ```
//!
//! The spans are sent from a thread of the exporter's own, with a blocking HTTP client
//! (`reqwest`, without TLS unless the build enables one of its TLS features): the runs
//! never wait for the collector. The exporter also reads the standard variables
//! `OTEL_EXPORTER_OTLP_HEADERS` (e.g. an authorization header),
//! `OTEL_EXPORTER_OTLP_TIMEOUT` and `OTEL_BSP_*` (batch size and delay); the endpoint
//! given to [`layer`] wins over `OTEL_EXPORTER_OTLP_ENDPOINT`.

use opentelemetry::InstrumentationScope;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::registry::LookupSpan;

use crate::BoxError;

/// The path of the OTLP/HTTP traces endpoint under a collector's base URL.
const TRACES_PATH: &str = "/v1/traces";

/// Why [`layer`] could not be built, or why the spans could not be sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtlpError {
    /// The endpoint is not an `http://` or `https://` URL.
    #[error("the OTLP endpoint `{endpoint}` is not an http:// or https:// URL")]
    Endpoint {
        /// The endpoint as given.
        endpoint: String,
    },
    /// The OTLP exporter rejected its configuration or could not start its HTTP client.
    #[error("could not build the OTLP span exporter for `{endpoint}`")]
    Exporter {
        /// The URL the spans were to be sent to.
        endpoint: String,
        /// The exporter's error.
        #[source]
        source: BoxError,
    },
    /// Sending the buffered spans failed or timed out, or the exporter was already shut
    /// down.
    #[error("could not send the spans to the OTLP endpoint")]
    Flush {
        /// The exporter's error.
        #[source]
        source: BoxError,
    },
}

/// A layer that exports every span of the subscriber to the OTLP/HTTP collector at
/// `endpoint`, as spans of the service `service_name`, and the guard that flushes it.
///
/// `endpoint` is the collector's base URL, as in `OTEL_EXPORTER_OTLP_ENDPOINT`:
/// `http://127.0.0.1:4318` sends to `http://127.0.0.1:4318/v1/traces`. A URL that already
/// ends in `/v1/traces` is used as it is. `service_name` becomes the resource attribute
/// `service.name`, under which a collector or Jaeger files the traces.
///
/// The layer adds no attributes of its own to the spans (no source locations, thread
/// names, targets or busy/idle times): an exported span has the fields its `tracing` span
/// has. It exports whatever the subscriber lets through to it; to export only the flows'
/// spans and their callers', give it a filter (`Layer::with_filter`).
///
/// Keep the [`OtlpGuard`] until the program ends: spans are sent in batches (every 5 s
/// or 512 spans by default), and the guard sends what is left when it is shut down or
/// dropped. No global state is set: install the layer in your subscriber.
///
/// ```no_run
/// use tracing_subscriber::layer::SubscriberExt;
///
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let (otlp, guard) = typedflow::otlp::layer("http://127.0.0.1:4318", "my-service")?;
///     let subscriber = tracing_subscriber::registry().with(otlp);
///     tracing::subscriber::with_default(subscriber, || {
///         // runs of flows with the `Traced` hook, here, are exported
///     });
///     guard.shutdown()?;
///     Ok(())
/// }
/// ```
///
/// # Errors
///
/// [`OtlpError::Endpoint`] when `endpoint` is not an `http://` or `https://` URL;
/// [`OtlpError::Exporter`] when the exporter rejects it or its HTTP client cannot be
/// built. Nothing is sent here: an unreachable collector shows up when spans are sent
/// (as an error of [`OtlpGuard::flush`] or [`OtlpGuard::shutdown`]).
pub fn layer<S>(
    endpoint: &str,
    service_name: &str,
) -> Result<(impl Layer<S> + use<S>, OtlpGuard), OtlpError>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    let url = traces_url(endpoint)?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url.clone())
        .build()
        .map_err(|err| OtlpError::Exporter {
            endpoint: url,
            source: Box::new(err),
        })?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service_name.to_owned())
                .build(),
        )
        .build();
    let scope = InstrumentationScope::builder("typedflow")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build();
    let layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer_with_scope(scope))
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_tracked_inactivity(false);
    Ok((
        layer,
        OtlpGuard {
            provider: Some(provider),
        },
    ))
}

/// The URL the spans go to: `endpoint` with `/v1/traces` added unless it is there.
fn traces_url(endpoint: &str) -> Result<String, OtlpError> {
    let base = endpoint.trim_end_matches('/');
    let has_host = ["http://", "https://"].iter().any(|scheme| {
        base.strip_prefix(scheme)
            .is_some_and(|rest| !rest.is_empty())
    });
    if !has_host {
        return Err(OtlpError::Endpoint {
            endpoint: endpoint.to_owned(),
        });
    }
    if base.ends_with(TRACES_PATH) {
        Ok(base.to_owned())
    } else {
        Ok(format!("{base}{TRACES_PATH}"))
    }
}

/// Owns the exporter that [`layer`] started: shutting it down, or dropping it, sends the
/// spans still buffered and stops the exporter's thread.
///
/// [`flush`](OtlpGuard::flush) and [`shutdown`](OtlpGuard::shutdown) block the calling
/// thread until the collector has answered or the exporter's timeout (10 s by default,
/// `OTEL_EXPORTER_OTLP_TIMEOUT`) has passed. In async code call them where blocking is
/// allowed (`tokio::task::spawn_blocking`), above all on a current-thread runtime that
/// also runs the collector, or a test's receiver. Spans that end after the shutdown are
/// dropped.
#[derive(Debug)]
#[must_use = "dropping the guard shuts the exporter down: keep it while spans are made"]
pub struct OtlpGuard {
    /// `None` once shut down.
    provider: Option<SdkTracerProvider>,
}

impl OtlpGuard {
    /// Sends the spans that have ended and are still buffered, and waits for the answer.
    ///
    /// # Errors
    ///
    /// [`OtlpError::Flush`] when the collector refused them, could not be reached before
    /// the timeout, or the exporter is already shut down.
    pub fn flush(&self) -> Result<(), OtlpError> {
        match &self.provider {
            Some(provider) => provider.force_flush().map_err(flush_error),
            None => Err(flush_error(
                opentelemetry_sdk::error::OTelSdkError::AlreadyShutdown,
            )),
        }
    }

    /// Sends the spans still buffered, then stops the exporter.
    ///
    /// # Errors
    ///
    /// [`OtlpError::Flush`] when the last spans could not be sent (see
    /// [`flush`](OtlpGuard::flush)); the exporter is stopped all the same.
    pub fn shutdown(mut self) -> Result<(), OtlpError> {
        match self.provider.take() {
            Some(provider) => provider.shutdown().map_err(flush_error),
            None => Ok(()),
        }
    }
}

impl Drop for OtlpGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            // Nobody is left to tell: an exporter that cannot send logs it itself.
            let _ = provider.shutdown();
        }
    }
}

fn flush_error(err: opentelemetry_sdk::error::OTelSdkError) -> OtlpError {
    OtlpError::Flush {
        source: Box::new(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_traces_path_is_added_once() {
        for (endpoint, url) in [
            ("http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces"),
            ("http://127.0.0.1:4318/", "http://127.0.0.1:4318/v1/traces"),
            (
                "https://otel.example/otlp",
                "https://otel.example/otlp/v1/traces",
            ),
            (
                "http://127.0.0.1:4318/v1/traces",
                "http://127.0.0.1:4318/v1/traces",
            ),
        ] {
            assert_eq!(
                traces_url(endpoint).ok().as_deref(),
                Some(url),
                "{endpoint}"
            );
        }
    }

    #[test]
    fn an_endpoint_without_http_is_refused() {
        for endpoint in ["127.0.0.1:4318", "grpc://127.0.0.1:4317", "http://", ""] {
            let err = traces_url(endpoint).err();
            assert!(
                matches!(&err, Some(OtlpError::Endpoint { endpoint: e }) if e == endpoint),
                "{endpoint}: {err:?}"
            );
        }
    }
}
