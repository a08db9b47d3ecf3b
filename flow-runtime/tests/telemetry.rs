//! The `Traced` and `Metered` hooks: the span tree of runs with a route, a loop, a retry and
//! a failure, and every metric after scripted runs (retries, timeouts and an opening
//! breaker among them).

#![allow(clippy::unwrap_used)] // reason: test helpers outside #[test] fns

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event as TracingEvent, Subscriber};
use tracing_subscriber::layer::{Context as LayerContext, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use typedflow::prelude::*;
use typedflow::telemetry::{Metered, Traced};

enum Next {
    Again(u32),
    Done(u32),
}

#[node(retry(attempts = 2, backoff = constant(1ms), jitter = none))]
async fn bump(x: u32) -> Result<u32, std::io::Error> {
    tracing::info!(x, "bumping");
    if x == 1 {
        // The first call fails once and is retried.
        static FAILED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if !FAILED.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(std::io::Error::from(std::io::ErrorKind::TimedOut));
        }
    }
    Ok(x + 1)
}

#[node]
async fn check(x: u32) -> Result<Next, std::io::Error> {
    if x == 50 {
        return Err(std::io::Error::other("50 is not allowed"));
    }
    Ok(if x < 3 { Next::Again(x) } else { Next::Done(x) })
}

graph! {
    Count(u32) -> u32 {
        START -> bump -> check;
        check => {
            Next::Again -> bump,
            Next::Done -> END,
        }
    }
}

/// Hangs: both attempts of the first call time out (one retry), which opens the breaker;
/// the next call is refused.
#[node(
    retry(attempts = 2, backoff = constant(1ms), jitter = none),
    timeout = 10ms,
    circuit_breaker(failures = 2, cool_down = 60s)
)]
async fn fetch(x: u32) -> Result<u32, std::io::Error> {
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    Ok(x)
}

graph! {
    Fetch(u32) -> u32 {
        START -> fetch -> END;
    }
}

#[node]
async fn stall(x: u32) -> u32 {
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    x
}

graph! {
    /// Runs out of time in its only node.
    #[flow(timeout = 50ms)]
    Stall(u32) -> u32 {
        START -> stall -> END;
    }
}

/// Records spans (name, parent, fields) and events (inside which span) as lines.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<String>>>);

#[derive(Default)]
struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "run_id" {
            let _ = write!(self.0, " run_id=<id>");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let span = ctx.span(id).unwrap();
        let parent = span
            .parent()
            .map_or("-".to_owned(), |p| p.name().to_owned());
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        self.0.lock().unwrap().push(format!(
            "span {} (parent {parent}){}",
            span.name(),
            fields.0
        ));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        let mut fields = Fields::default();
        values.record(&mut fields);
        let name = ctx.span(id).unwrap().name();
        self.0
            .lock()
            .unwrap()
            .push(format!("record {name}{}", fields.0));
    }

    fn on_event(&self, event: &TracingEvent<'_>, ctx: LayerContext<'_, S>) {
        let inside = ctx
            .event_span(event)
            .map_or("-".to_owned(), |s| s.name().to_owned());
        let mut fields = Fields::default();
        event.record(&mut fields);
        self.0.lock().unwrap().push(format!(
            "event in {inside} [{}]{}",
            event.metadata().target(),
            fields.0
        ));
    }
}

fn captured(run: impl FnOnce()) -> String {
    captured_at(tracing::level_filters::LevelFilter::TRACE, run)
}

/// What a subscriber that wants `level` and less verbose captures during `run`.
fn captured_at(level: tracing::level_filters::LevelFilter, run: impl FnOnce()) -> String {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry()
        .with(level)
        .with(capture.clone());
    tracing::subscriber::with_default(subscriber, || {
        // Callsites cache their interest process-wide: one first hit by another test (with
        // no subscriber) would stay disabled here.
        tracing::callsite::rebuild_interest_cache();
        run();
    });
    capture.0.lock().unwrap().join("\n")
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn spans_form_a_tree_per_run() {
    let flow = Count::new(()).with_hook(Traced);
    let log = captured(|| {
        assert_eq!(block_on(flow.run(1).into_future()).unwrap(), 3);
        assert!(block_on(flow.run(49).into_future()).is_err());
    });
    insta::assert_snapshot!("span_tree", log);
}

#[test]
fn a_run_nobody_traces_makes_no_spans_but_logs_its_error() {
    // A subscriber at `warn` wants no `flow.run` span: the runs go through no hook, and
    // only the warning of the failed run remains. (Not `run(1)`: its one failure belongs
    // to the span tree test.)
    let flow = Count::new(()).with_hook(Traced);
    let log = captured_at(tracing::level_filters::LevelFilter::WARN, || {
        assert_eq!(block_on(flow.run(2).into_future()).unwrap(), 3);
        assert!(block_on(flow.run(49).into_future()).is_err());
    });
    assert_eq!(
        log,
        "event in - [typedflow::telemetry] message=run failed \
         error=flow `Count`: node `check` failed at step 2 after 1 attempt(s)"
    );
    // With no subscriber at all, nothing is seen and the result is the same.
    assert_eq!(block_on(flow.run(3).into_future()).unwrap(), 4);
}

#[test]
fn metrics_after_scripted_runs() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let flow = Count::new(()).with_hook(Metered);
    let fetch = Fetch::new(()).with_hook(Metered);
    let stall = Stall::new(()).with_hook(Metered);
    // Under a subscriber too: tracing callsites cache their interest process-wide, and a
    // first hit with no subscriber here would hide the node's events from the span test.
    let _ = captured(|| {
        metrics::with_local_recorder(&recorder, || {
            block_on(async {
                flow.run(2).await.unwrap();
                flow.run(2).await.unwrap();
                flow.run(49).await.unwrap_err();
                // Timeouts open the breaker, which refuses the next call.
                fetch.run(1).await.unwrap_err();
                fetch.run(1).await.unwrap_err();
                // The flow's own timeout is an outcome of the run.
                stall.run(1).await.unwrap_err();
                // So is a cancellation through a token.
                let token = tokio_util::sync::CancellationToken::new();
                let cancel = async {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    token.cancel();
                };
                let (cancelled, ()) = tokio::join!(stall.run(1).cancel_on(&token), cancel);
                assert!(matches!(cancelled, Err(FlowError::Cancelled { .. })));
            });
        });
    });
    let mut lines: Vec<String> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let (kind, key) = key.into_parts();
            let mut labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            labels.sort();
            let value = match value {
                DebugValue::Counter(n) => format!("{n}"),
                DebugValue::Gauge(g) => format!("{}", g.into_inner()),
                DebugValue::Histogram(h) => format!("{} sample(s)", h.len()),
            };
            format!("{kind:?} {}{{{}}} = {value}", key.name(), labels.join(","))
        })
        .collect();
    lines.sort();
    insta::assert_snapshot!("metrics", lines.join("\n"));
}
