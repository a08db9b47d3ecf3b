//! `graph!`: the flow type, its state enum, the run loop, and the static description.
//! One file per thing emitted: `state` (the state enum and the node states), `hand`
//! (the type-checked hand-overs between steps), `steps` (the run loop and its arms),
//! `parallel` (fan-outs and maps), `api` (the flow type and its methods), `describe`
//! (the `Flow` impl and the description constants), `subgraph` (the flow as a node).
//!
//! Assumes validation passed: one entry, one way on per step, every step reachable, and
//! the nodes inside fan-outs and maps without edges of their own.
//!
//! Type checks are not separate assertions: every hand-over in the run loop goes through
//! a check of `typedflow::checks` (`hand`, `send`), spanned on the user's token (the
//! edge's target, the route arm, the header's types). A wrong type so fails exactly
//! once, where the user wrote it, and the loop has no other use of the mismatched value.
//! Behaviour that does not depend on the graph (the join of a fan-out, the error of a
//! failed node, running a map) lives in `typedflow::__private`, generic and tested once.

mod api;
mod describe;
mod durable;
mod hand;
mod interrupt;
mod parallel;
mod send;
mod state;
mod steps;
mod subgraph;

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::{Ident, LitStr};

use crate::model::Graph;

/// Everything the pieces of the expansion share.
struct Cx<'a> {
    graph: &'a Graph,
    /// The flow type.
    name: &'a Ident,
    /// The state enum.
    state: Ident,
    /// The struct holding every node's state (`__Flow{Name}Nodes`).
    nodes_ty: Ident,
    /// The dependencies type, `()` when the flow has none.
    deps: TokenStream,
    display_name: &'a LitStr,
}

impl<'a> Cx<'a> {
    fn new(graph: &'a Graph) -> Self {
        let name = &graph.name;
        Cx {
            graph,
            name,
            state: format_ident!("{}State", name),
            nodes_ty: format_ident!("__Flow{}Nodes", name),
            deps: match &graph.deps {
                Some(ty) => quote!(#ty),
                None => quote!(()),
            },
            display_name: &graph.display_name,
        }
    }

    /// `<ty as Node>::what` for every user node, spanned on its name: the errors of a name
    /// that is not a node all fall on one token, where rustc merges the identical ones.
    fn each_node(&self, what: &str) -> Vec<TokenStream> {
        self.graph
            .user_nodes()
            .map(|(_, n)| {
                // Every token on the name, `what` too: a path of tokens spanned apart
                // would be reported on the whole `graph!`.
                let what = Ident::new(what, n.name.span());
                let ty = &n.ty;
                quote_spanned!(n.name.span()=> <#ty as ::typedflow::Node>::#what)
            })
            .collect()
    }

    /// The state enum's name spanned on `at`, a node's name: a path to one of its
    /// variants then lies on that name alone, where an error about the node goes.
    fn state_at(&self, at: proc_macro2::Span) -> Ident {
        Ident::new(&self.state.to_string(), at)
    }

    /// The flow's step limit, as an expression.
    fn max_steps(&self) -> TokenStream {
        match self.graph.max_steps {
            Some(n) => quote!(#n),
            None => quote!(::typedflow::DEFAULT_MAX_STEPS),
        }
    }

    /// `fut` bounded by the flow's timeout, if it has one.
    fn with_deadline(&self, fut: TokenStream) -> TokenStream {
        let display_name = self.display_name;
        match &self.graph.timeout {
            Some(timeout) => {
                quote!(::typedflow::__private::deadline(#display_name, #timeout, #fut))
            }
            None => fut,
        }
    }
}

pub fn expand_flow(graph: &Graph) -> TokenStream {
    let cx = Cx::new(graph);
    let state = state::expand_state(&cx);
    let api = api::expand_api(&cx);
    let subgraph = subgraph::expand_subgraph(&cx);
    let flow_impl = describe::expand_flow_impl(&cx);
    let durable = durable::expand_durable(&cx);
    quote! {
        #api
        #state
        #subgraph
        #flow_impl
        #durable
    }
}

/// A type as the user wrote it, for messages and the description: `Vec<String>`,
/// `a::b`, keeping spaces after commas.
pub(crate) fn type_string(tokens: &impl quote::ToTokens) -> String {
    let s = tokens.to_token_stream().to_string();
    s.replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" < ", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace("& ", "&")
}
