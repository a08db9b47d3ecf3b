//! Scrapes the `observe` example's Prometheus endpoint over loopback after some runs and
//! finds the flow's series.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};

use typedflow_examples::observe::{serve_metrics, writer};

fn free_loopback_port() -> SocketAddr {
    // Bind to port 0, learn the port, release it for the exporter.
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    listener.local_addr().expect("the bound address")
}

fn scrape(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).expect("the exporter listens");
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("request sent");
    let mut body = String::new();
    stream.read_to_string(&mut body).expect("response read");
    body
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
    let body = tokio::task::spawn_blocking(move || scrape(addr))
        .await
        .expect("scrape");
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(
        body.contains("flow_runs_total{flow=\"Writer\",outcome=\"ok\"} 3"),
        "{body}"
    );
    assert!(body.contains("flow_node_duration_seconds"), "{body}");
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
