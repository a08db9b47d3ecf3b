//! The one place secrets are taken out of text.
//!
//! A client's [`Redactor`] holds every secret the client sends: the API key, each value
//! given with `.header(..)`, and the password of a base URL. Every [`ProviderError`]
//! a client returns passes through [`ProviderError::redact`] before it is logged,
//! recorded on a span or handed to the caller, and the model name is redacted before it
//! becomes a span field or a metric label; so a server (or proxy) echoing a secret, in
//! any field of any answer, never gets it out of the crate.
//!
//! [`ProviderError`]: crate::ProviderError
//! [`ProviderError::redact`]: crate::ProviderError

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use secrecy::{ExposeSecret as _, SecretString};

/// What replaces a secret.
pub(crate) const REDACTED: &str = "[redacted]";

/// The secrets of one client; cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    /// Longest first, so a secret containing another is replaced whole.
    secrets: Arc<[SecretString]>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secret(s))", self.secrets.len())
    }
}

impl Redactor {
    /// A redactor for the given secrets; empty ones are ignored.
    pub(crate) fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut secrets: Vec<&str> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Redactor {
            secrets: secrets
                .into_iter()
                .map(|s| SecretString::from(s.to_owned()))
                .collect(),
        }
    }

    /// A redactor with no secrets: text passes unchanged.
    pub(crate) fn none() -> Self {
        Redactor::default()
    }

    /// `text` with every secret replaced by `[redacted]`.
    pub(crate) fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut out = Cow::Borrowed(text);
        for secret in self.secrets.iter() {
            let secret = secret.expose_secret();
            if out.contains(secret) {
                out = Cow::Owned(out.replace(secret, REDACTED));
            }
        }
        out
    }

    /// Redacts `text` in place.
    pub(crate) fn redact_in_place(&self, text: &mut String) {
        if let Cow::Owned(redacted) = self.redact(text) {
            *text = redacted;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_every_secret_longest_first() {
        let r = Redactor::new(["abc", "", "abcdef", "xyz"]);
        assert_eq!(
            r.redact("k=abcdef; h=abc; x=xyz xyz"),
            "k=[redacted]; h=[redacted]; x=[redacted] [redacted]"
        );
        assert!(matches!(r.redact("nothing here"), Cow::Borrowed(_)));
        assert_eq!(Redactor::none().redact("abc"), "abc");
        assert!(!format!("{r:?}").contains("abc"));
    }
}
