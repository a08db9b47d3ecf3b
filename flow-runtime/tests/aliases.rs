//! A node used under an alias (`node first_try = stall;`): its policies' tracing events,
//! attempt spans, observer events and errors name the alias, as the flow's hooks do, and
//! never the function.

#![allow(clippy::unwrap_used)] // reason: test helpers outside #[test] fns

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt as _;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event as TracingEvent, Subscriber};
use tracing_subscriber::layer::{Context as LayerContext, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use typedflow::events::Event;
use typedflow::prelude::*;

/// Every attempt hangs past its timeout: one retry after a wait for a rate-limit permit,
/// then the breaker opens (two failures) and the next call is refused.
#[node(
    retry(attempts = 2, backoff = constant(1ms), jitter = none),
    timeout = 10ms,
    rate_limit = 1/s,
    circuit_breaker(failures = 2, cool_down = 60s)
)]
async fn stall(x: u32) -> Result<u32, std::io::Error> {
    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    Ok(x)
}

graph! {
    Aliased(u32) -> u32 {
        node first_try = stall;
        START -> first_try -> END;
    }
}

/// The `node` field of every policy event and attempt span, with the event's message.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<String>>>);

#[derive(Default)]
struct Fields {
    node: String,
    message: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "node" {
            self.node = value.to_owned();
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "node" => self.node = format!("{value:?}").trim_matches('"').to_owned(),
            _ => {}
        }
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: LayerContext<'_, S>) {
        if attrs.metadata().name() == "flow.attempt" {
            let mut fields = Fields::default();
            attrs.record(&mut fields);
            self.0
                .lock()
                .unwrap()
                .push(format!("span flow.attempt node={}", fields.node));
        }
    }

    fn on_event(&self, event: &TracingEvent<'_>, _ctx: LayerContext<'_, S>) {
        if event.metadata().target() != typedflow::policy::TRACING_TARGET {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut line = String::new();
        let _ = write!(line, "{} node={}", fields.message, fields.node);
        self.0.lock().unwrap().push(line);
    }
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
fn policy_events_and_errors_name_the_alias_not_the_function() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry()
        .with(tracing::level_filters::LevelFilter::TRACE)
        .with(capture.clone());
    let (events, refused) = tracing::subscriber::with_default(subscriber, || {
        tracing::callsite::rebuild_interest_cache();
        block_on(async {
            let flow = Aliased::new(());
            let events: Vec<Event> = flow.run(1).stream().collect().await;
            let refused = flow.run(2).await.unwrap_err();
            (events, refused)
        })
    });
    let lines = capture.0.lock().unwrap().clone();
    assert!(
        lines.iter().all(|l| l.ends_with("node=first_try")),
        "every policy event names the alias: {lines:#?}"
    );
    for expected in [
        "span flow.attempt",
        "attempt timed out",
        "retry scheduled",
        "waited for a rate-limit permit",
        "circuit breaker opened",
        "call refused by the circuit breaker",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(expected)),
            "no `{expected}` in {lines:#?}"
        );
    }
    // The stream's policy events, fed through the observer, name it too.
    let policy_nodes: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::RetryScheduled { node, .. }
            | Event::AttemptTimedOut { node, .. }
            | Event::RateLimited { node, .. }
            | Event::BreakerChanged { node, .. } => Some(*node),
            _ => None,
        })
        .collect();
    assert!(policy_nodes.len() >= 4, "{events:#?}");
    assert!(policy_nodes.iter().all(|n| *n == "first_try"));
    // The open circuit's error, as the run's cause, names the alias.
    assert_eq!(refused.node(), Some("first_try"));
    let mut chain = Vec::new();
    let mut cause = std::error::Error::source(&refused);
    while let Some(err) = cause {
        chain.push(err.to_string());
        cause = err.source();
    }
    assert!(
        chain
            .iter()
            .any(|c| c == "the circuit breaker of node `first_try` is open"),
        "{chain:?}"
    );
}

#[test]
fn the_state_of_an_aliased_node_is_named_by_the_alias() {
    let state = <stall as Node>::state_named("first_try");
    assert_eq!(state.node(), "first_try");
    assert_eq!(state.breaker().unwrap().node(), "first_try");
    // Built for its own name, it keeps the function's.
    assert_eq!(<stall as Node>::state().node(), "stall");
}
