//! The `observe` example's metrics through a real Prometheus server: scraped, stored and
//! read back through its HTTP API (`/api/v1/query`), the run counter as a number and the
//! duration histograms as quantiles.
//!
//! It needs a Prometheus on loopback that scrapes a running `observe` example;
//! `.ci/prometheus.sh` starts both and sets:
//!
//! | variable | what | example |
//! |---|---|---|
//! | `FLOW_TEST_PROMETHEUS_URL` | Prometheus's root URL | `http://127.0.0.1:9391` |
//! | `FLOW_TEST_PROMETHEUS_RUNS` | the runs the example made (its `FLOW_RUNS`, default 5) | `5` |
//!
//! Skipped, with a note on stderr, only when `FLOW_TEST_PROMETHEUS_URL` is unset. When it
//! is set and Prometheus does not answer, or never sees the runs, the test fails.
//!
//! Run with `cargo test -p typedflow-examples --test prometheus`.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Prometheus's address from `FLOW_TEST_PROMETHEUS_URL`, `None` when it is unset.
fn prometheus_addr() -> Option<SocketAddr> {
    let url = std::env::var("FLOW_TEST_PROMETHEUS_URL").ok()?;
    let url = url.trim();
    if url.is_empty() {
        return None;
    }
    let host = url
        .strip_prefix("http://")
        .unwrap_or(url)
        .trim_end_matches('/');
    Some(
        host.parse()
            .unwrap_or_else(|_| panic!("FLOW_TEST_PROMETHEUS_URL={url:?} is not http://IP:PORT")),
    )
}

/// `query` with everything but RFC 3986's unreserved characters percent-encoded.
fn url_encode(query: &str) -> String {
    query
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The samples of an instant query: `data.result`, for a query that returns a vector.
fn query(prometheus: SocketAddr, promql: &str) -> Vec<Value> {
    let (status, body) = common::http_get(
        prometheus,
        &format!("/api/v1/query?query={}", url_encode(promql)),
    );
    assert_eq!(status, 200, "{promql}: {body}");
    let response: Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{promql}: {e}: {body}"));
    assert_eq!(response["status"], "success", "{promql}: {body}");
    assert_eq!(response["data"]["resultType"], "vector", "{promql}: {body}");
    response["data"]["result"]
        .as_array()
        .unwrap_or_else(|| panic!("{promql}: no result list in {body}"))
        .clone()
}

/// The value of the query's only sample; `None` when the result is empty.
fn only_value(prometheus: SocketAddr, promql: &str) -> Option<f64> {
    let samples = query(prometheus, promql);
    assert!(
        samples.len() <= 1,
        "{promql}: more than one series: {samples:?}"
    );
    let sample = samples.first()?;
    // A sample is `[unix time, "value"]`, the value a string ("NaN" and "+Inf" included).
    let value = sample["value"][1]
        .as_str()
        .unwrap_or_else(|| panic!("{promql}: no value in {sample}"));
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{promql}: {value:?} is not a number")),
    )
}

/// Waits until the query's only sample equals `expected` (Prometheus scrapes every
/// second or so, and the example makes its runs meanwhile).
fn wait_for(prometheus: SocketAddr, promql: &str, expected: f64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let value = only_value(prometheus, promql);
        if value == Some(expected) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{promql} is {value:?} after 60 s, expected {expected}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn prometheus_stores_the_runs_and_the_duration_histograms() {
    let Some(prometheus) = prometheus_addr() else {
        eprintln!("skipping: FLOW_TEST_PROMETHEUS_URL is not set (see .ci/prometheus.sh)");
        return;
    };
    let runs: f64 = std::env::var("FLOW_TEST_PROMETHEUS_RUNS").map_or(5.0, |v| {
        v.trim()
            .parse()
            .expect("FLOW_TEST_PROMETHEUS_RUNS is a number")
    });

    wait_for(
        prometheus,
        r#"flow_runs_total{flow="Writer",outcome="ok"}"#,
        runs,
    );
    // Every run is counted in the run histogram too, and `draft` retried once in each.
    wait_for(
        prometheus,
        r#"flow_run_duration_seconds_count{flow="Writer"}"#,
        runs,
    );
    wait_for(
        prometheus,
        r#"flow_node_retries_total{flow="Writer",node="draft"}"#,
        runs,
    );

    // Quantiles come from the buckets, so the exporter must send a histogram: a summary
    // has no `_bucket` series, and the result would be empty.
    let run_p50 = only_value(
        prometheus,
        r#"histogram_quantile(0.5, sum by (le) (flow_run_duration_seconds_bucket{flow="Writer"}))"#,
    )
    .expect("a median run duration, from the buckets");
    // Each run waits 50 ms before it retries `draft`, then sleeps through six nodes.
    assert!(
        (0.05..=120.0).contains(&run_p50),
        "median run duration {run_p50} s"
    );
    let polish_p90 = only_value(
        prometheus,
        r#"histogram_quantile(0.9, sum by (le) (flow_node_duration_seconds_bucket{flow="Writer",node="polish"}))"#,
    )
    .expect("a 90th percentile of `polish`, from the buckets");
    // `polish` sleeps 15 ms: its calls fall in the buckets above 10 ms.
    assert!(
        (0.01..=120.0).contains(&polish_p90),
        "90th percentile of polish {polish_p90} s"
    );
}
