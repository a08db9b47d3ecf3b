//! Diagnostics: the collector every stage reports into, and (in `catalogue`) every
//! message the macros emit.
//!
//! One collector per macro invocation. Its errors must be emitted (`take_tokens`) before
//! it is dropped: in debug builds a collector dropped with errors in it panics, so a
//! stage that reports and then forgets to emit is caught by the tests (serde's `Ctxt`).

pub mod catalogue;

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;

pub use catalogue::Message;

/// Collects errors across the stages of one invocation.
#[derive(Default)]
pub struct Diagnostics {
    errors: Option<syn::Error>,
}

impl Diagnostics {
    /// Reports a message of the catalogue at `span`.
    pub fn error(&mut self, span: Span, message: Message) {
        self.push(syn::Error::new(span, message));
    }

    /// Reports a message of the catalogue on `tokens` (their first span, or the joined
    /// span where the compiler allows it).
    pub fn error_spanned(&mut self, tokens: impl ToTokens, message: Message) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Reports an error already built: a parse error of syn's, or one of ours built
    /// inside a parser with a catalogue message.
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.errors {
            Some(errors) => errors.combine(error),
            None => self.errors = Some(error),
        }
    }

    pub fn has_errors(&self) -> bool {
        self.errors.is_some()
    }

    /// The errors as `compile_error!` invocations, leaving the collector empty.
    pub fn take_tokens(&mut self) -> TokenStream {
        self.errors
            .take()
            .map(syn::Error::into_compile_error)
            .unwrap_or_default()
    }

    #[cfg(test)]
    pub fn messages(&mut self) -> Vec<String> {
        self.errors
            .take()
            .into_iter()
            .flat_map(|e| e.into_iter().map(|e| e.to_string()))
            .collect()
    }
}

impl Drop for Diagnostics {
    fn drop(&mut self) {
        // A bug of ours, never of the user's input: errors were reported and dropped.
        if cfg!(debug_assertions) && self.errors.is_some() && !std::thread::panicking() {
            panic!("typedflow-macros: errors were collected but never emitted");
        }
    }
}

/// Suggests the closest of `candidates` to `name`, if one is close enough to be a typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
