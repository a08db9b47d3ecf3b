//! Every tool call is observed: a `tool.call` span with the tool, the outcome and the
//! duration, and the metrics `flow_tool_calls_total{tool,outcome}` and
//! `flow_tool_duration_seconds{tool}`, whose labels carry the toolbox's names only.

#![cfg(all(feature = "openai", feature = "anthropic"))]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly; helpers outside #[test] fns unwrap too"
)]

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::metric_counts as snapshot;
use metrics_util::debugging::DebuggingRecorder;
use serde_json::json;
use tracing_subscriber::fmt::format::FmtSpan;
use typedflow_providers::{ToolCall, Toolbox, tool};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Secs {
    secs: u64,
}

/// Sleeps, then says how long.
#[tool]
async fn nap(args: Secs) -> Result<String, String> {
    if args.secs == 0 {
        return Err("no nap".into());
    }
    tokio::time::sleep(Duration::from_secs(args.secs)).await;
    Ok(format!("slept {}s", args.secs))
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `body` on a paused clock, with a metrics recorder and a subscriber of every span
/// and event: the recorder, and what was traced.
fn observe(body: impl std::future::Future<Output = ()>) -> (DebuggingRecorder, String) {
    let recorder = DebuggingRecorder::new();
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || runtime.block_on(body));
    let traced = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    (recorder, traced)
}

#[test]
fn each_call_counts_by_tool_and_outcome_in_a_span() {
    let (recorder, traced) = observe(async {
        let tools = Toolbox::new()
            .with_tool_timeout(Nap, Duration::from_secs(5))
            .unwrap();
        let calls = [
            ToolCall::new("1", "nap", json!({"secs": 2})),
            ToolCall::new("2", "nap", json!({"secs": 0})),
            ToolCall::new("3", "nap", json!({"secs": 9})),
            ToolCall::new("4", "nap", json!({"sec": 1})),
            ToolCall::from_raw("5", "nap", "{\"secs\": "),
            // A name the model made up never becomes a label value.
            ToolCall::new("6", "sk-made-up-by-the-model", json!({})),
        ];
        let results = tools.call_all(&calls).await;
        assert_eq!(results[0].content, "slept 2s");
        assert!(results[1..].iter().all(|r| r.is_error), "{results:?}");
    });

    assert_eq!(
        snapshot(&recorder),
        BTreeMap::from(
            [
                ("flow_tool_calls_total{outcome=ok,tool=nap}", 1),
                ("flow_tool_calls_total{outcome=failed,tool=nap}", 1),
                ("flow_tool_calls_total{outcome=timed_out,tool=nap}", 1),
                (
                    "flow_tool_calls_total{outcome=invalid_arguments,tool=nap}",
                    1
                ),
                (
                    "flow_tool_calls_total{outcome=arguments_not_json,tool=nap}",
                    1
                ),
                (
                    "flow_tool_calls_total{outcome=unknown_tool,tool=(unknown)}",
                    1
                ),
                ("flow_tool_duration_seconds{tool=nap}", 5),
                ("flow_tool_duration_seconds{tool=(unknown)}", 1),
            ]
            .map(|(k, v)| (k.to_owned(), v))
        )
    );

    let closed: Vec<&str> = traced.lines().filter(|l| l.contains("close")).collect();
    assert_eq!(closed.len(), 6, "{traced}");
    for (outcome, duration) in [
        ("ok", "duration_ms=2000"),
        ("failed", "duration_ms=0"),
        ("timed_out", "duration_ms=5000"),
    ] {
        assert!(
            closed.iter().any(|l| l.contains("tool.call{tool=\"nap\"")
                && l.contains(&format!("outcome=\"{outcome}\""))
                && l.contains(duration)),
            "{outcome}: {traced}"
        );
    }
    assert!(
        closed
            .iter()
            .any(|l| l.contains("tool=\"(unknown)\"") && l.contains("outcome=\"unknown_tool\"")),
        "{traced}"
    );
    // The span's `tool` field is the toolbox's name too; the model's text is only in the
    // error message, which the model is sent back anyway.
    assert!(!traced.contains("tool=\"sk-made-up"), "{traced}");
}

/// A call dropped before it ends (the run's timeout, a cancellation) still counts, as
/// `cancelled`, with the time it ran, and its span says so.
#[test]
fn a_call_dropped_before_it_ends_counts_as_cancelled() {
    let (recorder, traced) = observe(async {
        let tools = Toolbox::new().with_tool(Nap).unwrap();
        let call = ToolCall::new("1", "nap", json!({"secs": 60}));
        let cut = tokio::time::timeout(Duration::from_secs(3), tools.dispatch(&call)).await;
        assert!(cut.is_err(), "the call was cut");
    });
    assert_eq!(
        snapshot(&recorder),
        BTreeMap::from(
            [
                ("flow_tool_calls_total{outcome=cancelled,tool=nap}", 1),
                ("flow_tool_duration_seconds{tool=nap}", 1),
            ]
            .map(|(k, v)| (k.to_owned(), v))
        )
    );
    assert!(
        traced.lines().any(|l| l.contains("close")
            && l.contains("outcome=\"cancelled\"")
            && l.contains("duration_ms=3000")),
        "{traced}"
    );
    assert!(
        traced.contains("tool call cancelled before it ended"),
        "{traced}"
    );
}
