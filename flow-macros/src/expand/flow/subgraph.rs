//! The flow as a node of another flow: it runs its own loop with the parent's
//! dependencies, under the parent's run id, counting its own steps.

use proc_macro2::TokenStream;
use quote::quote;

use super::Cx;

pub(super) fn expand_subgraph(cx: &Cx<'_>) -> TokenStream {
    let graph = cx.graph;
    let (name, nodes_ty, display_name) = (cx.name, &cx.nodes_ty, cx.display_name);
    let (input, output) = (&graph.input, &graph.output);
    let node_state_fns = cx.each_node("state");
    let (bound, deps) = match &graph.deps {
        Some(ty) => (
            quote!(__FlowDeps: ::typedflow::Provides<#ty>,),
            quote!(<__FlowDeps as ::typedflow::Provides<#ty>>::provide(__flow_deps)),
        ),
        None => (quote!(), quote!(&())),
    };
    let call = cx.with_deadline(quote! {
        Self::__flow_loop(
            #deps,
            __flow_state,
            ::typedflow::NoHook,
            ::typedflow::Context::new(#display_name, __flow_cx.run_id()),
            __flow_input,
        )
    });
    let node_fn = crate::expand::node::node_fn_impl(&quote!(#name), &bound, &quote!(), &call);
    quote! {
        impl ::typedflow::Node for #name {
            type Input = #input;
            type Output = #output;
            type Error = ::typedflow::FlowError;
            type State = #nodes_ty;
            const NAME: &'static str = #display_name;

            fn state() -> Self::State {
                #nodes_ty((#(#node_state_fns(),)*))
            }

            fn error_kind(error: &Self::Error) -> ::typedflow::ErrorKind {
                error.kind()
            }
        }

        const _: () = {
            #node_fn
        };
    }
}
