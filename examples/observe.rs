//! Observability: Prometheus metrics on 127.0.0.1, and the live event stream of each run
//! printed as it goes, with a progress line.
//!
//! ```text
//! cargo run --example observe      # 5 runs, then serves 127.0.0.1:9464/metrics until Ctrl-C
//! curl -s 127.0.0.1:9464/metrics | grep ^flow_          # from another terminal
//! FLOW_METRICS_ADDR=127.0.0.1:9500 FLOW_RUNS=20 FLOW_SERVE_SECS=60 cargo run --example observe
//! ```
//!
//! `FLOW_SERVE_SECS` bounds how long the metrics stay up after the runs (`0`: exit at
//! once); without it the example serves until it is stopped.

use std::io::Write as _;
use std::time::Duration;

use futures_util::StreamExt;
use typedflow::events::Event;
use typedflow_examples::observe::{serve_metrics, writer};
use typedflow_providers::Report;

/// The variable's value, `None` when it is unset, an error when it does not parse.
fn env_var<T: std::str::FromStr>(name: &str) -> Result<Option<T>, Report> {
    match std::env::var(name) {
        Ok(value) => value
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| Report::boxed(format!("{name}={value:?} is not valid here").into())),
        Err(_) => Ok(None),
    }
}

/// Errors come out as sentences with their causes (`Report`), not as a `Debug` dump.
#[tokio::main]
async fn main() -> Result<(), Report> {
    let addr = env_var("FLOW_METRICS_ADDR")?
        .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 9464)));
    let runs: u32 = env_var("FLOW_RUNS")?.unwrap_or(5);
    let serve_secs: Option<u64> = env_var("FLOW_SERVE_SECS")?;
    serve_metrics(addr).map_err(Report::boxed)?;
    println!("metrics on http://{addr}/metrics");

    let flow = writer();
    for run in 1..=runs {
        let mut events = flow.run(format!("topic {run}")).stream();
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
                _ => {}
            }
        }
        println!();
        match events.output().await {
            Ok(text) => println!("  -> {text} after {steps} steps"),
            Err(err) => println!("  -> failed: {err}"),
        }
    }
    // Prometheus scrapes every few seconds: the metrics stay up after the runs.
    match serve_secs {
        Some(0) => {}
        Some(secs) => {
            println!("serving http://{addr}/metrics for {secs} s");
            tokio::time::sleep(Duration::from_secs(secs)).await;
        }
        None => {
            println!("serving http://{addr}/metrics until Ctrl-C");
            tokio::signal::ctrl_c().await?;
        }
    }
    Ok(())
}
