//! The hand-overs of the run loop: calling a node through the hook, and passing a value
//! along an edge, a route arm, into a fan-out or a map, to a join or to `END`, each
//! through a `__private` check spanned on the user's token.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::Index;
use syn::spanned::Spanned;

use super::Cx;
use crate::model::{Kind, Target, WayOn};

impl Cx<'_> {
    /// The type named in messages as the sender of a value leaving step `i`: the node, the
    /// tuple of a fan-out's branches (their last nodes), or `[worker]` for a map.
    pub(super) fn sender(&self, i: usize) -> TokenStream {
        let nodes = &self.graph.nodes;
        match &nodes[i].kind {
            Kind::Fan { branches, .. } => {
                let tys = branches.iter().map(|b| self.branch_exit(b));
                quote!((#(#tys,)*))
            }
            Kind::Map { worker, .. } => {
                let ty = &nodes[*worker].ty;
                quote!([#ty])
            }
            _ => {
                let ty = &nodes[i].ty;
                quote!(#ty)
            }
        }
    }

    /// `&GRAPH.nodes[p]`, the description of user node `k`.
    fn node_info(&self, k: usize) -> TokenStream {
        let p = self.graph.position(k).unwrap_or(0);
        quote!(&<Self as ::typedflow::Flow>::GRAPH.nodes[#p])
    }

    /// The future of one call of user node `k` (not awaited), through the hook. Inside a
    /// fan-out or a map, `__flow_hook` and `__flow_cx` are already references, passed on
    /// as they are so the future borrows from the flow's loop and not from a closure.
    pub(super) fn call(&self, k: usize, input: TokenStream, nested: bool) -> TokenStream {
        let (hook, cx) = if nested {
            (quote!(__flow_hook), quote!(__flow_cx))
        } else {
            (quote!(&__flow_hook), quote!(&__flow_cx))
        };
        let node = &self.graph.nodes[k];
        let ty = &node.ty;
        let deps = &self.deps;
        let info = self.node_info(k);
        let p = self.graph.position(k).unwrap_or(0);
        let field = Index::from(p);
        if !self.may_run_nodes(k) {
            return quote_spanned! {node.name.span()=>
                ::typedflow::StepHook::step::<#ty, _>(
                    #hook,
                    #cx,
                    #info,
                    <#ty as ::typedflow::NodeFn<#deps>>::call(
                        __flow_deps,
                        &__flow_nodes.0.#field,
                        #cx,
                        #input,
                    ),
                )
            };
        }
        // What the node runs inside itself (a subgraph's nodes) goes through the hook too,
        // under this flow's names for it.
        let nested = quote!(__FLOW_NESTED_OF[#p]);
        quote_spanned! {node.name.span()=>
            ::typedflow::StepHook::step::<#ty, _>(
                #hook,
                #cx,
                #info,
                <#ty as ::typedflow::NodeFn<#deps>>::call_hooked(
                    __flow_deps,
                    &__flow_nodes.0.#field,
                    #cx,
                    #hook,
                    #nested,
                    #input,
                ),
            )
        }
    }

    /// Whether user node `k` may run nodes inside itself (a flow used as a node), so that
    /// its call hands it the hook: a type named like a type (`Summarize`, a hand-written
    /// node type), not like a function (a `#[node]`, named after its `fn`). The hooked
    /// call is right for any node, but generic over the hook, which a flow of many plain
    /// nodes pays for in compile time (`scripts/compile-time.sh`: a third more CPU for a
    /// 100-node chain); a flow named like a function runs as one step to the hooks.
    pub(super) fn may_run_nodes(&self, k: usize) -> bool {
        let ty = &self.graph.nodes[k].ty;
        ty.segments.last().is_some_and(|s| {
            let name = s.ident.to_string();
            let name = name.trim_start_matches("r#");
            name.chars().next().is_some_and(char::is_uppercase)
        })
    }

    /// The run's error when user node `k` failed with `err`.
    pub(super) fn node_failed(&self, k: usize, err: TokenStream) -> TokenStream {
        let ty = &self.graph.nodes[k].ty;
        let info = self.node_info(k);
        quote!(::typedflow::__private::node_failed::<#ty>(&__flow_cx, #info, #err))
    }

    /// The wrapper of a call of user node `k` inside a fan-out or a map, turning its
    /// error into the run's.
    pub(super) fn nested_call(&self, k: usize, call: TokenStream) -> TokenStream {
        let ty = &self.graph.nodes[k].ty;
        let info = self.node_info(k);
        quote!(::typedflow::__private::nested::<#ty, _>(__flow_cx, #info, #call))
    }

    /// The type of node `j` as written at an edge: its path, spanned on that edge's token,
    /// so that a type error about the target points where this edge names it.
    pub(super) fn ty_at(&self, j: usize, at: Span) -> syn::Path {
        let mut path = self.graph.nodes[j].ty.clone();
        for seg in &mut path.segments {
            seg.ident.set_span(at);
        }
        path
    }

    /// Hands `value`, leaving `from`, to `to`: the next state, or the flow's output.
    /// `span` is the edge's arrow, `at` the token naming the target at this edge.
    pub(super) fn hand_over(
        &self,
        from: usize,
        to: Target,
        value: TokenStream,
        span: Span,
        at: Span,
    ) -> TokenStream {
        let nodes = &self.graph.nodes;
        let sender = self.sender(from);
        let Target::Node(j) = to else {
            let (name, output) = (self.name, &self.graph.output);
            let finish = quote_spanned! {output.span()=>
                ::typedflow::__private::Hand(#value).end::<#name, #output, #sender>()
            };
            return quote!(return ::core::result::Result::Ok(#finish));
        };
        let pass = match &nodes[j].kind {
            Kind::Fan { .. } => self.fan_entry(j, value, sender, span, at),
            Kind::Map { worker, .. } => {
                let worker = &nodes[*worker].ty;
                quote_spanned! {span=> ::typedflow::__private::Hand(#value).map_items::<#worker>() }
            }
            _ if matches!(nodes[from].kind, Kind::Fan { merge: false, .. }) => {
                let to_ty = self.ty_at(j, at);
                quote_spanned! {span=> ::typedflow::__private::Hand(#value).join::<#to_ty, #sender>() }
            }
            _ => {
                let to_ty = self.ty_at(j, at);
                quote_spanned! {span=> ::typedflow::__private::Hand(#value).edge::<#to_ty, #sender>() }
            }
        };
        let (state, variant) = (&self.state, &nodes[j].variant);
        quote!(#state::#variant(#pass))
    }

    /// What happens with the `Ok` output of step `i`, `__flow_out`: its edge or its route.
    pub(super) fn on_ok(&self, i: usize) -> TokenStream {
        match self.graph.way_on(i) {
            Some(WayOn::Edge(edge)) => self.hand_over(
                i,
                edge.to,
                quote!(__flow_out),
                edge.arrow.spans[0],
                edge.to_ident.span(),
            ),
            Some(WayOn::Route(route)) => {
                let arms = route.arms.iter().map(|arm| {
                    let path = &arm.variant;
                    let pattern = quote_spanned!(path.span()=> #path(__flow_payload));
                    let next = self.hand_over(
                        i,
                        arm.to,
                        quote!(__flow_payload),
                        arm.arrow.spans[0],
                        arm.to_ident.span(),
                    );
                    quote!(#pattern => #next,)
                });
                // The scrutinee carries the route block's span: rustc's "non-exhaustive
                // patterns" error, which names the missing variants, lands on the block.
                let scrutinee = quote_spanned!(route.brace.span.join()=> __flow_out);
                quote!(match #scrutinee { #(#arms)* })
            }
            None => quote!(::core::unreachable!()),
        }
    }
}
