//! Streams over a raw HTTP server that writes exactly the pieces a test asks for: an
//! event split across network chunks (even inside a UTF-8 character), a stall, a
//! dropped connection, a clean end without the finish event.

#![cfg(all(feature = "openai", feature = "anthropic"))]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly; helpers outside #[test] fns unwrap too"
)]

mod common;

use std::time::Duration;

use common::{End, Step, raw_server, sse};
use futures::StreamExt as _;
use serde_json::json;
use typedflow_providers::{
    AnthropicBuilder, AnthropicClient, ChatModel, ChatRequest, ConfigError, ErrorKind,
    FinishReason, OpenAiBuilder, OpenAiClient, StreamEvent,
};

fn delta(text: &str) -> String {
    json!({"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]})
        .to_string()
}

fn finish() -> String {
    json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}).to_string()
}

fn client(base: &str, read_timeout: Duration) -> OpenAiClient {
    OpenAiClient::builder()
        .ignore_env()
        .base_url(format!("{base}/v1"))
        .model("m")
        .read_timeout(read_timeout)
        .build()
        .unwrap()
}

/// Splits `bytes` into chunks at the given offsets, with a pause after each so they
/// travel as separate reads.
fn pieces(bytes: &[u8], at: &[usize]) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut start = 0;
    for &end in at.iter().chain(std::iter::once(&bytes.len())) {
        steps.push(Step::Chunk(bytes[start..end].to_vec()));
        steps.push(Step::Sleep(Duration::from_millis(20)));
        start = end;
    }
    steps
}

async fn events(base: &str, read_timeout: Duration) -> Vec<Result<StreamEvent, ErrorKind>> {
    let stream = client(base, read_timeout)
        .chat_stream(&ChatRequest::new().user("hi"))
        .await
        .unwrap();
    stream.map(|e| e.map_err(|e| e.kind())).collect().await
}

#[tokio::test]
async fn an_event_split_across_chunks_inside_a_character_is_reassembled() {
    let body = sse(&[&delta("Grüße 😀"), &finish(), "[DONE]"]);
    let bytes = body.as_bytes();
    // Inside "data:", inside the JSON, inside the two-byte "ü", inside the four-byte
    // emoji, and between the two newlines that end an event.
    let u = body.find('ü').unwrap();
    let emoji = body.find('😀').unwrap();
    let blank = body.find("\n\n").unwrap();
    let at = [3, 12, u + 1, emoji + 1, emoji + 3, blank + 1];
    let base = raw_server(pieces(bytes, &at), End::Clean).await;
    assert_eq!(
        events(&base, Duration::from_secs(5)).await,
        vec![
            Ok(StreamEvent::Delta("Grüße 😀".into())),
            Ok(StreamEvent::Finish {
                reason: FinishReason::Stop,
                usage: None,
                model: None
            }),
        ]
    );
}

#[tokio::test]
async fn a_clean_end_without_the_finish_is_a_cut_stream() {
    let body = sse(&[&delta("The answer is")]);
    let base = raw_server(pieces(body.as_bytes(), &[]), End::Clean).await;
    assert_eq!(
        events(&base, Duration::from_secs(5)).await,
        vec![
            Ok(StreamEvent::Delta("The answer is".into())),
            Err(ErrorKind::StreamCut)
        ]
    );
}

#[tokio::test]
async fn a_dropped_connection_mid_stream_is_a_network_error() {
    let body = sse(&[&delta("The answer is")]);
    let base = raw_server(pieces(body.as_bytes(), &[]), End::Drop).await;
    let got = events(&base, Duration::from_secs(5)).await;
    assert_eq!(got[0], Ok(StreamEvent::Delta("The answer is".into())));
    assert_eq!(got[1..], [Err(ErrorKind::Network)], "{got:?}");
}

#[tokio::test]
async fn a_stalled_stream_times_out() {
    let mut steps = pieces(sse(&[&delta("a")]).as_bytes(), &[]);
    steps.push(Step::Sleep(Duration::from_secs(5)));
    steps.extend(pieces(sse(&[&finish(), "[DONE]"]).as_bytes(), &[]));
    let base = raw_server(steps, End::Clean).await;
    let got = events(&base, Duration::from_millis(300)).await;
    assert_eq!(
        got,
        vec![Ok(StreamEvent::Delta("a".into())), Err(ErrorKind::Timeout)]
    );
}

#[tokio::test]
async fn invalid_utf8_in_the_stream_is_a_bad_response() {
    let mut bytes = b"data: {\"choices\": [{\"delta\": {\"content\": \"".to_vec();
    bytes.extend_from_slice(b"\xff\xfe\"}}]}\n\n");
    let base = raw_server(pieces(&bytes, &[]), End::Clean).await;
    assert_eq!(
        events(&base, Duration::from_secs(5)).await,
        vec![Err(ErrorKind::BadResponse)]
    );
}

/// Durations too long for the clock must not panic when a request is made: `build()`
/// refuses them with a `ConfigError` naming the setting.
#[tokio::test]
async fn huge_timeouts_are_refused_when_built_never_panic_at_call_time() {
    let server = raw_server(
        pieces(sse(&[&delta("hi"), &finish(), "[DONE]"]).as_bytes(), &[]),
        End::Clean,
    )
    .await;
    type Set = fn(OpenAiBuilder, Duration) -> OpenAiBuilder;
    let setters: [(&str, Set); 3] = [
        ("timeout", OpenAiBuilder::timeout),
        ("connect_timeout", OpenAiBuilder::connect_timeout),
        ("read_timeout", OpenAiBuilder::read_timeout),
    ];
    for (setting, set) in setters {
        for huge in [Duration::MAX, Duration::from_secs(u64::MAX / 2)] {
            let builder = OpenAiClient::builder()
                .ignore_env()
                .base_url(format!("{server}/v1"))
                .model("m");
            let err = set(builder, huge).build().unwrap_err();
            assert!(
                matches!(&err, ConfigError::InvalidTimeout { setting: s, .. } if *s == setting),
                "{setting}: {err:?}"
            );
            assert!(err.to_string().contains(setting), "{err}");
            let builder = AnthropicClient::builder()
                .ignore_env()
                .base_url(&server)
                .model("m");
            let set: fn(AnthropicBuilder, Duration) -> AnthropicBuilder = match setting {
                "timeout" => AnthropicBuilder::timeout,
                "connect_timeout" => AnthropicBuilder::connect_timeout,
                _ => AnthropicBuilder::read_timeout,
            };
            assert!(set(builder, huge).build().is_err(), "{setting}");
        }
    }
    // The largest accepted value works end to end.
    let reply = client(&server, Duration::from_secs(365 * 24 * 3600))
        .chat_stream(&ChatRequest::new().user("hi"))
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(reply.text, "hi");
}
