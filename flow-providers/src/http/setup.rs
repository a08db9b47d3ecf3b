//! Setting a client up: settings and their limits, the environment, the base URL, the
//! `reqwest` client (which follows no redirect), and secret headers.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret as _, SecretString};

use crate::error::ConfigError;

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
/// redirect leaves the origin. A redirect answer becomes an error instead (see [`send`](super::send)).
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
