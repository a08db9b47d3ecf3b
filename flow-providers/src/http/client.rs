//! The part of a client both HTTP providers share: settings read from the builder and
//! the environment, the `reqwest` client, the key, and the per-request plumbing.

use core::fmt;

use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret as _, SecretString};

use super::{ErrorContext, HttpSettings, build_client, endpoint, env_var, extra_headers};
use crate::error::ConfigError;
use crate::redact::Redactor;

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
            /// 120 seconds.
            pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
                self.common.settings.timeout = timeout;
                self
            }

            /// Sets the time allowed to connect.
            ///
            /// # Default
            ///
            /// 10 seconds.
            pub fn connect_timeout(mut self, timeout: std::time::Duration) -> Self {
                self.common.settings.connect_timeout = timeout;
                self
            }

            /// Sets the longest wait for the next bytes of a reply, so a stalled stream
            /// fails (as [`ProviderError::Timeout`](crate::ProviderError::Timeout)) instead of hanging.
            ///
            /// # Default
            ///
            /// 60 seconds.
            pub fn read_timeout(mut self, timeout: std::time::Duration) -> Self {
                self.common.settings.read_timeout = timeout;
                self
            }

            /// Sets the largest reply body (or streamed event) accepted, in bytes.
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
