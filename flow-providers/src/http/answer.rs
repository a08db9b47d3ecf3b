//! Answers: sending a request, turning an error answer (or a redirect) into a classified
//! [`ProviderError`], reading a success body within its limit, and the JSON in and out.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

use crate::error::{ApiError, ProviderError, classify};

/// The most bytes of an error answer read to classify it; the rest is not awaited.
const MAX_ERROR_BODY: usize = 64 * 1024;

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
/// [`build_client`](super::build_client)): it becomes [`ProviderError::Redirected`].
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

#[cfg(test)]
mod tests {
    use super::*;

    use reqwest::header::HeaderValue;

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
