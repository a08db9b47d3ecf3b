//! The one HTTP client skeleton both providers share: settings read from the builder
//! and the environment, the `reqwest` client, the key, sending a request, reading the
//! answer or the stream, and the [`ChatModel`](crate::ChatModel) methods. What differs
//! between providers (the body, the headers, the answer and stream formats) is a
//! [`Protocol`].

use core::fmt;

use reqwest::header::{HeaderMap, HeaderValue};
use secrecy::{ExposeSecret as _, SecretString};

use super::{
    Decoder, ErrorContext, HttpSettings, build_client, endpoint, env_var, extra_headers, read_body,
    secret_header,
};
use crate::error::{ConfigError, ProviderError};
use crate::redact::Redactor;
use crate::stream::ChatStream;
use crate::telemetry::{measured_chat, measured_stream};
use crate::types::{ChatRequest, ChatResponse};

/// What one HTTP provider does its own way; [`HttpClient`] does the rest.
pub(crate) trait Protocol: fmt::Debug + Send + Sync + 'static {
    /// The provider's name, endpoint and environment variables.
    const DEFAULTS: Defaults;
    /// The header that carries the key, and the prefix of its value (`Bearer `).
    const KEY_HEADER: (&'static str, &'static str);
    /// Reads the provider's stream events.
    type Decoder: Decoder;

    /// The JSON body for `request`, sent to `model`.
    ///
    /// # Errors
    ///
    /// Only if the body cannot be encoded (a non-finite number in a schema).
    fn body(
        &self,
        request: &ChatRequest,
        model: &str,
        stream: bool,
    ) -> Result<Vec<u8>, ProviderError>;

    /// Adds the headers the provider needs besides the key's.
    fn headers(
        &self,
        request: &ChatRequest,
        http: reqwest::RequestBuilder,
    ) -> reqwest::RequestBuilder {
        let _ = request;
        http
    }

    /// Reads a whole answer; an error sent in a success answer is returned as one.
    ///
    /// # Errors
    ///
    /// A body that does not parse, or the error it carries.
    fn answer(&self, body: &[u8], cx: &ErrorContext<'_>) -> Result<ChatResponse, ProviderError>;

    /// A decoder for one streamed answer from `model`; the tool-call arguments of the
    /// answer may total at most `max_bytes` (as a plain answer's whole body).
    fn decoder(&self, model: &str, auth_hint: &str, max_bytes: usize) -> Self::Decoder;
}

/// An HTTP chat client speaking protocol `P`.
pub(crate) struct HttpClient<P> {
    core: Core,
    /// The key's header value, marked sensitive.
    key: Option<HeaderValue>,
    auth_hint: String,
    protocol: P,
}

impl<P: Protocol> HttpClient<P> {
    /// Resolves the builder's settings and builds the client.
    pub(crate) fn build(common: CommonBuilder, protocol: P) -> Result<Self, ConfigError> {
        let core = Core::build(common, &P::DEFAULTS)?;
        let (name, prefix) = P::KEY_HEADER;
        let key = core
            .api_key
            .as_ref()
            .map(|key| secret_header(name, prefix, key))
            .transpose()?;
        Ok(HttpClient {
            auth_hint: core.auth_hint(),
            core,
            key,
            protocol,
        })
    }

    /// The provider's name.
    pub(crate) fn provider(&self) -> &'static str {
        P::DEFAULTS.provider
    }

    /// The model requests go to unless they name one.
    pub(crate) fn model(&self) -> &str {
        &self.core.model
    }

    async fn send(
        &self,
        request: &ChatRequest,
        model: &str,
        stream: bool,
    ) -> Result<reqwest::Response, ProviderError> {
        let body = self.protocol.body(request, model, stream)?;
        let mut http = self.protocol.headers(request, self.core.post(body, stream));
        if let Some(key) = &self.key {
            http = http.header(P::KEY_HEADER.0, key.clone());
        }
        super::send(http, &self.core.error_context(model, &self.auth_hint)).await
    }

    async fn chat_inner(
        &self,
        request: &ChatRequest,
        model: &str,
    ) -> Result<ChatResponse, ProviderError> {
        let response = self.send(request, model, false).await?;
        let body = read_body(
            response,
            self.provider(),
            self.core.settings.max_response_bytes,
        )
        .await?;
        self.protocol
            .answer(&body, &self.core.error_context(model, &self.auth_hint))
    }

    /// [`ChatModel::chat`](crate::ChatModel::chat), measured and redacted.
    pub(crate) async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let model = self.core.model_for(request.model.as_deref());
        let chat = self.chat_inner(request, model);
        measured_chat(self.provider(), model, &self.core.redactor, chat).await
    }

    /// [`ChatModel::chat_stream`](crate::ChatModel::chat_stream), measured and redacted.
    pub(crate) async fn chat_stream(
        &self,
        request: &ChatRequest,
    ) -> Result<ChatStream, ProviderError> {
        let model = self.core.model_for(request.model.as_deref());
        let decoder = self
            .protocol
            .decoder(model, &self.auth_hint, self.core.max_event());
        let send = self.send(request, model, true);
        let (provider, max_event) = (self.provider(), self.core.max_event());
        measured_stream(
            provider,
            model,
            &self.core.redactor,
            max_event,
            send,
            decoder,
        )
        .await
    }

    /// `Debug` under the public client's name: the settings, never a secret.
    pub(crate) fn fmt_as(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("core", &self.core)
            .field("protocol", &self.protocol)
            .finish()
    }
}

/// Makes `$client` (a struct holding `inner: Arc<HttpClient<_>>`) a [`ChatModel`] and
/// gives it a `Debug` that shows no secret.
///
/// [`ChatModel`]: crate::ChatModel
macro_rules! http_chat_model {
    ($client:ident) => {
        impl ::core::fmt::Debug for $client {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                self.inner.fmt_as(stringify!($client), f)
            }
        }

        #[::async_trait::async_trait]
        impl $crate::model::ChatModel for $client {
            fn provider(&self) -> &'static str {
                self.inner.provider()
            }

            fn model(&self) -> &str {
                self.inner.model()
            }

            async fn chat(
                &self,
                request: &$crate::types::ChatRequest,
            ) -> Result<$crate::types::ChatResponse, $crate::error::ProviderError> {
                self.inner.chat(request).await
            }

            async fn chat_stream(
                &self,
                request: &$crate::types::ChatRequest,
            ) -> Result<$crate::stream::ChatStream, $crate::error::ProviderError> {
                self.inner.chat_stream(request).await
            }
        }
    };
}

pub(crate) use http_chat_model;

/// A provider's [`Defaults`]: its name, the prefix of its environment variables
/// (`OPENAI` gives `OPENAI_BASE_URL`, `OPENAI_API_KEY`, `OPENAI_MODEL`), its base URL and
/// the endpoint's path below it.
macro_rules! defaults {
    ($provider:expr, $env:literal, $base_url:literal, $path:literal) => {
        $crate::http::client::Defaults {
            provider: $provider,
            base_url: $base_url,
            base_url_env: concat!($env, "_BASE_URL"),
            api_key_env: concat!($env, "_API_KEY"),
            model_env: concat!($env, "_MODEL"),
            path: $path,
        }
    };
}

pub(crate) use defaults;

/// Where a provider's defaults come from.
pub(crate) struct Defaults {
    pub(crate) provider: &'static str,
    pub(crate) base_url: &'static str,
    pub(crate) base_url_env: &'static str,
    pub(crate) api_key_env: &'static str,
    pub(crate) model_env: &'static str,
    pub(crate) path: &'static str,
}

/// The builder state both HTTP clients share.
#[derive(Default)]
pub(crate) struct CommonBuilder {
    pub(crate) base_url: Option<String>,
    pub(crate) api_key: Option<SecretString>,
    pub(crate) model: Option<String>,
    pub(crate) headers: Vec<(String, SecretString)>,
    pub(crate) settings: HttpSettings,
    pub(crate) ignore_env: bool,
}

impl fmt::Debug for CommonBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommonBuilder")
            .field("base_url", &self.base_url.as_deref().map(without_userinfo))
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("model", &self.model)
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("settings", &self.settings)
            .field("ignore_env", &self.ignore_env)
            .finish()
    }
}

/// How the key was found, to say what to fix when the server refuses it.
#[derive(Debug, Clone)]
enum KeySource {
    Builder,
    Env(&'static str),
    Missing(&'static str),
}

/// A built HTTP client's shared state.
pub(crate) struct Core {
    pub(crate) provider: &'static str,
    pub(crate) http: reqwest::Client,
    pub(crate) endpoint: reqwest::Url,
    pub(crate) model: String,
    pub(crate) api_key: Option<SecretString>,
    pub(crate) headers: HeaderMap,
    pub(crate) settings: HttpSettings,
    /// Every secret above, and the base URL's password.
    pub(crate) redactor: Redactor,
    key_source: KeySource,
}

/// `text` with its `%XX` escapes decoded (an invalid escape or non-UTF-8 result is
/// kept as written).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

/// A URL as text, with any `user:password@` part replaced; text that does not parse
/// is hidden whole if it might hold one.
fn without_userinfo(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            // Both only fail for URLs that cannot have credentials at all.
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            format!("{parsed} (credentials hidden)")
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) if url.contains('@') => "<hidden: it may contain credentials>".to_owned(),
        Err(_) => url.to_owned(),
    }
}

impl fmt::Debug for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("provider", &self.provider)
            .field("endpoint", &without_userinfo(self.endpoint.as_str()))
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("timeout", &self.settings.timeout)
            .field("read_timeout", &self.settings.read_timeout)
            .finish_non_exhaustive()
    }
}

impl Core {
    /// Resolves builder settings against the environment and the provider's defaults.
    ///
    /// A key is required only for the provider's own endpoint: local servers usually
    /// run without one.
    pub(crate) fn build(b: CommonBuilder, d: &Defaults) -> Result<Core, ConfigError> {
        let from_env = |var: &'static str| {
            if b.ignore_env { Ok(None) } else { env_var(var) }
        };
        let base_url = match b.base_url {
            Some(url) => url,
            None => from_env(d.base_url_env)?.unwrap_or_else(|| d.base_url.to_owned()),
        };
        let is_default_base = base_url.trim_end_matches('/') == d.base_url;
        let (api_key, key_source) = match b.api_key {
            Some(key) => (Some(key), KeySource::Builder),
            None => match from_env(d.api_key_env)? {
                Some(key) => (Some(SecretString::from(key)), KeySource::Env(d.api_key_env)),
                None if is_default_base => {
                    return Err(ConfigError::MissingApiKey {
                        var: d.api_key_env.to_owned(),
                    });
                }
                None => (None, KeySource::Missing(d.api_key_env)),
            },
        };
        let model = match b.model {
            Some(model) => model,
            None => from_env(d.model_env)?.ok_or_else(|| ConfigError::MissingModel {
                var: d.model_env.to_owned(),
            })?,
        };
        let endpoint = endpoint(&base_url, d.path)?;
        // The URL's password is kept as written and percent-decoded: a server may echo
        // either form.
        let password = endpoint.password().unwrap_or("");
        let decoded = percent_decode(password);
        let redactor = Redactor::new(
            api_key
                .iter()
                .chain(b.headers.iter().map(|(_, value)| value))
                .map(|s| s.expose_secret())
                .chain([password, decoded.as_str()]),
        );
        Ok(Core {
            provider: d.provider,
            http: build_client(&b.settings)?,
            endpoint,
            model,
            api_key,
            headers: extra_headers(&b.headers)?,
            settings: b.settings,
            redactor,
            key_source,
        })
    }

    /// The model for a request: its own, or the client's.
    pub(crate) fn model_for<'a>(&'a self, requested: Option<&'a str>) -> &'a str {
        requested.unwrap_or(&self.model)
    }

    /// A POST to the endpoint with the JSON body and the extra headers.
    pub(crate) fn post(&self, body: Vec<u8>, stream: bool) -> reqwest::RequestBuilder {
        let request = self
            .http
            .post(self.endpoint.clone())
            .headers(self.headers.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if stream {
            // No total timeout: a long reply may stream for minutes. The client's read
            // timeout still fails a stream that stalls.
            request.header(reqwest::header::ACCEPT, "text/event-stream")
        } else {
            request
                .header(reqwest::header::ACCEPT, "application/json")
                .timeout(self.settings.timeout)
        }
    }

    /// What to tell the user when the server refuses the key.
    pub(crate) fn auth_hint(&self) -> String {
        match &self.key_source {
            KeySource::Builder => "check the key passed to `.api_key(..)`".to_owned(),
            KeySource::Env(var) => format!("set {var} to a valid key"),
            KeySource::Missing(var) => format!("no api key was sent; set {var}"),
        }
    }

    pub(crate) fn error_context<'a>(&'a self, model: &'a str, hint: &'a str) -> ErrorContext<'a> {
        ErrorContext {
            provider: self.provider,
            model,
            auth_hint: hint,
        }
    }

    /// The most bytes a streamed event may have.
    pub(crate) fn max_event(&self) -> usize {
        self.settings.max_response_bytes
    }
}

/// Generates the builder setters both HTTP clients share, with their docs.
macro_rules! common_builder_methods {
    ($builder:ident, $client:literal, $key_env:literal, $base_env:literal, $model_env:literal) => {
        impl $builder {
            /// Sets the base URL.
            ///
            /// # Default
            ///
            #[doc = concat!("The `", $base_env, "` environment variable, else the provider's endpoint.")]
            pub fn base_url(mut self, url: impl Into<String>) -> Self {
                self.common.base_url = Some(url.into());
                self
            }

            /// Sets the API key, held as a secret: it never appears in `Debug` output,
            /// errors or logs.
            ///
            /// # Default
            ///
            #[doc = concat!("The `", $key_env, "` environment variable. Without either, ",
                "building fails for the provider's own endpoint and sends no key elsewhere.")]
            pub fn api_key(mut self, key: impl Into<String>) -> Self {
                self.common.api_key = Some(secrecy::SecretString::from(key.into()));
                self
            }

            /// Sets the model requests go to (a request may override it).
            ///
            /// # Default
            ///
            #[doc = concat!("The `", $model_env, "` environment variable; building fails without either.")]
            pub fn model(mut self, model: impl Into<String>) -> Self {
                self.common.model = Some(model.into());
                self
            }

            /// Adds a header sent with every request (a proxy's key, an organisation id).
            /// Values are treated as secrets.
            pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
                self.common
                    .headers
                    .push((name.into(), secrecy::SecretString::from(value.into())));
                self
            }

            /// Sets the total time allowed for a request that is not streamed.
            ///
            /// # Default
            ///
            /// 120 seconds. It must be from 1 ms to 365 days: `build()` refuses anything
            /// else with [`ConfigError::InvalidTimeout`](crate::ConfigError::InvalidTimeout).
            pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
                self.common.settings.timeout = timeout;
                self
            }

            /// Sets the time allowed to connect.
            ///
            /// # Default
            ///
            /// 10 seconds. It must be from 1 ms to 365 days: `build()` refuses anything
            /// else with [`ConfigError::InvalidTimeout`](crate::ConfigError::InvalidTimeout).
            pub fn connect_timeout(mut self, timeout: std::time::Duration) -> Self {
                self.common.settings.connect_timeout = timeout;
                self
            }

            /// Sets the longest wait for the next bytes of a reply, so a stalled stream
            /// fails (as [`ProviderError::Timeout`](crate::ProviderError::Timeout)) instead of hanging.
            ///
            /// # Default
            ///
            /// 60 seconds. It must be from 1 ms to 365 days: `build()` refuses anything
            /// else with [`ConfigError::InvalidTimeout`](crate::ConfigError::InvalidTimeout).
            pub fn read_timeout(mut self, timeout: std::time::Duration) -> Self {
                self.common.settings.read_timeout = timeout;
                self
            }

            /// Sets the largest reply body (or streamed event, or the tool-call arguments of
            /// a streamed reply in all) accepted, in bytes.
            ///
            /// # Default
            ///
            /// 8 MiB.
            pub fn max_response_bytes(mut self, bytes: usize) -> Self {
                self.common.settings.max_response_bytes = bytes;
                self
            }

            /// Ignores the environment: only what the builder was given counts.
            /// Useful in tests, so a developer's own key is never picked up.
            pub fn ignore_env(mut self) -> Self {
                self.common.ignore_env = true;
                self
            }
        }
    };
}

pub(crate) use common_builder_methods;
