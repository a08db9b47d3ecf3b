//! Diagnostics: the collector every stage reports into, and (in `catalogue`) every
//! message the macros emit.
//!
//! One collector per macro invocation. Its errors must be emitted (`take_tokens` or
//! `take_checks`) before it is dropped: in debug builds a collector dropped with errors in
//! it panics, so a stage that reports and then forgets to emit is caught by the tests
//! (serde's `Ctxt`).
//!
//! Two ways out. `take_tokens` writes every error as a `compile_error!`. `take_checks`,
//! used by `graph!` when it still emits a flow type, writes each of our errors as a
//! type check that fails with the message (a local trait with
//! `#[diagnostic::on_unimplemented]`, asked of a type at the user's token). The reason is
//! measured on rustc 1.95: once any macro of a crate expands to `compile_error!`, rustc
//! drops every "cannot find" error of that crate, so a graph with a dead end would hide
//! a misspelled node name until the dead end is fixed. A type check is reported after
//! name resolution, beside rustc's own errors, and one about a named node is asked of
//! the node's type, so a name that does not exist is reported once, by rustc.

pub mod catalogue;

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, quote_spanned};

pub use catalogue::Message;

/// Collects errors across the stages of one invocation.
#[derive(Default)]
pub struct Diagnostics {
    errors: Vec<Reported>,
}

enum Reported {
    /// A parse error of syn's (or one of ours built inside a parser).
    Syn(syn::Error),
    /// A message of the catalogue on the tokens from `start` to `end`, about the node
    /// of type `node` if it names one.
    Ours {
        start: Span,
        end: Span,
        message: Message,
        node: Option<syn::Path>,
    },
}

impl Diagnostics {
    /// Reports a message of the catalogue at `span`.
    pub fn error(&mut self, span: Span, message: Message) {
        self.errors.push(Reported::Ours {
            start: span,
            end: span,
            message,
            node: None,
        });
    }

    /// Reports a message of the catalogue about the node of type `node`, at `span` (its
    /// name in the graph). When the name is not in scope, rustc's "cannot find" error is
    /// the only one reported for it.
    pub fn error_on_node(&mut self, span: Span, node: &syn::Path, message: Message) {
        self.errors.push(Reported::Ours {
            start: span,
            end: span,
            message,
            node: Some(node.clone()),
        });
    }

    /// Reports a message of the catalogue on `tokens` (from their first token to their
    /// last).
    pub fn error_spanned(&mut self, tokens: impl ToTokens, message: Message) {
        let mut spans = tokens.into_token_stream().into_iter().map(|t| t.span());
        let start = spans.next().unwrap_or_else(Span::call_site);
        let end = spans.last().unwrap_or(start);
        self.errors.push(Reported::Ours {
            start,
            end,
            message,
            node: None,
        });
    }

    /// Reports an error already built: a parse error of syn's, or one of ours built
    /// inside a parser with a catalogue message.
    pub fn push(&mut self, error: syn::Error) {
        self.errors.push(Reported::Syn(error));
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// The errors as `compile_error!` invocations, leaving the collector empty.
    pub fn take_tokens(&mut self) -> TokenStream {
        self.take_with(|start, end, message, _| compile_error(start, end, &message.to_string()))
    }

    /// The errors as failing type checks (see the module docs), except syn's, which stay
    /// `compile_error!`s; leaves the collector empty. Only for item position.
    pub fn take_checks(&mut self) -> TokenStream {
        self.take_with(|start, end, message, node| failing_check(start, end, &message, node))
    }

    /// Every error, syn's as `compile_error!`, ours through `ours`; leaves none.
    fn take_with(
        &mut self,
        ours: impl Fn(Span, Span, Message, Option<&syn::Path>) -> TokenStream,
    ) -> TokenStream {
        let mut tokens = TokenStream::new();
        for reported in std::mem::take(&mut self.errors) {
            tokens.extend(match reported {
                Reported::Syn(error) => error.into_compile_error(),
                Reported::Ours {
                    start,
                    end,
                    message,
                    node,
                } => ours(start, end, message, node.as_ref()),
            });
        }
        tokens
    }

    #[cfg(test)]
    pub fn messages(&mut self) -> Vec<String> {
        std::mem::take(&mut self.errors)
            .into_iter()
            .flat_map(|reported| match reported {
                Reported::Syn(e) => e.into_iter().map(|e| e.to_string()).collect(),
                Reported::Ours { message, .. } => vec![message.to_string()],
            })
            .collect()
    }
}

impl Drop for Diagnostics {
    fn drop(&mut self) {
        // A bug of ours, never of the user's input: errors were reported and dropped.
        if cfg!(debug_assertions) && !self.errors.is_empty() && !std::thread::panicking() {
            panic!("typedflow-macros: errors were collected but never emitted");
        }
    }
}

/// `compile_error!("..")` spanning `start` to `end`, as syn writes it.
fn compile_error(start: Span, end: Span, text: &str) -> TokenStream {
    let range: TokenStream = [start, end]
        .into_iter()
        .map(|span| TokenTree::from(proc_macro2::Ident::new("_", span)))
        .collect();
    syn::Error::new_spanned(range, text).into_compile_error()
}

/// A type check that fails with `message`: the message's first clause is the headline,
/// the rest (how to fix it) the label on the user's token; the help line rustc adds reads
/// "the trait `NoDeadEnd` is not implemented for `c`" (for a node, whose function rustc
/// shows) or "for `Graph`", naming the rule by its code.
fn failing_check(
    start: Span,
    end: Span,
    message: &Message,
    node: Option<&syn::Path>,
) -> TokenStream {
    let text = message.to_string();
    let (headline, fix) = split_headline(&text);
    let headline = escape_braces(headline);
    let label = fix.map(|fix| {
        let fix = escape_braces(fix);
        quote_spanned!(start=> label = #fix,)
    });
    let rule = proc_macro2::Ident::new(&rule_name(message.code.name()), start);
    let graph = respan(
        quote_spanned!(start=> ::typedflow::checks::Graph),
        start,
        end,
    );
    // About a node: the rule is asked of that node's type, so a name that does not
    // resolve makes rustc drop this error and report only the name; and rustc's help line
    // reads "the trait `NoDeadEnd` is not implemented for `c`", the node.
    let subject = match node {
        Some(path) => respan(path.to_token_stream(), start, end),
        None => graph,
    };
    quote_spanned! {start=>
        const _: () = {
            #[diagnostic::on_unimplemented(message = #headline, #label)]
            trait #rule {
                const CHECK: ();
            }
            #[diagnostic::do_not_recommend]
            impl<T: #rule> #rule for [T; 0] {
                const CHECK: () = ();
            }
            // A `static` takes no generics: rustc suggests none for a name not in scope.
            static CHECKED: () = <#subject as #rule>::CHECK;
        };
    }
}

/// The tokens with every span set to `start`, except the last token's, set to `end`, so
/// that rustc reports the whole range.
fn respan(tokens: TokenStream, start: Span, end: Span) -> TokenStream {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let last = tokens.len().saturating_sub(1);
    tokens
        .into_iter()
        .enumerate()
        .map(|(i, mut t)| {
            t.set_span(if i == last { end } else { start });
            t
        })
        .collect()
}

/// Splits "what is wrong; how to fix it" at its first `; ` outside backticks, or else at
/// its first `: `.
fn split_headline(text: &str) -> (&str, Option<&str>) {
    split_at_first(text, ';')
        .or_else(|| split_at_first(text, ':'))
        .map_or((text, None), |(a, b)| (a, Some(b)))
}

/// `text` split around the first `sep` that is outside backticks and followed by a space.
fn split_at_first(text: &str, sep: char) -> Option<(&str, &str)> {
    let mut in_code = false;
    for (i, c) in text.char_indices() {
        if c == '`' {
            in_code = !in_code;
        } else if c == sep && !in_code && text[i + 1..].starts_with(' ') {
            return Some((&text[..i], &text[i + 2..]));
        }
    }
    None
}

/// `on_unimplemented` reads `{..}` as a parameter; our braces are text.
fn escape_braces(text: &str) -> String {
    text.replace('{', "{{").replace('}', "}}")
}

/// `dead_end` -> `NoDeadEnd`: the rule a graph breaks, by its code.
fn rule_name(code: &str) -> String {
    let mut name = String::from("No");
    for word in code.split('_') {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            name.extend(first.to_uppercase());
            name.push_str(chars.as_str());
        }
    }
    name
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_splits_into_headline_and_fix_outside_code() {
        assert_eq!(
            split_headline("node `a; b` has no way on; add `a -> END;`"),
            ("node `a; b` has no way on", Some("add `a -> END;`"))
        );
        assert_eq!(
            split_headline("`timeout` needs a unit: write `30s`"),
            ("`timeout` needs a unit", Some("write `30s`"))
        );
        assert_eq!(split_headline("no fix here"), ("no fix here", None));
    }

    #[test]
    fn a_rule_is_named_by_its_code_and_braces_are_text() {
        assert_eq!(rule_name("dead_end"), "NoDeadEnd");
        assert_eq!(escape_braces("`c => { .. }`"), "`c => {{ .. }}`");
    }

    /// Every error of the collector leaves it as a check, syn's as a `compile_error!`.
    #[test]
    fn checks_keep_syntax_errors_as_compile_errors() {
        let mut cx = Diagnostics::default();
        let node: syn::Path = syn::parse_quote!(steps::c);
        cx.error_on_node(Span::call_site(), &node, catalogue::dead_end("c"));
        cx.error(Span::call_site(), catalogue::loop_never_ends());
        cx.push(syn::parse_str::<syn::Ident>("->").unwrap_err());
        let text = cx.take_checks().to_string();
        assert_eq!(text.matches("on_unimplemented").count(), 2, "{text}");
        assert!(text.contains("< steps :: c as NoDeadEnd >"), "{text}");
        assert_eq!(text.matches("compile_error").count(), 1, "{text}");
        assert!(!cx.has_errors());
    }
}
