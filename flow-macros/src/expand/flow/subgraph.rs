//! The flow as a node of another flow: it runs its own loop with the parent's
//! dependencies, under the parent's run id, counting its own steps.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

use super::Cx;

pub(super) fn expand_subgraph(cx: &Cx<'_>) -> TokenStream {
    let graph = cx.graph;
    let (name, nodes_ty, display_name) = (cx.name, &cx.nodes_ty, cx.display_name);
    let (input, output) = (&graph.input, &graph.output);
    let nodes_value = nodes_value(cx);
    let (bound, deps) = match &graph.deps {
        Some(ty) => (
            quote!(AnyDeps: ::typedflow::Provides<#ty>,),
            quote!(<AnyDeps as ::typedflow::Provides<#ty>>::provide(__flow_deps)),
        ),
        None => (quote!(), quote!(&())),
    };
    let call_ty = format_ident!("__Flow{}Call", name);
    let call_value = quote! {
        #call_ty {
            deps: #deps,
            nodes: __flow_state,
            cx: ::typedflow::Context::new(#display_name, __flow_cx.run_id()),
            input: __flow_input,
        }
    };
    let call = quote!(::typedflow::RunStart::start(#call_value, ::typedflow::NoHook));
    // As a step of another flow, the subgraph's nodes go through the hook that flow's hook
    // chooses for them by its type (`StepHook::start_nested`): itself, naming them by
    // their paths (`sub/node`), or `NoHook` for `NoHook`, the plain call then.
    let hooked = quote!(::typedflow::StepHook::start_nested(
        __flow_hook,
        __flow_nested,
        #call_value
    ));
    let call_hooked = call_hooked(&hooked);
    let call_start = call_start(cx, &call_ty);
    // The flow is a node when its node states are `Send + Sync`, as `Node::State` must
    // be. Said as a condition (higher-ranked, so rustc takes it as one and not as a
    // fact to check here) so that a name in the graph that is not a node is reported
    // on that name alone, and not again on the flow's name as a state not `Send`.
    let sendable = quote!(for<'__flow> #nodes_ty: ::core::marker::Send + ::core::marker::Sync,);
    let bound = quote!(#bound #sendable);
    let node_fn =
        crate::expand::node::node_fn_impl(&quote!(#name), &bound, &quote!(), &call, &call_hooked);
    let nested = nested_paths(cx);
    quote! {
        impl<H> #name<H> {
            // What the flow runs inside itself (`Node::NESTED`), for its own loop too.
            #[doc(hidden)]
            const __FLOW_NESTED_NAMES: &'static [&'static str] = #nested;
        }

        impl ::typedflow::Node for #name where #sendable {
            type Input = #input;
            type Output = #output;
            type Error = ::typedflow::FlowError;
            type State = #nodes_ty;
            const NAME: &'static str = #display_name;
            const NESTED: &'static [&'static str] = Self::__FLOW_NESTED_NAMES;

            fn state() -> Self::State {
                #nodes_value
            }

            fn error_kind(error: &Self::Error) -> ::typedflow::ErrorKind {
                error.kind()
            }
        }

        const _: () = {
            #call_start
            #node_fn
        };
    }
}

/// The shared state of every user node, in `GRAPH.nodes` order, as a value of
/// `__Flow{Name}Nodes`: a node used under an alias (`node a = fetch;`) builds it named as
/// the graph names it, so its policies' events and errors speak of `a`. Built field by
/// field, so each field's type is checked on its own, on the node's name (the tuple
/// struct's constructor would check them all at once, on `graph!`).
pub(super) fn nodes_value(cx: &Cx<'_>) -> TokenStream {
    let nodes_ty = &cx.nodes_ty;
    let state_fns = cx.each_node("state");
    let fields: Vec<_> = cx
        .graph
        .user_nodes()
        .zip(state_fns)
        .enumerate()
        .map(|(p, ((_, n), state))| {
            let aliased = n.ty.segments.last().is_some_and(|s| s.ident != n.name);
            let state = if aliased {
                let (ty, name) = (&n.ty, n.name.to_string());
                quote_spanned!(n.name.span()=> <#ty as ::typedflow::Node>::state_named(#name))
            } else {
                quote_spanned!(n.name.span()=> #state())
            };
            let mut field = syn::Index::from(p);
            field.span = n.name.span();
            quote_spanned!(n.name.span()=> #field: #state)
        })
        .collect();
    let end = syn::Index::from(fields.len());
    quote!(#nodes_ty { #(#fields,)* #end: () })
}

/// `Node::NESTED` of the flow: its nodes' names, then the paths of what each runs inside
/// itself prefixed with its name, concatenated at compile time.
fn nested_paths(cx: &Cx<'_>) -> TokenStream {
    let names: Vec<String> = cx
        .graph
        .user_nodes()
        .map(|(_, n)| n.name.to_string())
        .collect();
    let inner = cx.each_node("NESTED");
    let own = names.len();
    quote! {{
        const PARTS: &[::typedflow::__private::NestedPart] = &[#((#names, #inner),)*];
        const N: usize = ::typedflow::__private::nested_count(#own, PARTS);
        const B: usize = ::typedflow::__private::nested_bytes_len(PARTS);
        const BYTES: [u8; B] = ::typedflow::__private::nested_bytes::<B>(PARTS);
        const NAMES: [&str; N] = ::typedflow::__private::nested_names::<N>(&[#(#names),*], &BYTES, PARTS);
        &NAMES
    }}
}

/// One call of the flow as a node, ready to start with the hook its caller's hook chooses
/// (`RunStart`): the subgraph's own loop, under its own timeout, with the caller's
/// dependencies and the subgraph's node states.
fn call_start(cx: &Cx<'_>, call_ty: &syn::Ident) -> TokenStream {
    let (name, nodes_ty, deps) = (cx.name, &cx.nodes_ty, &cx.deps);
    let (input, output) = (&cx.graph.input, &cx.graph.output);
    let bounded_loop = cx.with_deadline(quote! {
        #name::<::typedflow::NoHook>::__flow_loop(self.deps, self.nodes, hook, self.cx, self.input)
    });
    quote! {
        struct #call_ty<'__flow> {
            deps: &'__flow #deps,
            nodes: &'__flow #nodes_ty,
            cx: ::typedflow::Context,
            input: #input,
        }

        impl ::typedflow::RunStart<#output> for #call_ty<'_> {
            #[inline(always)]
            fn start<__FlowHook: ::typedflow::StepHook>(
                self,
                hook: __FlowHook,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#output, ::typedflow::FlowError>,
            > {
                #bounded_loop
            }
        }
    }
}

/// `NodeFn::call_hooked` of the flow as a node: its run with the calling flow's hook.
fn call_hooked(hooked: &TokenStream) -> TokenStream {
    quote! {
        #[inline]
        fn call_hooked<'__flow, __FlowHook: ::typedflow::StepHook + ?::core::marker::Sized>(
            __flow_deps: &'__flow AnyDeps,
            __flow_state: &'__flow Self::State,
            __flow_cx: &'__flow ::typedflow::Context,
            __flow_hook: &'__flow __FlowHook,
            __flow_nested: &'static [::typedflow::NodeInfo],
            __flow_input: Self::Input,
        ) -> impl ::core::future::Future<
            Output = ::core::result::Result<Self::Output, Self::Error>,
        > + '__flow {
            #hooked
        }
    }
}
