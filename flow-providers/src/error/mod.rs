//! Classified provider errors, and the configuration errors of the builders.
//!
//! The HTTP status, the error body's code and type, and the `retry-after` and
//! `x-should-retry` headers decide the class; the class decides whether a retry may help
//! ([`Retryable`]). Messages say what to do, and never contain an API key.

use std::fmt;
use std::time::Duration;

use typedflow::Retryable;

use crate::redact::Redactor;

mod classify;

pub(crate) use classify::classify;

/// A boxed error kept as the cause of a [`ProviderError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The most characters of a server's error message kept in an [`ApiError`].
const MAX_MESSAGE_CHARS: usize = 500;

/// What an HTTP API said when it refused a request: the raw facts behind a
/// [`ProviderError`] of an HTTP class.
///
/// ```
/// use std::time::Duration;
/// use typedflow_providers::ApiError;
///
/// let api = ApiError::new("openai", 429, "slow down")
///     .with_code("rate_limit_exceeded")
///     .with_retry_after(Duration::from_secs(2));
/// assert_eq!(api.to_string(), "openai answered http 429 (rate_limit_exceeded): slow down");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// The provider that answered (`openai`, `anthropic`, ...).
    pub provider: &'static str,
    /// The HTTP status; for an error sent inside a stream, the status it stands for.
    pub status: u16,
    /// The error's machine-readable code (OpenAI's `error.code`), if any.
    pub code: Option<String>,
    /// The error's type (`error.type` in both APIs), if any.
    pub error_type: Option<String>,
    /// The server's message, shortened to 500 characters, with any API key removed.
    pub message: String,
    /// The request id the server gave (`x-request-id` or `request-id`), for support tickets.
    pub request_id: Option<String>,
    /// How long the server asked us to wait (`retry-after-ms`, `retry-after`).
    pub retry_after: Option<Duration>,
    /// The server's `x-should-retry` header, which overrides the class's retry rule.
    pub should_retry: Option<bool>,
}

impl ApiError {
    /// An error with the given provider, status and message, and nothing else known.
    pub fn new(provider: &'static str, status: u16, message: impl Into<String>) -> Self {
        ApiError {
            provider,
            status,
            code: None,
            error_type: None,
            message: truncate_chars(message.into(), MAX_MESSAGE_CHARS),
            request_id: None,
            retry_after: None,
            should_retry: None,
        }
    }

    /// Sets the error code.
    #[must_use]
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Sets the error type.
    #[must_use]
    pub fn with_type(mut self, error_type: impl Into<String>) -> Self {
        self.error_type = Some(error_type.into());
        self
    }

    /// Sets the retry-after hint.
    #[must_use]
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = Some(retry_after);
        self
    }

    /// Sets the `x-should-retry` override.
    #[must_use]
    pub fn with_should_retry(mut self, should_retry: bool) -> Self {
        self.should_retry = Some(should_retry);
        self
    }

    /// Sets the request id.
    #[must_use]
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// Removes every secret of `redactor` from the server's text.
    fn redact(&mut self, redactor: &Redactor) {
        let ApiError {
            provider: _,
            status: _,
            code,
            error_type,
            message,
            request_id,
            retry_after: _,
            should_retry: _,
        } = self;
        for text in [code, error_type, request_id].into_iter().flatten() {
            redactor.redact_in_place(text);
        }
        redactor.redact_in_place(message);
    }

    fn codes(&self) -> impl Iterator<Item = &str> {
        self.code
            .iter()
            .chain(self.error_type.iter())
            .map(String::as_str)
    }

    fn has_code(&self, wanted: &[&str]) -> bool {
        self.codes()
            .any(|c| wanted.iter().any(|w| c.eq_ignore_ascii_case(w)))
    }

    fn code_contains(&self, needles: &[&str]) -> bool {
        self.codes().any(|c| {
            let c = c.to_ascii_lowercase();
            needles.iter().any(|n| c.contains(n))
        })
    }

    fn message_contains(&self, needles: &[&str]) -> bool {
        let m = self.message.to_lowercase();
        needles.iter().any(|n| m.contains(n))
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} answered http {}", self.provider, self.status)?;
        if let Some(code) = self.code.as_ref().or(self.error_type.as_ref()) {
            write!(f, " ({code})")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

/// The class of a [`ProviderError`], as a plain `Copy` value for matching and labels.
///
/// ```
/// use typedflow_providers::{ErrorKind, ProviderError};
///
/// let err = ProviderError::timeout("openai");
/// assert_eq!(err.kind(), ErrorKind::Timeout);
/// assert_eq!(err.kind().as_str(), "timeout");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// See [`ProviderError::Authentication`].
    Authentication,
    /// See [`ProviderError::RateLimited`].
    RateLimited,
    /// See [`ProviderError::QuotaExhausted`].
    QuotaExhausted,
    /// See [`ProviderError::Overloaded`].
    Overloaded,
    /// See [`ProviderError::UnknownModel`].
    UnknownModel,
    /// See [`ProviderError::ContextTooLong`].
    ContextTooLong,
    /// See [`ProviderError::BadRequest`].
    BadRequest,
    /// See [`ProviderError::Server`].
    Server,
    /// See [`ProviderError::Network`].
    Network,
    /// See [`ProviderError::Timeout`].
    Timeout,
    /// See [`ProviderError::BadResponse`].
    BadResponse,
    /// See [`ProviderError::StreamCut`].
    StreamCut,
    /// See [`ProviderError::InvalidOutput`].
    InvalidOutput,
    /// See [`ProviderError::Redirected`].
    Redirected,
}

impl ErrorKind {
    /// A stable snake_case name, used as the `outcome` label of the metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Authentication => "authentication",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::QuotaExhausted => "quota_exhausted",
            ErrorKind::Overloaded => "overloaded",
            ErrorKind::UnknownModel => "unknown_model",
            ErrorKind::ContextTooLong => "context_too_long",
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::Server => "server",
            ErrorKind::Network => "network",
            ErrorKind::Timeout => "timeout",
            ErrorKind::BadResponse => "bad_response",
            ErrorKind::StreamCut => "stream_cut",
            ErrorKind::InvalidOutput => "invalid_output",
            ErrorKind::Redirected => "redirected",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a chat request failed, classified so callers (and retry policies) know what to do.
///
/// | class | retried | typical cause |
/// |---|---|---|
/// | [`Authentication`](Self::Authentication) | no | 401/403: missing or wrong key |
/// | [`RateLimited`](Self::RateLimited) | yes, after its retry-after | 429 |
/// | [`QuotaExhausted`](Self::QuotaExhausted) | no | 429 `insufficient_quota`, billing errors |
/// | [`Overloaded`](Self::Overloaded) | yes, with backoff | 529 `overloaded_error` |
/// | [`UnknownModel`](Self::UnknownModel) | no | 404 `model_not_found` |
/// | [`ContextTooLong`](Self::ContextTooLong) | no | 400 `context_length_exceeded` |
/// | [`BadRequest`](Self::BadRequest) | no | other 4xx |
/// | [`Server`](Self::Server) | yes | 408, 409, 5xx |
/// | [`Network`](Self::Network) | yes | refused or dropped connection |
/// | [`Timeout`](Self::Timeout) | yes | no answer in time |
/// | [`BadResponse`](Self::BadResponse) | yes | a body or chunk we could not parse |
/// | [`StreamCut`](Self::StreamCut) | yes | a stream that ended before its finish event |
/// | [`InvalidOutput`](Self::InvalidOutput) | no | structured output not matching the type |
/// | [`Redirected`](Self::Redirected) | no | a 3xx answer: API calls never follow redirects |
///
/// A server's `x-should-retry: true|false` header overrides the rule for HTTP classes.
///
/// ```
/// use std::time::Duration;
/// use typedflow_providers::{ApiError, ProviderError, Retryable};
///
/// let err = ProviderError::from_api(
///     ApiError::new("openai", 429, "slow down").with_retry_after(Duration::from_millis(1500)),
///     "gpt-4o-mini",
/// );
/// assert!(matches!(err, ProviderError::RateLimited { .. }));
/// assert!(err.is_retryable());
/// assert_eq!(err.retry_after(), Some(Duration::from_millis(1500)));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The key is missing, wrong or lacks permission (401, 403).
    #[error("authentication failed: {api}; {hint}")]
    Authentication {
        /// What the server said.
        api: Box<ApiError>,
        /// What to do, e.g. "set OPENAI_API_KEY to a valid key".
        hint: String,
    },
    /// Too many requests for now (429); wait for the retry-after hint.
    #[error("rate limited: {api}; retry after the server's delay")]
    RateLimited {
        /// What the server said, with its retry-after hint.
        api: Box<ApiError>,
    },
    /// The account ran out of quota or credit; retrying will not help.
    #[error("quota exhausted: {api}; add credit or raise the account's spend limit")]
    QuotaExhausted {
        /// What the server said.
        api: Box<ApiError>,
    },
    /// The provider is overloaded (Anthropic's 529); retry with backoff.
    #[error("provider overloaded: {api}; retry later with backoff")]
    Overloaded {
        /// What the server said.
        api: Box<ApiError>,
    },
    /// The server does not know the model.
    #[error("unknown model `{model}`: {api}; check the model name, or load it on the server")]
    UnknownModel {
        /// The model that was asked for.
        model: String,
        /// What the server said.
        api: Box<ApiError>,
    },
    /// The prompt (plus `max_tokens`) does not fit the model's context window.
    #[error(
        "prompt too long for the model's context: {api}; shorten the messages or lower max_tokens"
    )]
    ContextTooLong {
        /// What the server said.
        api: Box<ApiError>,
    },
    /// The server rejected the request as malformed (other 4xx).
    #[error("bad request: {api}")]
    BadRequest {
        /// What the server said.
        api: Box<ApiError>,
    },
    /// The server failed (5xx), or asked for a retry (408, 409).
    #[error("server error: {api}")]
    Server {
        /// What the server said.
        api: Box<ApiError>,
    },
    /// The connection could not be made or broke.
    #[error(
        "network error talking to {provider}; check the base url and that the server is running"
    )]
    Network {
        /// The provider.
        provider: &'static str,
        /// The transport's error.
        #[source]
        source: BoxError,
    },
    /// The server did not answer (or the stream stalled) within the client's timeout.
    #[error("request to {provider} timed out; raise the client's timeout if the model is slow")]
    Timeout {
        /// The provider.
        provider: &'static str,
    },
    /// The server answered with something this crate could not understand.
    #[error("bad response from {provider} at `{path}`: {message}")]
    BadResponse {
        /// The provider.
        provider: &'static str,
        /// Where in the body it went wrong, as a JSON path (`.` for the whole body).
        path: String,
        /// What was wrong.
        message: String,
    },
    /// A stream ended before its finish event: the answer is incomplete.
    #[error(
        "stream from {provider} ended before its finish event after {events} event(s); the answer is incomplete"
    )]
    StreamCut {
        /// The provider.
        provider: &'static str,
        /// How many events arrived before the end.
        events: usize,
    },
    /// The model's structured output does not parse into the requested type.
    #[error("structured output does not match `{type_name}` at `{path}`: {message}")]
    InvalidOutput {
        /// The Rust type asked for.
        type_name: &'static str,
        /// The JSON path that failed (`.` for the whole value).
        path: String,
        /// What was wrong (at most its first KiB: a message may quote the value).
        message: String,
        /// The text the model produced: at most its first KiB, then its length in all.
        output: String,
    },
    /// The server answered with a redirect. API calls never follow one: the request
    /// carries the key, which must not reach another origin.
    #[error(
        "{provider} answered http {status}, a redirect to {location}; api calls do not follow redirects, so no key reaches another host: set the base url to the new address if you trust it"
    )]
    Redirected {
        /// The provider.
        provider: &'static str,
        /// The redirect's status (301, 302, 303, 307, 308, ...).
        status: u16,
        /// The origin (`scheme://host:port`) the server pointed to, without its path,
        /// query or credentials; or a note that the `location` header was unusable.
        location: String,
    },
}

impl ProviderError {
    /// The error's class.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ProviderError::Authentication { .. } => ErrorKind::Authentication,
            ProviderError::RateLimited { .. } => ErrorKind::RateLimited,
            ProviderError::QuotaExhausted { .. } => ErrorKind::QuotaExhausted,
            ProviderError::Overloaded { .. } => ErrorKind::Overloaded,
            ProviderError::UnknownModel { .. } => ErrorKind::UnknownModel,
            ProviderError::ContextTooLong { .. } => ErrorKind::ContextTooLong,
            ProviderError::BadRequest { .. } => ErrorKind::BadRequest,
            ProviderError::Server { .. } => ErrorKind::Server,
            ProviderError::Network { .. } => ErrorKind::Network,
            ProviderError::Timeout { .. } => ErrorKind::Timeout,
            ProviderError::BadResponse { .. } => ErrorKind::BadResponse,
            ProviderError::StreamCut { .. } => ErrorKind::StreamCut,
            ProviderError::InvalidOutput { .. } => ErrorKind::InvalidOutput,
            ProviderError::Redirected { .. } => ErrorKind::Redirected,
        }
    }

    /// What the server said, for the classes that come from an HTTP error answer.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            ProviderError::Authentication { api, .. }
            | ProviderError::RateLimited { api }
            | ProviderError::QuotaExhausted { api }
            | ProviderError::Overloaded { api }
            | ProviderError::UnknownModel { api, .. }
            | ProviderError::ContextTooLong { api }
            | ProviderError::BadRequest { api }
            | ProviderError::Server { api } => Some(&**api),
            _ => None,
        }
    }

    /// Whether another attempt may succeed; see the table on [`ProviderError`].
    ///
    /// Same as [`Retryable::is_retryable`], callable without importing the trait.
    pub fn is_retryable(&self) -> bool {
        if let Some(should_retry) = self.api().and_then(|api| api.should_retry) {
            return should_retry;
        }
        matches!(
            self.kind(),
            ErrorKind::RateLimited
                | ErrorKind::Overloaded
                | ErrorKind::Server
                | ErrorKind::Network
                | ErrorKind::Timeout
                | ErrorKind::BadResponse
                | ErrorKind::StreamCut
        )
    }

    /// How long the server asked us to wait before trying again, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.api().and_then(|api| api.retry_after)
    }

    /// Classifies an HTTP error answer; `model` is the model that was asked for.
    ///
    /// Authentication errors get a generic hint; the built-in clients name the
    /// environment variable to set instead.
    ///
    /// ```
    /// use typedflow_providers::{ApiError, ErrorKind, ProviderError};
    ///
    /// let api = ApiError::new("openai", 400, "too long").with_code("context_length_exceeded");
    /// assert_eq!(ProviderError::from_api(api, "m").kind(), ErrorKind::ContextTooLong);
    /// ```
    pub fn from_api(api: ApiError, model: &str) -> Self {
        classify(api, model, "check the api key the client was built with")
    }

    /// A network error with the given cause.
    pub fn network(provider: &'static str, source: impl Into<BoxError>) -> Self {
        ProviderError::Network {
            provider,
            source: source.into(),
        }
    }

    /// A timeout.
    pub fn timeout(provider: &'static str) -> Self {
        ProviderError::Timeout { provider }
    }

    /// A response that could not be understood, at the given JSON path.
    pub fn bad_response(
        provider: &'static str,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ProviderError::BadResponse {
            provider,
            path: path.into(),
            message: message.into(),
        }
    }

    /// A stream that ended after `events` events without its finish event.
    pub fn stream_cut(provider: &'static str, events: usize) -> Self {
        ProviderError::StreamCut { provider, events }
    }

    /// The error with every secret of `redactor` removed from its text: the one pass
    /// every error of a client goes through before it is logged or returned.
    pub(crate) fn redact(mut self, redactor: &Redactor) -> Self {
        let r = |s: &mut String| redactor.redact_in_place(s);
        match &mut self {
            ProviderError::Authentication { api, hint } => {
                api.redact(redactor);
                r(hint);
            }
            ProviderError::UnknownModel { model, api } => {
                r(model);
                api.redact(redactor);
            }
            ProviderError::RateLimited { api }
            | ProviderError::QuotaExhausted { api }
            | ProviderError::Overloaded { api }
            | ProviderError::ContextTooLong { api }
            | ProviderError::BadRequest { api }
            | ProviderError::Server { api } => api.redact(redactor),
            ProviderError::BadResponse { path, message, .. } => {
                r(path);
                r(message);
            }
            ProviderError::InvalidOutput {
                path,
                message,
                output,
                ..
            } => {
                r(path);
                r(message);
                r(output);
            }
            ProviderError::Redirected { location, .. } => r(location),
            // No server text: the transport's error never carries headers, and the
            // URL is dropped from it when it is made (see `http::transport_error`).
            ProviderError::Network { .. }
            | ProviderError::Timeout { .. }
            | ProviderError::StreamCut { .. } => {}
        }
        self
    }
}

impl Retryable for ProviderError {
    fn is_retryable(&self) -> bool {
        ProviderError::is_retryable(self)
    }

    fn retry_after(&self) -> Option<Duration> {
        ProviderError::retry_after(self)
    }
}

/// Why a client could not be built.
///
/// ```
/// use typedflow_providers::ConfigError;
///
/// let err = ConfigError::MissingApiKey { var: "OPENAI_API_KEY".into() };
/// assert_eq!(err.to_string(), "no api key: set OPENAI_API_KEY or pass one with `.api_key(..)`");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The provider needs a key and none was given or found in the environment.
    #[error("no api key: set {var} or pass one with `.api_key(..)`")]
    MissingApiKey {
        /// The environment variable read by default.
        var: String,
    },
    /// No model was chosen.
    #[error("no model: choose one with `.model(..)` or set {var}")]
    MissingModel {
        /// The environment variable read by default.
        var: String,
    },
    /// The base URL does not parse, or uses a scheme this build cannot speak.
    #[error("invalid base url `{url}`: {reason}")]
    InvalidBaseUrl {
        /// The URL given, without any user or password part.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A header name or value is not valid HTTP (the value is never shown: it may be secret).
    #[error("invalid value for header `{name}`: it must be visible ascii")]
    InvalidHeader {
        /// The header's name.
        name: String,
    },
    /// A timeout is zero, or too long for the clock to add to the current time.
    #[error("invalid `{setting}` of {value:?}: use a duration from 1 ms to 365 days")]
    InvalidTimeout {
        /// The builder setting (`timeout`, `connect_timeout`, `read_timeout`).
        setting: &'static str,
        /// The duration given.
        value: Duration,
    },
    /// An environment variable holds something other than unicode.
    #[error("environment variable {var} is not valid unicode")]
    NotUnicode {
        /// The variable.
        var: String,
    },
    /// A tool's name is not 1 to 64 ASCII letters, digits, `_` or `-`, as both APIs
    /// require.
    #[error(
        "invalid tool name `{name}`: use 1 to 64 ascii letters, digits, `_` or `-`, e.g. `get_weather`"
    )]
    InvalidToolName {
        /// The name given.
        name: String,
    },
    /// Two tools of a [`Toolbox`](crate::Toolbox) have the same name.
    #[error("a tool named `{name}` is already in the toolbox: give each tool its own name")]
    DuplicateTool {
        /// The name.
        name: String,
    },
    /// The HTTP client could not be built.
    #[error("could not build the http client")]
    Client {
        /// The cause.
        #[source]
        source: BoxError,
    },
}

/// Keeps at most `max` characters of `s`, marking the cut with `…`.
pub(crate) fn truncate_chars(mut s: String, max: usize) -> String {
    if let Some((cut, _)) = s.char_indices().nth(max) {
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_shortened_on_a_char_boundary() {
        let api = ApiError::new("t", 500, "é".repeat(2000));
        assert_eq!(api.message.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(api.message.ends_with('…'));
    }
}
