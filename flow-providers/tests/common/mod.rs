//! Helpers shared by the integration tests: clients aimed at a mock server, SSE bodies,
//! and a raw HTTP server that writes a response in exactly the pieces a test asks for.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the helpers"
)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use typedflow_providers::{AnthropicClient, ChatModel, ChatRequest, OpenAiClient, ProviderError};

pub const KEY: &str = "sk-test-0123456789abcdef-SECRET";
/// A header given with `.header(..)`, as secret as the key.
pub const PROXY_SECRET: &str = "proxy-credential-7f3a9c-SECRET";

/// An OpenAI client for `base` (the server's root; `/v1` is appended).
pub fn openai(base: &str) -> OpenAiClient {
    OpenAiClient::builder()
        .ignore_env()
        .base_url(format!("{base}/v1"))
        .api_key(KEY)
        .model("gpt-test")
        .timeout(Duration::from_secs(5))
        .read_timeout(Duration::from_secs(5))
        .build()
        .expect("valid test settings")
}

/// An Anthropic client for `base`.
pub fn anthropic(base: &str) -> AnthropicClient {
    AnthropicClient::builder()
        .ignore_env()
        .base_url(base)
        .api_key(KEY)
        .model("claude-test")
        .timeout(Duration::from_secs(5))
        .read_timeout(Duration::from_secs(5))
        .build()
        .expect("valid test settings")
}

/// A client of `provider` (`openai` or `anthropic`) for `base`, holding both secrets:
/// the key and an `x-proxy-key` header.
pub fn client_with_secrets(provider: &str, base: &str) -> Box<dyn ChatModel> {
    match provider {
        "openai" => Box::new(
            OpenAiClient::builder()
                .ignore_env()
                .base_url(format!("{base}/v1"))
                .api_key(KEY)
                .header("x-proxy-key", PROXY_SECRET)
                .model("m")
                .timeout(Duration::from_secs(5))
                .build()
                .expect("valid test settings"),
        ),
        _ => Box::new(
            AnthropicClient::builder()
                .ignore_env()
                .base_url(base)
                .api_key(KEY)
                .header("x-proxy-key", PROXY_SECRET)
                .model("m")
                .timeout(Duration::from_secs(5))
                .build()
                .expect("valid test settings"),
        ),
    }
}

/// The reply's text to "hi", plain or streamed.
pub async fn reply_text(model: &dyn ChatModel, stream: bool) -> Result<String, ProviderError> {
    let request = ChatRequest::new().user("hi");
    if stream {
        Ok(model
            .chat_stream(&request)
            .await?
            .collect_response()
            .await?
            .text)
    } else {
        Ok(model.chat(&request).await?.text)
    }
}

/// A writer keeping everything written, for a tracing subscriber.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("no writer panics holding the lock")
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("no writer panics holding the lock"))
            .into_owned()
    }
}

/// `data:` events in SSE framing.
pub fn sse(events: &[&str]) -> String {
    events.iter().map(|e| format!("data: {e}\n\n")).collect()
}

/// Named events in SSE framing.
pub fn sse_named(events: &[(&str, &str)]) -> String {
    events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}

/// One step of a raw response body.
pub enum Step {
    /// Write these bytes as one HTTP chunk and flush.
    Chunk(Vec<u8>),
    /// Wait before the next step.
    Sleep(Duration),
}

/// How a raw response ends.
pub enum End {
    /// The terminating zero-length chunk: a clean end of body.
    Clean,
    /// Close the connection mid-body: the transport breaks.
    Drop,
}

/// Serves one connection: reads the request, answers 200 with a chunked
/// `text/event-stream` body written step by step, then ends as told.
/// Returns the base URL (no path).
pub async fn raw_server(steps: Vec<Step>, end: End) -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        read_request(&mut socket).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
        if socket.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        for step in steps {
            match step {
                Step::Chunk(bytes) => {
                    let mut framed = format!("{:x}\r\n", bytes.len()).into_bytes();
                    framed.extend_from_slice(&bytes);
                    framed.extend_from_slice(b"\r\n");
                    if socket.write_all(&framed).await.is_err() || socket.flush().await.is_err() {
                        return;
                    }
                }
                Step::Sleep(d) => tokio::time::sleep(d).await,
            }
        }
        if let End::Clean = end {
            let _ = socket.write_all(b"0\r\n\r\n").await;
            let _ = socket.flush().await;
            // Let the client read the end before the socket goes.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    format!("http://{addr}")
}

/// Reads the request head and its content-length body.
async fn read_request(socket: &mut tokio::net::TcpStream) {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        let Ok(n) = socket.read(&mut tmp).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let Ok(n) = socket.read(&mut tmp).await else {
                    return;
                };
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&tmp[..n]);
            }
            return;
        }
    }
}

/// `name{label=value,..}` -> value, for counters; histograms give their sample count.
pub fn metric_counts(
    recorder: &metrics_util::debugging::DebuggingRecorder,
) -> std::collections::BTreeMap<String, u64> {
    recorder
        .snapshotter()
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let mut labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            labels.sort();
            let name = format!("{}{{{}}}", key.name(), labels.join(","));
            let value = match value {
                metrics_util::debugging::DebugValue::Counter(n) => n,
                metrics_util::debugging::DebugValue::Histogram(samples) => samples.len() as u64,
                metrics_util::debugging::DebugValue::Gauge(g) => g.into_inner() as u64,
            };
            (name, value)
        })
        .collect()
}
