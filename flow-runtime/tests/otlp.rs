//! The `otlp` feature against an OTLP/HTTP receiver of our own on 127.0.0.1: the spans of
//! traced runs (a route, a loop, a retry, a failure, a caller's span) arrive as protobuf
//! with the names, fields and parent links of `docs/observability.md`, and the guide's
//! example is the one this crate compiles.

#![allow(clippy::unwrap_used)] // reason: test helpers outside #[test] fns

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value::Value};
use opentelemetry_proto::tonic::trace::v1::{Span, span::SpanKind};
use prost::Message as _;
use tracing::Instrument as _;
use tracing_subscriber::layer::SubscriberExt as _;
use typedflow::otlp::{self, OtlpError};
use typedflow::prelude::*;
use typedflow::telemetry::Traced;

// The flow of tests/telemetry.rs (plus the run ids), so that the exported tree below reads
// line for line against its `span_tree` snapshot of the same runs.

enum Next {
    Again(u32),
    Done(u32),
}

/// The run ids the nodes saw, in order, to compare with the exported `run_id`s.
static RUN_IDS: Mutex<Vec<String>> = Mutex::new(Vec::new());

#[node(retry(attempts = 2, backoff = constant(1ms), jitter = none))]
async fn bump(x: u32, cx: &Context) -> Result<u32, std::io::Error> {
    let id = cx.run_id().to_string();
    let mut ids = RUN_IDS.lock().unwrap();
    if ids.last() != Some(&id) {
        ids.push(id);
    }
    drop(ids);
    tracing::info!(x, "bumping");
    // The first call with 1 fails once and is retried.
    static FAILED: AtomicBool = AtomicBool::new(false);
    if x == 1 && !FAILED.swap(true, Ordering::SeqCst) {
        return Err(std::io::Error::from(std::io::ErrorKind::TimedOut));
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

/// One request the receiver read: its request line and content type, and the decoded
/// body, or why it could not be read.
#[derive(Debug)]
struct Post {
    method: String,
    path: String,
    content_type: Option<String>,
    body: Result<ExportTraceServiceRequest, String>,
}

/// An OTLP/HTTP receiver on 127.0.0.1 that answers every request with `status` and keeps
/// what it was sent. Each connection is served on a thread (the exporter keeps its
/// connection alive between batches); the threads end with the test process.
///
/// It is std's blocking TCP rather than tokio's: tokio's `net` and `io-util` would have to
/// go into the dev-dependencies, for every test build, or into the `otlp` feature. On its
/// own threads it also answers while the test blocks in `flush`.
struct Receiver {
    endpoint: String,
    posts: Arc<Mutex<Vec<Post>>>,
}

impl Receiver {
    fn start(status: &'static str) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let posts = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&posts);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let keep = Arc::clone(&keep);
                std::thread::spawn(move || serve(stream, status, &keep));
            }
        });
        Receiver { endpoint, posts }
    }

    /// The requests so far, each checked to be a well-formed OTLP/HTTP protobuf export.
    fn exports(&self) -> Vec<ExportTraceServiceRequest> {
        let posts = std::mem::take(&mut *self.posts.lock().unwrap());
        posts
            .into_iter()
            .map(|post| {
                assert_eq!(
                    (post.method.as_str(), post.path.as_str()),
                    ("POST", "/v1/traces")
                );
                assert_eq!(post.content_type.as_deref(), Some("application/x-protobuf"));
                post.body.unwrap()
            })
            .collect()
    }
}

/// Reads HTTP/1.1 requests from `stream` until it closes, answering each.
fn serve(stream: TcpStream, status: &str, posts: &Mutex<Vec<Post>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut words = line.split_whitespace();
        let method = words.next().unwrap_or_default().to_owned();
        let path = words.next().unwrap_or_default().to_owned();
        let mut headers = HashMap::new();
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap();
            headers.insert(name.to_ascii_lowercase(), value.trim().to_owned());
        }
        let body = match headers.get("content-length").map(|n| n.parse::<usize>()) {
            Some(Ok(length)) => {
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                ExportTraceServiceRequest::decode(body.as_slice()).map_err(|e| e.to_string())
            }
            _ => Err(format!("no content-length in {headers:?}")),
        };
        posts.lock().unwrap().push(Post {
            method,
            path,
            content_type: headers.remove("content-type"),
            body,
        });
        let answer = ExportTraceServiceResponse::default().encode_to_vec();
        write!(
            writer,
            "HTTP/1.1 {status}\r\ncontent-type: application/x-protobuf\r\n\
             content-length: {}\r\n\r\n",
            answer.len()
        )
        .unwrap();
        writer.write_all(&answer).unwrap();
    }
}

/// An attribute's value as the test writes it: strings quoted, numbers bare.
fn show(attribute: &KeyValue) -> String {
    match attribute.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => format!("{s:?}"),
        Some(Value::IntValue(n)) => n.to_string(),
        Some(Value::BoolValue(b)) => b.to_string(),
        other => format!("{other:?}"),
    }
}

/// The spans as an indented tree, one line per span (name and attributes, sorted, a
/// `run_id` shown as the run it belongs to), children in the order they started. Events
/// are shown by their name, under their span's line. String values are quoted, so the
/// tree also pins the attributes' types: `step` and `attempt` are strings, since
/// tracing-opentelemetry exports unsigned integers (`u32` fields) as text.
fn tree(spans: &[Span], run_ids: &[String]) -> String {
    fn add(out: &mut String, spans: &[Span], parent: &[u8], run_ids: &[String], depth: usize) {
        let mut children: Vec<&Span> = spans
            .iter()
            .filter(|s| s.parent_span_id == parent)
            .collect();
        children.sort_by_key(|s| s.start_time_unix_nano);
        for span in children {
            let mut attributes: Vec<String> = span
                .attributes
                .iter()
                .map(|a| match (a.key.as_str(), show(a)) {
                    ("run_id", id) => match run_ids.iter().position(|r| format!("{r:?}") == id) {
                        Some(i) => format!("run_id=<run {}>", i + 1),
                        None => format!("run_id={id} (not a run id the nodes saw)"),
                    },
                    (key, value) => format!("{key}={value}"),
                })
                .collect();
            attributes.sort();
            let indent = "  ".repeat(depth);
            out.push_str(&format!("{indent}{} {}\n", span.name, attributes.join(" ")));
            for event in &span.events {
                out.push_str(&format!("{indent}  - {}\n", event.name));
            }
            add(out, spans, &span.span_id, run_ids, depth + 1);
        }
    }
    let mut out = String::new();
    add(&mut out, spans, &[], run_ids, 0);
    out
}

#[test]
fn traced_runs_arrive_as_otlp_spans_with_their_names_fields_and_parents() {
    let receiver = Receiver::start("200 OK");
    let (layer, guard) = otlp::layer(&receiver.endpoint, "otlp-test").unwrap();
    let subscriber = tracing_subscriber::registry().with(layer);
    let flow = Count::new(()).with_hook(Traced);
    tracing::subscriber::with_default(subscriber, || {
        // Callsites cache their interest process-wide.
        tracing::callsite::rebuild_interest_cache();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let request = tracing::info_span!("request", user = "ada");
            assert_eq!(
                flow.run(1).into_future().instrument(request).await.unwrap(),
                3
            );
            assert!(flow.run(49).await.is_err());
        });
    });
    // The receiver runs on threads of its own: blocking here is fine.
    guard.flush().unwrap();

    let exports = receiver.exports();
    assert!(!exports.is_empty(), "nothing was exported");
    let mut spans = Vec::new();
    for export in exports {
        for resource_spans in export.resource_spans {
            let resource = resource_spans.resource.unwrap();
            let service = resource.attributes.iter().find(|a| a.key == "service.name");
            assert_eq!(service.map(show).as_deref(), Some("\"otlp-test\""));
            for scope_spans in resource_spans.scope_spans {
                let scope = scope_spans.scope.unwrap();
                assert_eq!(
                    (scope.name.as_str(), scope.version.as_str()),
                    ("typedflow", env!("CARGO_PKG_VERSION"))
                );
                spans.extend(scope_spans.spans);
            }
        }
    }

    let run_ids = RUN_IDS.lock().unwrap().clone();
    assert_eq!(run_ids.len(), 2, "{run_ids:?}");
    assert_eq!(
        tree(&spans, &run_ids),
        "\
request user=\"ada\"
  flow.run flow=\"Count\" outcome=\"ok\" run_id=<run 1>
    flow.node flow=\"Count\" node=\"bump\" outcome=\"ok\" step=\"1\"
      - retry scheduled
      flow.attempt attempt=\"1\" node=\"bump\" outcome=\"error\"
        - bumping
      flow.attempt attempt=\"2\" node=\"bump\" outcome=\"ok\"
        - bumping
    flow.node flow=\"Count\" node=\"check\" outcome=\"ok\" step=\"2\"
    flow.node flow=\"Count\" node=\"bump\" outcome=\"ok\" step=\"3\"
      flow.attempt attempt=\"1\" node=\"bump\" outcome=\"ok\"
        - bumping
    flow.node flow=\"Count\" node=\"check\" outcome=\"ok\" step=\"4\"
flow.run flow=\"Count\" outcome=\"error\" run_id=<run 2>
  - run failed
  flow.node flow=\"Count\" node=\"bump\" outcome=\"ok\" step=\"1\"
    flow.attempt attempt=\"1\" node=\"bump\" outcome=\"ok\"
      - bumping
  flow.node flow=\"Count\" node=\"check\" outcome=\"error\" step=\"2\"
"
    );

    // Every span is in its parent's trace, and the two runs are two traces.
    let by_id: HashMap<&[u8], &Span> = spans.iter().map(|s| (&s.span_id[..], s)).collect();
    for span in &spans {
        assert_eq!(span.kind, SpanKind::Internal as i32, "{}", span.name);
        assert!(span.start_time_unix_nano <= span.end_time_unix_nano);
        if let Some(parent) = by_id.get(&span.parent_span_id[..]) {
            assert_eq!(span.trace_id, parent.trace_id, "{}", span.name);
        }
    }
    let mut traces: Vec<&[u8]> = spans.iter().map(|s| &s.trace_id[..]).collect();
    traces.sort();
    traces.dedup();
    assert_eq!(traces.len(), 2);

    guard.shutdown().unwrap();
}

#[test]
fn a_refused_export_is_an_error_of_flush() {
    let receiver = Receiver::start("400 Bad Request");
    let (layer, guard) = otlp::layer(&receiver.endpoint, "otlp-test").unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        tracing::callsite::rebuild_interest_cache();
        drop(tracing::info_span!("refused").entered());
    });
    let err = guard.flush().unwrap_err();
    assert!(matches!(err, OtlpError::Flush { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "could not send the spans to the OTLP endpoint"
    );
    assert!(std::error::Error::source(&err).is_some());
    // The receiver did get the span; the exporter took its answer as a refusal.
    assert_eq!(receiver.exports().len(), 1);
    // Nothing is left to send.
    assert!(guard.shutdown().is_ok());
}

#[test]
fn an_endpoint_that_is_not_http_is_refused() {
    let err = otlp::layer::<tracing_subscriber::Registry>("127.0.0.1:4318", "otlp-test")
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "the OTLP endpoint `127.0.0.1:4318` is not an http:// or https:// URL"
    );
}

/// The program of the guide's section on OpenTelemetry (which the guide cannot compile:
/// its doctests run without the `otlp` feature) is the module's example, which is.
#[test]
fn the_guide_shows_the_example_this_crate_compiles() {
    let module = include_str!("../src/otlp.rs");
    let compiled: Vec<&str> = module
        .lines()
        .map_while(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .skip_while(|l| *l != "```no_run")
        .skip(1)
        .take_while(|l| *l != "```")
        .collect();
    assert!(compiled.len() > 10, "no example in src/otlp.rs");
    let guide = include_str!("../docs/observability.md");
    let section = &guide[guide.find("## OpenTelemetry").unwrap()..];
    let shown: Vec<&str> = section
        .lines()
        .skip_while(|l| *l != "```rust,ignore")
        .skip(1)
        .take_while(|l| *l != "```")
        .collect();
    assert_eq!(shown, compiled);
}
