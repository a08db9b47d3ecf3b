//! What the HTTP clients share: building the `reqwest` client, sending a request and
//! classifying an error answer, reading bodies within a size limit, turning a body into
//! a stream of server-sent events, and parsing `retry-after`.

pub(crate) mod client;
pub(crate) mod sse;

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use futures::Stream;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret as _, SecretString};

use crate::error::{ApiError, ConfigError, ProviderError, classify};
use crate::stream::StreamEvent;

use self::sse::{SseEvent, SseParser};

/// The most bytes of an error answer read to classify it; the rest is not awaited.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// The longest line accepted in an event stream.
const MAX_SSE_LINE: usize = 1024 * 1024;

/// Settings shared by the HTTP clients' builders.
#[derive(Debug, Clone)]
pub(crate) struct HttpSettings {
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) read_timeout: Duration,
    pub(crate) max_response_bytes: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            max_response_bytes: 8 * 1024 * 1024,
        }
    }
}

/// The longest timeout accepted: far beyond any request, and small enough for every
/// clock to add to the current time (a `Duration::MAX` read timeout panics there).
const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 60 * 60);

impl HttpSettings {
    /// Refuses a zero timeout and one the clock cannot add to the current time.
    fn check(&self) -> Result<(), ConfigError> {
        for (setting, value) in [
            ("timeout", self.timeout),
            ("connect_timeout", self.connect_timeout),
            ("read_timeout", self.read_timeout),
        ] {
            if value.is_zero() || value > MAX_TIMEOUT {
                return Err(ConfigError::InvalidTimeout { setting, value });
            }
        }
        Ok(())
    }
}

/// Reads an environment variable; unset or empty is `None`.
pub(crate) fn env_var(var: &str) -> Result<Option<String>, ConfigError> {
    match std::env::var(var) {
        Ok(value) if value.trim().is_empty() => Ok(None),
        Ok(value) => Ok(Some(value.trim().to_owned())),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::NotUnicode {
            var: var.to_owned(),
        }),
    }
}

/// Parses the base URL and joins `path` to it.
pub(crate) fn endpoint(base_url: &str, path: &str) -> Result<reqwest::Url, ConfigError> {
    let shown = if base_url.contains('@') {
        "<hidden: it contains credentials>".to_owned()
    } else {
        base_url.to_owned()
    };
    let invalid = |reason: String| ConfigError::InvalidBaseUrl {
        url: shown.clone(),
        reason,
    };
    let joined = format!(
        "{}/{}",
        base_url.trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    let url = reqwest::Url::parse(&joined).map_err(|e| invalid(e.to_string()))?;
    match url.scheme() {
        "http" => {}
        "https" if cfg!(feature = "rustls") => {}
        "https" => {
            return Err(invalid(
                "https needs the `rustls` feature of typedflow-providers".to_owned(),
            ));
        }
        other => {
            return Err(invalid(format!(
                "unsupported scheme `{other}`; use http or https"
            )));
        }
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a base url takes no query or fragment".to_owned()));
    }
    Ok(url)
}

/// Builds the `reqwest` client.
///
/// It follows no redirect: every request carries a secret (the key, the `.header(..)`
/// values, a base URL's credentials), and `reqwest` strips only `authorization` when a
/// redirect leaves the origin. A redirect answer becomes an error instead (see [`send`]).
pub(crate) fn build_client(settings: &HttpSettings) -> Result<reqwest::Client, ConfigError> {
    settings.check()?;
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(settings.connect_timeout)
        .read_timeout(settings.read_timeout)
        .user_agent(concat!("flow-providers/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ConfigError::Client {
            source: Box::new(e.without_url()),
        })
}

/// A header value holding a secret, marked sensitive so `Debug` hides it.
pub(crate) fn secret_header(
    name: &str,
    prefix: &str,
    secret: &SecretString,
) -> Result<HeaderValue, ConfigError> {
    let mut value =
        HeaderValue::from_str(&format!("{prefix}{}", secret.expose_secret())).map_err(|_| {
            ConfigError::InvalidHeader {
                name: name.to_owned(),
            }
        })?;
    value.set_sensitive(true);
    Ok(value)
}

/// Parses extra headers given to a builder; values are treated as secrets.
pub(crate) fn extra_headers(headers: &[(String, SecretString)]) -> Result<HeaderMap, ConfigError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| ConfigError::InvalidHeader { name: name.clone() })?;
        map.append(header, secret_header(name, "", value)?);
    }
    Ok(map)
}

/// What error classification needs to know about the request.
pub(crate) struct ErrorContext<'a> {
    pub(crate) provider: &'static str,
    pub(crate) model: &'a str,
    pub(crate) auth_hint: &'a str,
}

impl ErrorContext<'_> {
    /// Classifies an error the server sent inside a success answer (a body or a stream
    /// event): `body` is the error in the provider's error-body shape, `status` the HTTP
    /// status it stands for.
    pub(crate) fn in_band(&self, status: u16, body: &serde_json::Value) -> ProviderError {
        let body = body.to_string();
        let api = api_error(
            self.provider,
            status,
            &HeaderMap::new(),
            body.as_bytes(),
            SystemTime::now(),
        );
        classify(api, self.model, self.auth_hint)
    }
}

/// Maps a transport error.
pub(crate) fn transport_error(provider: &'static str, err: reqwest::Error) -> ProviderError {
    if err.is_timeout() {
        ProviderError::timeout(provider)
    } else {
        // The URL is dropped: a base URL may carry credentials.
        ProviderError::network(provider, err.without_url())
    }
}

/// Sends a request and returns the response if its status is a success; otherwise
/// reads (part of) the error body and classifies it. A redirect is not followed (see
/// [`build_client`]): it becomes [`ProviderError::Redirected`].
pub(crate) async fn send(
    request: reqwest::RequestBuilder,
    cx: &ErrorContext<'_>,
) -> Result<reqwest::Response, ProviderError> {
    let response = request
        .send()
        .await
        .map_err(|e| transport_error(cx.provider, e))?;
    if response.status().is_success() {
        return Ok(response);
    }
    if response.status().is_redirection() {
        return Err(redirected(cx.provider, &response));
    }
    Err(error_from_response(response, cx).await)
}

/// The error for a redirect answer: its status and the origin it points to, never its
/// path or query (which may carry a token) nor its credentials.
fn redirected(provider: &'static str, response: &reqwest::Response) -> ProviderError {
    let location = header_str(response.headers(), "location")
        .and_then(|target| response.url().join(target).ok())
        .map(|url| url.origin())
        .filter(|origin| origin.is_tuple())
        .map_or_else(
            || "an unusable `location`".to_owned(),
            |origin| origin.ascii_serialization(),
        );
    ProviderError::Redirected {
        provider,
        status: response.status().as_u16(),
        location,
    }
}

async fn error_from_response(
    mut response: reqwest::Response,
    cx: &ErrorContext<'_>,
) -> ProviderError {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    // A failure while reading the error body leaves what was read: the status and
    // headers classify the error on their own.
    while body.len() < MAX_ERROR_BODY {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    body.truncate(MAX_ERROR_BODY);
    let api = api_error(cx.provider, status, &headers, &body, SystemTime::now());
    classify(api, cx.model, cx.auth_hint)
}

/// Builds an [`ApiError`] from an error answer's status, headers and body.
pub(crate) fn api_error(
    provider: &'static str,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> ApiError {
    let (code, error_type, message) = parse_error_body(body);
    let message = match message {
        Some(m) => m,
        None => reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("error")
            .to_lowercase(),
    };
    let mut api = ApiError::new(provider, status, message);
    api.code = code;
    api.error_type = error_type;
    api.retry_after = retry_after(headers, now);
    api.should_retry = header_str(headers, "x-should-retry").and_then(|v| match v.trim() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    });
    api.request_id = header_str(headers, "x-request-id")
        .or_else(|| header_str(headers, "request-id"))
        .map(str::to_owned);
    api
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Reads the server's delay: `retry-after-ms`, then `retry-after` in seconds (fractions
/// allowed), then `retry-after` as an HTTP date (a date in the past means no delay).
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let seconds = |raw: &str, scale: f64| -> Option<Duration> {
        let value: f64 = raw.trim().parse().ok()?;
        (value.is_finite() && value >= 0.0)
            .then(|| Duration::try_from_secs_f64(value / scale).ok())
            .flatten()
    };
    if let Some(delay) = header_str(headers, "retry-after-ms").and_then(|v| seconds(v, 1000.0)) {
        return Some(delay);
    }
    let raw = header_str(headers, "retry-after")?;
    if let Some(delay) = seconds(raw, 1.0) {
        return Some(delay);
    }
    let date = httpdate::parse_http_date(raw.trim()).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Digs the code, type and message out of the error bodies seen in the wild: OpenAI's
/// and Anthropic's `{"error": {..}}`, `{"error": "text"}`, FastAPI's `{"detail": ..}`,
/// a top-level `message`, or plain text.
fn parse_error_body(body: &[u8]) -> (Option<String>, Option<String>, Option<String>) {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return (None, None, None);
    }
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return (None, None, Some(text.to_owned()));
    };
    let string = |v: Option<&serde_json::Value>| {
        v.and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    match value.get("error") {
        Some(serde_json::Value::Object(error)) => {
            return (
                string(error.get("code")),
                string(error.get("type")),
                string(error.get("message")).or_else(|| string(error.get("msg"))),
            );
        }
        Some(serde_json::Value::String(message)) => return (None, None, Some(message.clone())),
        _ => {}
    }
    if let Some(detail) = value.get("detail") {
        let message = match detail {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(items) => items
                .iter()
                .map(|item| {
                    let loc = item
                        .get("loc")
                        .and_then(serde_json::Value::as_array)
                        .map(|loc| {
                            loc.iter()
                                .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
                                .collect::<Vec<_>>()
                                .join(".")
                        });
                    let msg = string(item.get("msg")).unwrap_or_else(|| item.to_string());
                    match loc {
                        Some(loc) if !loc.is_empty() => format!("{loc}: {msg}"),
                        _ => msg,
                    }
                })
                .collect::<Vec<_>>()
                .join("; "),
            other => string(other.get("message"))
                .or_else(|| string(other.get("msg")))
                .unwrap_or_else(|| other.to_string()),
        };
        return (None, string(detail.get("type")), Some(message));
    }
    (
        string(value.get("code")),
        string(value.get("type")).filter(|t| t != "error"),
        string(value.get("message")).or_else(|| Some(value.to_string())),
    )
}

/// Reads a whole success body, refusing one larger than `limit` bytes.
pub(crate) async fn read_body(
    mut response: reqwest::Response,
    provider: &'static str,
    limit: usize,
) -> Result<Vec<u8>, ProviderError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(provider, e))?
    {
        if body.len() + chunk.len() > limit {
            return Err(ProviderError::bad_response(
                provider,
                ".",
                format!("the response body exceeds the limit of {limit} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ProviderError::bad_response(
            provider,
            ".",
            "the response body is empty",
        ));
    }
    Ok(body)
}

/// One turn of a conversation, as both APIs take it.
#[derive(serde::Serialize)]
pub(crate) struct Turn<'a> {
    pub(crate) role: &'static str,
    pub(crate) content: &'a str,
}

/// Encodes a request body.
pub(crate) fn encode(
    provider: &'static str,
    body: &impl serde::Serialize,
) -> Result<Vec<u8>, ProviderError> {
    serde_json::to_vec(body).map_err(|e| {
        ProviderError::bad_response(provider, ".", format!("could not encode the request: {e}"))
    })
}

/// Deserializes `body`, naming the JSON path that failed.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    provider: &'static str,
    body: &[u8],
) -> Result<T, ProviderError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        ProviderError::bad_response(provider, path, err.into_inner().to_string())
    })
}

/// Turns the events of a provider's stream into [`StreamEvent`]s.
pub(crate) trait Decoder: Send + 'static {
    /// Handles one server-sent event; returns `true` when the reply is complete.
    fn event(
        &mut self,
        event: SseEvent,
        out: &mut VecDeque<StreamEvent>,
    ) -> Result<bool, ProviderError>;

    /// Handles the end of the body; a decoder that saw enough to finish pushes the
    /// finish event, otherwise the caller reports the cut.
    fn eof(&mut self, out: &mut VecDeque<StreamEvent>) -> Result<(), ProviderError>;
}

struct StreamState<D> {
    response: Option<reqwest::Response>,
    parser: SseParser,
    decoder: D,
    events: VecDeque<SseEvent>,
    ready: VecDeque<StreamEvent>,
    provider: &'static str,
    done: bool,
}

/// Reads a streaming response through the SSE parser and `decoder`.
///
/// The connection is dropped as soon as the reply is complete, on the first error,
/// or when the stream is dropped.
pub(crate) fn event_stream<D: Decoder>(
    response: reqwest::Response,
    provider: &'static str,
    max_event: usize,
    decoder: D,
) -> impl Stream<Item = Result<StreamEvent, ProviderError>> + Send + Unpin {
    let state = StreamState {
        response: Some(response),
        parser: SseParser::new(MAX_SSE_LINE.min(max_event.max(1024)), max_event),
        decoder,
        events: VecDeque::new(),
        ready: VecDeque::new(),
        provider,
        done: false,
    };
    Box::pin(futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(event) = st.ready.pop_front() {
                return Some((Ok(event), st));
            }
            if st.done {
                return None;
            }
            if let Some(event) = st.events.pop_front() {
                match st.decoder.event(event, &mut st.ready) {
                    Ok(true) => {
                        st.done = true;
                        st.response = None;
                    }
                    Ok(false) => {}
                    Err(err) => {
                        st.fail();
                        return Some((Err(err), st));
                    }
                }
                continue;
            }
            let response = st.response.as_mut()?;
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if let Err(message) = st.parser.push(&chunk, &mut st.events) {
                        st.fail();
                        return Some((
                            Err(ProviderError::bad_response(
                                st.provider,
                                "(event stream)",
                                message,
                            )),
                            st,
                        ));
                    }
                }
                Ok(None) => {
                    st.response = None;
                    st.done = true;
                    if let Err(err) = st.decoder.eof(&mut st.ready) {
                        return Some((Err(err), st));
                    }
                }
                Err(err) => {
                    st.fail();
                    return Some((Err(transport_error(st.provider, err)), st));
                }
            }
        }
    }))
}

impl<D> StreamState<D> {
    /// Stops reading: drops the connection and anything queued.
    fn fail(&mut self) {
        self.done = true;
        self.response = None;
        self.ready.clear();
        self.events.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn retry_after_in_ms_seconds_and_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let h = headers(&[("retry-after-ms", "1500"), ("retry-after", "9")]);
        assert_eq!(retry_after(&h, now), Some(Duration::from_millis(1500)));
        let h = headers(&[("retry-after", "2.5")]);
        assert_eq!(retry_after(&h, now), Some(Duration::from_millis(2500)));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        let h = headers(&[("retry-after", &date)]);
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(30)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(
            retry_after(&headers(&[("retry-after", &past)]), now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "-1")]), now), None);
        assert_eq!(
            retry_after(
                &headers(&[("retry-after-ms", "x"), ("retry-after", "3")]),
                now
            ),
            Some(Duration::from_secs(3))
        );
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn error_bodies_of_every_shape() {
        let parse = |body: &str| parse_error_body(body.as_bytes());
        assert_eq!(
            parse(
                r#"{"error":{"message":"m","type":"invalid_request_error","param":null,"code":"context_length_exceeded"}}"#
            ),
            (
                Some("context_length_exceeded".into()),
                Some("invalid_request_error".into()),
                Some("m".into())
            )
        );
        assert_eq!(
            parse(r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#),
            (
                None,
                Some("overloaded_error".into()),
                Some("Overloaded".into())
            )
        );
        assert_eq!(
            parse(
                r#"{"error":{"code":400,"message":"too big","type":"exceed_context_size_error"}}"#
            ),
            (
                None,
                Some("exceed_context_size_error".into()),
                Some("too big".into())
            )
        );
        assert_eq!(
            parse(r#"{"detail":"Not authenticated"}"#),
            (None, None, Some("Not authenticated".into()))
        );
        assert_eq!(
            parse(
                r#"{"detail":[{"loc":["body","messages",0],"msg":"field required","type":"missing"}]}"#
            ),
            (None, None, Some("body.messages.0: field required".into()))
        );
        assert_eq!(
            parse(r#"{"error":"model 'x' not found"}"#),
            (None, None, Some("model 'x' not found".into()))
        );
        assert_eq!(
            parse("Internal Server Error\n"),
            (None, None, Some("Internal Server Error".into()))
        );
        assert_eq!(parse("  "), (None, None, None));
    }
}
