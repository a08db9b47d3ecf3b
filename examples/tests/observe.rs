//! Scrapes the `observe` example's Prometheus endpoint over loopback after some runs and
//! finds the flow's series.

mod common;

use std::net::{SocketAddr, TcpListener};

use typedflow_examples::observe::{serve_metrics, writer};

fn free_loopback_port() -> SocketAddr {
    // Bind to port 0, learn the port, release it for the exporter.
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    listener.local_addr().expect("the bound address")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_endpoint_shows_the_flows_series() {
    let addr = free_loopback_port();
    serve_metrics(addr).expect("exporter installed");
    let flow = writer();
    for n in 0..3 {
        flow.run(format!("topic {n}"))
            .await
            .expect("the flow cannot fail");
    }
    let (status, body) = tokio::task::spawn_blocking(move || common::http_get(addr, "/metrics"))
        .await
        .expect("scrape");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("flow_runs_total{flow=\"Writer\",outcome=\"ok\"} 3"),
        "{body}"
    );
    // Histograms with buckets, as documented, not summaries: Prometheus computes
    // quantiles from the buckets (`histogram_quantile`), over time and across processes.
    for name in ["flow_run_duration_seconds", "flow_node_duration_seconds"] {
        assert!(
            body.contains(&format!("# TYPE {name} histogram")),
            "{name} is not a histogram:\n{body}"
        );
    }
    assert!(
        body.contains("flow_run_duration_seconds_bucket{flow=\"Writer\",le=\"+Inf\"} 3"),
        "{body}"
    );
    assert!(
        body.contains("flow_run_duration_seconds_count{flow=\"Writer\"} 3"),
        "{body}"
    );
    assert!(
        !body.contains("quantile="),
        "a summary is exported:\n{body}"
    );
    // `draft` is refused on every other attempt: one retry per run.
    assert!(
        body.contains("flow_node_retries_total{flow=\"Writer\",node=\"draft\"} 3"),
        "{body}"
    );
    assert!(body.contains("node=\"polish\""), "{body}");
    assert!(
        body.contains("flow_runs_in_flight{flow=\"Writer\"} 0"),
        "{body}"
    );
}

#[test]
fn metrics_are_served_on_loopback_only() {
    let err = serve_metrics(SocketAddr::from(([10, 1, 2, 3], 9464))).unwrap_err();
    assert!(err.to_string().contains("loopback"), "{err}");
}
