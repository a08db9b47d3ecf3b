//! Observability: Prometheus metrics on 127.0.0.1, and the live event stream of each run
//! printed as it goes, with a progress line.
//!
//! ```text
//! cargo run --example observe                       # 5 runs, metrics on 127.0.0.1:9464
//! FLOW_METRICS_ADDR=127.0.0.1:9500 FLOW_RUNS=20 FLOW_SERVE_SECS=60 cargo run --example observe
//! curl -s 127.0.0.1:9464/metrics | grep ^flow_
//! ```

use std::io::Write as _;
use std::time::Duration;

use futures_util::StreamExt;
use typedflow::events::Event;
use typedflow::prelude::*;
use typedflow_examples::observe::{serve_metrics, writer};
use typedflow_providers::Report;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Errors come out as sentences with their causes (`Report`), not as a `Debug` dump.
#[tokio::main]
async fn main() -> Result<(), Report> {
    let addr = env_or(
        "FLOW_METRICS_ADDR",
        std::net::SocketAddr::from(([127, 0, 0, 1], 9464)),
    );
    let runs: u32 = env_or("FLOW_RUNS", 5);
    let serve_secs: u64 = env_or("FLOW_SERVE_SECS", 0);
    serve_metrics(addr).map_err(Report::boxed)?;
    println!("metrics on http://{addr}/metrics");

    let flow = writer();
    for run in 1..=runs {
        let mut events = Box::pin(flow.stream(format!("topic {run}")));
        let mut steps = 0;
        while let Some(event) = events.next().await {
            match event {
                Event::RunStarted { run_id, .. } => println!("run {run}/{runs} ({run_id})"),
                Event::NodeStarted { node, step } => {
                    steps = step;
                    print!("\r  step {step:>2}: {node:<8}");
                    std::io::stdout().flush()?;
                }
                Event::Token { text, .. } => {
                    print!("{text}");
                    std::io::stdout().flush()?;
                }
                Event::RetryScheduled {
                    node,
                    attempt,
                    delay,
                    ..
                } => {
                    print!(
                        "\r  step {steps:>2}: {node:<8} attempt {attempt} failed, retry in {delay:?} "
                    );
                    std::io::stdout().flush()?;
                }
                Event::NodeFinished {
                    node,
                    duration,
                    error,
                    ..
                } => {
                    let mark = error.map_or("ok".to_string(), |kind| format!("failed ({kind})"));
                    print!("\r  step {steps:>2}: {node:<8} {mark} in {duration:?}    ");
                    std::io::stdout().flush()?;
                }
                Event::RunFinished(result) => {
                    println!();
                    match result {
                        Ok(text) => println!("  -> {text} after {steps} steps"),
                        Err(err) => println!("  -> failed: {err}"),
                    }
                }
                _ => {}
            }
        }
    }
    if serve_secs > 0 {
        println!("serving metrics for {serve_secs} s");
        tokio::time::sleep(Duration::from_secs(serve_secs)).await;
    }
    Ok(())
}
