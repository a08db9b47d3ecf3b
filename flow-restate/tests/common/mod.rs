//! What the live tests and the overhead example share: one HTTP/1.0 request to
//! Restate's ingress or admin API on 127.0.0.1.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One HTTP/1.0 request (so that the answer is delimited by the connection's end) and
/// its status and body.
pub async fn http(to: SocketAddr, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    assert!(to.ip().is_loopback(), "only 127.0.0.1 is reached");
    let mut stream = TcpStream::connect(to).await.expect("the server answers");
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.0\r\nHost: {to}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("the request is sent");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("the response is read");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    (status, body.to_owned())
}

/// An address on 127.0.0.1 from the environment variable `var`, or port `default`.
pub fn addr(var: &str, default: u16) -> SocketAddr {
    let addr: SocketAddr = std::env::var(var)
        .ok()
        .map(|a| a.parse().expect("an address such as 127.0.0.1:19070"))
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], default)));
    assert!(addr.ip().is_loopback(), "the tests reach only 127.0.0.1");
    addr
}

/// Registers the worker on `port` with the Restate server whose admin API is `admin`.
pub async fn register_at(admin: SocketAddr, port: u16) {
    let body = format!(r#"{{"uri":"http://127.0.0.1:{port}","force":true}}"#);
    let (status, text) = http(admin, "POST", "/deployments", Some(&body)).await;
    assert!(
        (200..300).contains(&status),
        "registering the worker: {status} {text}"
    );
}
