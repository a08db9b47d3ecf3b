//! The hand-overs of the run loop: calling a node through the hook, and passing a value
//! along an edge, a route arm, into a fan-out or a map, to a join or to `END`, each
//! through a check of `typedflow::checks` spanned on the user's token.
//!
//! Every check is `<Graph as Check<.., _, ..>>::method(value)` with the `<` and `Graph`
//! spanned on the token the user must change: rustc puts the error there, with the
//! check's message and no note pointing into the library (see `typedflow::checks`).

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

    /// `&GRAPH.nodes[p]`, the description of user node `k` (see [`Self::aliases`]).
    fn node_info(&self, k: usize) -> TokenStream {
        let p = self.graph.position(k).unwrap_or(0);
        quote!(&__FLOW_INFO[#p])
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
        let deps = &self.deps;
        let info = self.node_info(k);
        let p = self.graph.position(k).unwrap_or(0);
        let mut field = Index::from(p);
        field.span = node.name.span();
        let node_of = self.node_of(k);
        let future = if self.may_run_nodes(k) {
            // What the node runs inside itself (a subgraph's nodes) goes through the hook
            // too, under this flow's names for it. Not checked `Send` here: the call holds
            // the loop's hook, a type parameter no bound can promise `Send` futures of on
            // stable Rust; a subgraph's own nodes are checked in its own `graph!`.
            let nested = quote!(__FLOW_NESTED_OF[#p]);
            quote_spanned! {node.name.span()=>
                <#node_of as __FlowNodeFn<#deps>>::call_hooked(
                    __flow_deps,
                    &__flow_nodes.#field,
                    #cx,
                    #hook,
                    #nested,
                    #input,
                )
            }
        } else {
            let call = quote_spanned! {node.name.span()=>
                <#node_of as __FlowNodeFn<#deps>>::call(
                    __flow_deps,
                    &__flow_nodes.#field,
                    #cx,
                    #input,
                )
            };
            self.send_checked(k, call)
        };
        quote_spanned! {node.name.span()=>
            __FlowStepHook::step::<#node_of, _>(#hook, #cx, #info, #future)
        }
    }

    /// The type of user node `k` where the run loop calls it. For a name written like a
    /// type (see [`Self::may_run_nodes`]), `<ty as NodeOf>::Node`: a name that is not a
    /// node (a struct, say) leaves it unknown (see `typedflow::checks::NodeOf`), so its
    /// calls add nothing to the one error that it is not a node. A name written like a
    /// function, a `#[node]`, is named as it is: the projection costs a few percent of
    /// a chain's compile time (`scripts/compile-time.sh`), and the types a user names
    /// like functions are nodes.
    pub(super) fn node_of(&self, k: usize) -> TokenStream {
        let node = &self.graph.nodes[k];
        let ty = &node.ty;
        if self.may_run_nodes(k) {
            quote_spanned!(node.name.span()=> <#ty as ::typedflow::checks::NodeOf>::Node)
        } else {
            quote!(#ty)
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
    pub(super) fn node_failed(&self, k: usize, err: TokenStream, step: Option<u32>) -> TokenStream {
        let node = &self.graph.nodes[k];
        let info = self.node_info(k);
        let ty = self.node_of(k);
        match step.map(proc_macro2::Literal::u32_unsuffixed) {
            // A step numbered in advance: the context's count may be stale.
            Some(n) => {
                quote_spanned!(node.name.span()=> ::typedflow::__private::node_failed_at::<#ty>(&__flow_cx, #info, #err, #n))
            }
            None => {
                quote_spanned!(node.name.span()=> __flow_node_failed::<#ty>(&__flow_cx, #info, #err))
            }
        }
    }

    /// The wrapper of a call of user node `k` inside a fan-out or a map, turning its
    /// error into the run's.
    pub(super) fn nested_call(&self, k: usize, call: TokenStream) -> TokenStream {
        let node = &self.graph.nodes[k];
        let info = self.node_info(k);
        let ty = self.node_of(k);
        quote_spanned!(node.name.span()=> ::typedflow::__private::nested::<#ty, _>(__flow_cx, #info, #call))
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

    /// `<Graph as checks::#check<#params>>::#method(#args)`, spanned on `at`, where the
    /// error goes when the check fails.
    pub(super) fn check(
        at: Span,
        check: &str,
        params: TokenStream,
        method: &str,
        args: TokenStream,
    ) -> TokenStream {
        let (check, method) = (syn::Ident::new(check, at), syn::Ident::new(method, at));
        quote_spanned! {at=>
            <__FlowGraph as __flow_checks::#check<#params>>::#method(#args)
        }
    }

    /// `<ty as Node>::#what`, spanned on `at`.
    fn assoc(ty: &impl quote::ToTokens, what: &str, at: Span) -> TokenStream {
        let what = syn::Ident::new(what, at);
        quote_spanned!(at=> <#ty as __FlowNode>::#what)
    }

    /// `value`, sent by `sender` (see [`Self::sender`]), handed to node `to` along an edge.
    pub(super) fn pass_edge(
        &self,
        sender: &TokenStream,
        to: usize,
        value: TokenStream,
        at: Span,
    ) -> TokenStream {
        // Into an interrupt: in the words of its question.
        if let Some((question, _)) = &self.graph.nodes[to].interrupt {
            let question = quote_spanned!(at=> #question);
            return Self::check(at, "Asked", quote!(#sender, #question, _), "pass", value);
        }
        let to_ty = self.ty_at(to, at);
        let input = Self::assoc(&to_ty, "Input", at);
        Self::check(
            at,
            "Edge",
            quote!(#sender, #to_ty, _, #input),
            "pass",
            value,
        )
    }

    /// The flow's input `value` handed to its entry node `to`; the error goes on the
    /// flow's input type.
    pub(super) fn pass_entry(&self, to: usize, value: TokenStream) -> TokenStream {
        let at = self.graph.input.span();
        let name = self.name;
        let to_ty = self.ty_at(to, at);
        let input = Self::assoc(&to_ty, "Input", at);
        Self::check(
            at,
            "FlowInput",
            quote!(#name, #to_ty, _, #input),
            "pass",
            value,
        )
    }

    /// The tuple of a fan-out's outputs handed to node `to`, its join.
    fn pass_join(
        &self,
        sender: &TokenStream,
        to: usize,
        value: TokenStream,
        at: Span,
    ) -> TokenStream {
        let to_ty = self.ty_at(to, at);
        let input = Self::assoc(&to_ty, "Input", at);
        Self::check(
            at,
            "JoinedBranches",
            quote!(#sender, #to_ty, _, #input),
            "pass",
            value,
        )
    }

    /// The collection `value` turned into the items of a map of `worker`.
    pub(super) fn map_items(&self, worker: usize, value: TokenStream, at: Span) -> TokenStream {
        let worker = self.ty_at(worker, at);
        Self::check(at, "MapOver", quote!(#worker, _), "items", value)
    }

    /// The output `value` of handler `handler`, taking the place of failed node `failed`'s.
    pub(super) fn handler_output(
        &self,
        handler: usize,
        failed: usize,
        value: TokenStream,
        at: Span,
    ) -> TokenStream {
        let (h_ty, failed_ty) = (self.ty_at(handler, at), self.ty_at(failed, at));
        let output = Self::assoc(&failed_ty, "Output", at);
        Self::check(
            at,
            "HandlerOutput",
            quote!(#h_ty, #failed_ty, _, #output),
            "pass",
            value,
        )
    }

    /// A clone of `*value` for one branch of a fan-out.
    pub(super) fn fan_clone(value: TokenStream, at: Span) -> TokenStream {
        Self::check(at, "FanOut", quote!(_), "fan_clone", value)
    }

    /// A copy of `*value`, node `k`'s input, kept for its error edge.
    pub(super) fn keep_input(&self, k: usize, value: TokenStream, at: Span) -> TokenStream {
        let ty = self.ty_at(k, at);
        Self::check(at, "KeepInput", quote!(#ty, _), "keep", value)
    }

    /// The branches' states merged (arguments of `MergeState::merge`).
    pub(super) fn merge_states(args: TokenStream, at: Span) -> TokenStream {
        Self::check(at, "MergeState", quote!(_), "merge", args)
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
            let at = output.span();
            let finish = Self::check(
                at,
                "FlowOutput",
                quote!(#name, #sender, _, #output),
                "finish",
                value,
            );
            return quote!(return ::core::result::Result::Ok(#finish));
        };
        let pass = match &nodes[j].kind {
            Kind::Fan { .. } => self.fan_entry(j, value, sender, span, at),
            Kind::Map { worker, .. } => self.map_items(*worker, value, span),
            _ if matches!(nodes[from].kind, Kind::Fan { merge: false, .. }) => {
                self.pass_join(&sender, j, value, at)
            }
            _ => self.pass_edge(&sender, j, value, at),
        };
        let variant = &nodes[j].variant;
        let state = self.state_at(variant.span());
        quote_spanned!(variant.span()=> #state::#variant(#pass))
    }

    /// The pattern of a route arm and the payload it hands on: the one field of a tuple
    /// variant; for `Variant { a, b }` the named fields' values, one or a tuple of
    /// several (`()` for `Variant {}`, a unit variant).
    fn arm_pattern(arm: &crate::model::Arm) -> (TokenStream, TokenStream) {
        let path = &arm.variant;
        // The pattern's own tokens on the variant's name, so that rustc's errors about
        // the pattern underline the whole path, `Verdict::Done`.
        let at = path
            .segments
            .last()
            .map_or_else(|| path.span(), |s| s.ident.span());
        let Some(fields) = &arm.fields else {
            let pattern = quote_spanned!(at=> #path(__flow_payload));
            return (pattern, quote!(__flow_payload));
        };
        let binds: Vec<_> = (0..fields.len())
            .map(|k| quote::format_ident!("__flow_p{}", k))
            .collect();
        let rest = arm.rest.then(|| quote!(..));
        let pattern = quote_spanned!(at=> #path { #(#fields: #binds,)* #rest });
        let payload = match binds.as_slice() {
            [one] => quote!(#one),
            _ => quote!((#(#binds),*)),
        };
        (pattern, payload)
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
                let sender = self.sender(i);
                // `true -> a`: one error, on the first value, naming what the node returns.
                if let Some(value) = route.arms.iter().find_map(|a| a.value.as_ref()) {
                    let at = value.span();
                    let out = quote_spanned!(at=> __flow_out);
                    let never = Self::check(at, "RoutedValue", quote!(#sender, _), "pass", out);
                    return quote!(match #never {});
                }
                let arms = route.arms.iter().map(|arm| {
                    let (pattern, payload) = Self::arm_pattern(arm);
                    let next =
                        self.hand_over(i, arm.to, payload, arm.arrow.spans[0], arm.to_ident.span());
                    quote!(#pattern => #next,)
                });
                // Through a check whose `Enum` is inferred from the arms' patterns: a
                // node that does not return that enum is one error, on its name. The
                // block around it carries the route block's span: rustc's "non-exhaustive
                // patterns" error, which names the missing variants, lands on the block.
                let check = Self::check(
                    route.from_ident.span(),
                    "RoutedEnum",
                    quote!(#sender, _, _),
                    "pass",
                    quote!(__flow_out),
                );
                let scrutinee = quote_spanned!(route.brace.span.join()=> { #check });
                quote!(match #scrutinee { #(#arms)* })
            }
            None => quote!(::core::unreachable!()),
        }
    }
}
