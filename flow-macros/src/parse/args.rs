//! Arguments of `#[flow(..)]` (and the loop shared with `#[node(..)]`).
//!
//! Parsed with syn's `ParseNestedMeta`; every value is read into a syntax tree first and
//! then checked by `parse::value`, so a bad value is reported with our wording and the
//! next argument is still read.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Expr, LitStr, Type};

use crate::diag::{Diagnostics, did_you_mean};
use crate::parse::value::{DurationLit, read_duration, read_str, read_u32};

/// The settings of a flow.
#[derive(Default)]
pub struct FlowArgs {
    pub name: Option<LitStr>,
    pub max_steps: Option<u32>,
    pub timeout: Option<DurationLit>,
    pub deps: Option<Type>,
}

const FLOW_KEYS: &[&str] = &["name", "max_steps", "timeout", "deps"];

/// Reads `#[flow(..)]` arguments into `args`.
pub fn parse_flow_args(cx: &mut Diagnostics, tokens: TokenStream, args: &mut FlowArgs) {
    parse_args(cx, "flow", tokens, FLOW_KEYS, |cx, key, meta| {
        match key {
            "deps" => args.deps = Some(meta.value()?.parse::<Type>()?),
            _ => {
                let expr: Expr = meta.value()?.parse()?;
                match key {
                    "name" => args.name = read_str(cx, key, &expr),
                    "max_steps" => args.max_steps = read_u32(cx, key, &expr, 1),
                    "timeout" => args.timeout = read_duration(cx, key, &expr),
                    _ => {}
                }
            }
        }
        Ok(())
    });
}

/// Runs `f` on each `key = value` or `key(..)` of an argument list whose keys are `keys`,
/// reporting unknown and duplicate keys (with a suggestion) and skipping their values.
pub fn parse_args(
    cx: &mut Diagnostics,
    attr: &str,
    tokens: TokenStream,
    keys: &[&str],
    mut f: impl FnMut(&mut Diagnostics, &str, &ParseNestedMeta<'_>) -> syn::Result<()>,
) {
    let mut seen: Vec<String> = Vec::new();
    let parser = syn::meta::parser(|meta| {
        let Some(ident) = meta.path.get_ident() else {
            cx.error(
                meta.path.span(),
                format!("expected an argument name of `#[{attr}]`"),
            );
            return skip_value(&meta);
        };
        let key = ident.to_string();
        if !keys.contains(&key.as_str()) {
            let hint = match did_you_mean(&key, keys.iter().copied()) {
                Some(close) => format!("did you mean `{close}`?"),
                None if keys.is_empty() => format!("`#[{attr}]` takes no arguments"),
                None => {
                    let expected = keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>();
                    format!("expected one of {}", expected.join(", "))
                }
            };
            cx.error(
                ident.span(),
                format!("unknown argument `{key}` of `#[{attr}]`; {hint}"),
            );
            return skip_value(&meta);
        }
        if seen.contains(&key) {
            cx.error(
                ident.span(),
                format!("duplicate argument `{key}`; remove one of them"),
            );
            return skip_value(&meta);
        }
        seen.push(key.clone());
        f(cx, &key, &meta)
    });
    if let Err(err) = parser.parse2(tokens) {
        cx.push(err);
    }
}

/// Consumes an argument's value, `= expr` or `(..)`, without reading it.
pub fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<TokenStream>()?;
    }
    Ok(())
}
