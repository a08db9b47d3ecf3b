//! The state enum: one variant per step, holding what the step takes.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::Cx;
use crate::model::Kind;

/// The state enum and its `node()`.
pub(super) fn expand_state(cx: &Cx<'_>) -> TokenStream {
    let graph = cx.graph;
    let (name, state) = (cx.name, &cx.state);
    let input_of = |k: usize| {
        let node = &graph.nodes[k];
        let ty = &node.ty;
        quote_spanned!(node.name.span()=> <#ty as ::typedflow::Node>::Input)
    };
    let variants: Vec<_> = graph.steps().map(|(_, n)| &n.variant).collect();
    let variant_tys = graph.steps().map(|(i, n)| match &n.kind {
        // A fan-out holds its first branch's input: the items, for a map `([w; 4], ..)`.
        Kind::Fan { branches, .. } if branches[0].is_mapped(0) => {
            let item = input_of(branches[0].first());
            quote!(::std::vec::Vec<#item>)
        }
        Kind::Fan { branches, .. } => input_of(branches[0].first()),
        Kind::Map { worker, .. } => {
            let item = input_of(*worker);
            quote!(::std::vec::Vec<#item>)
        }
        _ => input_of(i),
    });
    let step_names: Vec<String> = graph.steps().map(|(i, _)| graph.step_name(i)).collect();
    // Each arm on its node's name, where the node's input type is checked.
    let name_arms = variants
        .iter()
        .zip(&step_names)
        .map(|(v, n)| quote_spanned!(v.span()=> Self::#v(_) => #n,));
    // Docs on the variants only where the enum can be seen: each is an attribute for
    // rustc to parse and hash (`scripts/compile-time.sh`).
    let variant_docs = step_names.iter().map(|n| {
        let doc = format!("`{n}` runs next, with this input.");
        graph.durable.then(|| quote!(#[doc = #doc]))
    });
    let state_doc =
        format!("The state of a run of [`{name}`]: the step that runs next, holding its input.");
    // Private, but for a durable flow, whose checkpoints hold it: its variants hold the
    // inputs of nodes that may be private, which a public state shows (allowed).
    let (vis, allow) = if graph.durable {
        (graph.vis.clone(), quote!(#[allow(private_interfaces)]))
    } else {
        (syn::Visibility::Inherited, TokenStream::new())
    };
    quote! {
        #[doc = #state_doc]
        #[allow(dead_code)]
        #allow
        #vis enum #state {
            #(
                #variant_docs
                #variants(#variant_tys),
            )*
        }

        impl #state {
            /// The name of the step this state runs next.
            pub fn node(&self) -> &'static str {
                match self {
                    #(#name_arms)*
                }
            }
        }
    }
}
