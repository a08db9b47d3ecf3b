//! Procedural macros of `flow`. Depend on `typedflow`, which re-exports them; the
//! generated code names only `::typedflow::..`, `::core::..` and `::std::..` paths.
//!
//! Each macro runs the same stages: parse -> model -> validate -> expand, reporting into
//! one `diag::Diagnostics` and stopping between stages only when a later one needs the
//! earlier result. On errors the user's items are still emitted (see `expand::fallback`).

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::quote;

mod diag;
mod expand;
mod model;
mod parse;
mod tool;
mod validate;

#[cfg(test)]
mod tests;

use diag::{Diagnostics, catalogue as msg};
use parse::args::{FlowArgs, parse_flow_args};

/// Makes an `async fn` a node of a graph. See `typedflow::node`.
#[proc_macro_attribute]
pub fn node(args: TokenStream, item: TokenStream) -> TokenStream {
    debug("node", node_impl(args.into(), item.into())).into()
}

/// Settings of a flow, on a `graph!` invocation. See `typedflow::flow`.
#[proc_macro_attribute]
pub fn flow(args: TokenStream, item: TokenStream) -> TokenStream {
    debug("flow", flow_attr_impl(args.into(), item.into())).into()
}

/// Declares a flow. See `typedflow::graph`.
#[proc_macro]
pub fn graph(input: TokenStream) -> TokenStream {
    debug("graph", graph_impl(FlowArgs::default(), input.into())).into()
}

/// Implements `Provides<Field>` for the type of each field. See `typedflow::Deps`.
#[proc_macro_derive(Deps)]
pub fn derive_deps(input: TokenStream) -> TokenStream {
    derive(input, |cx, input| {
        parse::derive::parse_deps(cx, input).map(|s| expand::deps::expand_deps(&s))
    })
}

/// Merges a later branch's state into an earlier one, field by field. See
/// `typedflow::Merge`.
#[proc_macro_derive(Merge, attributes(merge))]
pub fn derive_merge(input: TokenStream) -> TokenStream {
    derive(input, |cx, input| {
        parse::derive::parse_merge(cx, input).map(|s| expand::merge::expand_merge(&s))
    })
}

/// Makes an `async fn` of one argument a tool a model can call. See
/// `typedflow_providers::tool`, which re-exports it.
#[proc_macro_attribute]
pub fn tool(args: TokenStream, item: TokenStream) -> TokenStream {
    debug("tool", tool::expand(args.into(), item.into())).into()
}

/// A derive: parse the input, then `f` reads and expands it, reporting into one collector.
fn derive(
    input: TokenStream,
    f: impl FnOnce(&mut Diagnostics, &syn::DeriveInput) -> Option<TokenStream2>,
) -> TokenStream {
    let input = match syn::parse::<syn::DeriveInput>(input) {
        Ok(input) => input,
        Err(err) => return err.into_compile_error().into(),
    };
    let mut cx = Diagnostics::default();
    let tokens = f(&mut cx, &input).unwrap_or_default();
    emit(cx, tokens).into()
}

/// `FLOW_MACROS_DEBUG=1` prints each expansion to stderr.
fn debug(name: &str, tokens: TokenStream2) -> TokenStream2 {
    if std::env::var_os("FLOW_MACROS_DEBUG").is_some_and(|v| v == "1") {
        eprintln!("typedflow-macros: #[{name}] expanded to:\n{tokens}\n");
    }
    tokens
}

pub(crate) fn node_impl(args: TokenStream2, item: TokenStream2) -> TokenStream2 {
    let mut cx = Diagnostics::default();
    let policy_args = parse::args::parse_node_args(&mut cx, args);
    let func: parse::node::NodeItem = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(_) => {
            cx.error(proc_macro2::Span::call_site(), msg::node_not_fn());
            return emit(cx, item);
        }
    };
    let sig = parse::node::parse_node_sig(&mut cx, &func);
    let errors = cx.take_tokens();
    // The function is emitted exactly as written, whatever else failed.
    let generated = match sig {
        Some(sig) if errors.is_empty() => expand::node::expand_node(&sig, &policy_args),
        _ => expand::fallback::expand_node_stand_in(&func),
    };
    quote!(#errors #item #generated)
}

fn flow_attr_impl(args: TokenStream2, item: TokenStream2) -> TokenStream2 {
    let mut cx = Diagnostics::default();
    let mut flow_args = FlowArgs::default();
    parse_flow_args(&mut cx, args, &mut flow_args);
    let mac = match syn::parse2::<syn::ItemMacro>(item.clone()) {
        Ok(mac)
            if mac
                .mac
                .path
                .segments
                .last()
                .is_some_and(|s| s.ident == "graph") =>
        {
            mac
        }
        _ => {
            cx.error(
                proc_macro2::Span::call_site(),
                msg::flow_attr_not_on_graph(),
            );
            return emit(cx, item);
        }
    };
    let mut graph_tokens = TokenStream2::new();
    // Doc comments written above `#[flow]` belong to the flow type.
    for attr in &mac.attrs {
        graph_tokens.extend(quote!(#attr));
    }
    graph_tokens.extend(mac.mac.tokens);
    let expanded = expand_graph(&mut cx, flow_args, graph_tokens);
    emit(cx, expanded)
}

pub(crate) fn graph_impl(args: FlowArgs, tokens: TokenStream2) -> TokenStream2 {
    let mut cx = Diagnostics::default();
    let expanded = expand_graph(&mut cx, args, tokens);
    emit(cx, expanded)
}

/// The errors of the invocation, then what it generated.
fn emit(mut cx: Diagnostics, tokens: TokenStream2) -> TokenStream2 {
    let errors = cx.take_tokens();
    quote!(#errors #tokens)
}

/// parse -> model -> validate -> expand for `graph!`, reporting into `cx`. With errors:
/// the errors as failing type checks, the fallback flow type (see `expand::fallback`) and
/// a use of each node's name, so that rustc also reports names not in scope (see
/// `diag`); or the errors alone, as `compile_error!`s, when not even the header could be
/// read or the flow's name is a node's.
fn expand_graph(cx: &mut Diagnostics, mut args: FlowArgs, tokens: TokenStream2) -> TokenStream2 {
    let mut input = match parse::graph::parse_graph(cx, tokens) {
        Ok(input) => input,
        Err(err) => {
            cx.push(err);
            return cx.take_tokens();
        }
    };
    // `#[flow(..)]` may also sit inside the invocation, above the header.
    input.attrs.retain(|attr| {
        if !attr.path().is_ident("flow") {
            return true;
        }
        match attr.meta.require_list() {
            Ok(list) => parse_flow_args(cx, list.tokens.clone(), &mut args),
            Err(err) => cx.push(err),
        }
        false
    });
    for attr in &input.attrs {
        if !attr.path().is_ident("doc") {
            cx.error_spanned(attr, msg::graph_attribute());
        }
    }
    let fallback = expand::fallback::expand_fallback(&input, args.deps.as_ref());
    if cx.has_errors() {
        let checks = cx.take_checks();
        return quote!(#checks #fallback);
    }
    let graph = model::resolve(cx, input, args);
    validate::all(cx, &graph);
    if !cx.has_errors() {
        return expand::flow::expand_flow(&graph);
    }
    // A flow type named like a node would clash with it: the error says so, alone.
    if validate::flow_named_like_node(&graph) {
        return cx.take_tokens();
    }
    let checks = cx.take_checks();
    let names = expand::fallback::node_names(&graph);
    quote!(#checks #fallback #names)
}
