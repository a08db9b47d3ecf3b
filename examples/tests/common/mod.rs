//! What the examples' tests share: a plain HTTP GET over loopback.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};

/// The status line's code and the body of `GET path` on `addr`, which must be loopback.
///
/// HTTP/1.0, so the server answers without chunked encoding and closes the connection
/// when the body is complete.
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    assert!(
        addr.ip().is_loopback(),
        "tests reach loopback only, not {addr}"
    );
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").expect("request sent");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response read");
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of headers in {response:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status code in {head:?}"));
    (status, body.to_owned())
}
