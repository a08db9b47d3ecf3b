//! `graph!`: the flow type, its state enum, the run loop, and the static description.
//!
//! Assumes validation passed: one entry, one way on per step, every step reachable, and
//! the nodes inside fan-outs and maps without edges of their own.
//!
//! Type checks are not separate assertions: every hand-over in the run loop goes through
//! a `__private` function whose trait bound is the check, spanned on the user's token
//! (the edge's arrow, the route arm, the header's types). A wrong type so fails exactly
//! once, where the user wrote it, and the loop has no other use of the mismatched value.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Index, LitStr};

use crate::expand::diagram::{self, EdgeKind};
use crate::model::{Graph, Kind, Target};

/// Everything the pieces of the expansion share.
struct Cx<'a> {
    graph: &'a Graph,
    state: syn::Ident,
    deps: TokenStream,
    display_name: &'a LitStr,
    /// Position of each node among the user nodes (`GRAPH.nodes`, the node-state tuple).
    pos: Vec<Option<usize>>,
}

impl Cx<'_> {
    /// The type named in messages as the sender of a value leaving node `i`: the node, the
    /// tuple of a fan-out's branches, or `[worker]` for a map.
    fn sender(&self, i: usize) -> TokenStream {
        let nodes = &self.graph.nodes;
        match &nodes[i].kind {
            Kind::Fan { branches, .. } => {
                let tys = branches.iter().map(|b| &nodes[*b].ty);
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

    /// The future of one call of user node `k` (not awaited), through the hook. Inside a
    /// fan-out or a map, `__flow_hook` and `__flow_cx` are already references, passed on
    /// as they are so the future borrows from the flow's loop and not from a closure.
    fn call(&self, k: usize, input: TokenStream) -> TokenStream {
        self.call_in(k, input, false)
    }

    fn call_in(&self, k: usize, input: TokenStream, nested: bool) -> TokenStream {
        let (hook, cx) = if nested {
            (quote!(__flow_hook), quote!(__flow_cx))
        } else {
            (quote!(&__flow_hook), quote!(&__flow_cx))
        };
        let node = &self.graph.nodes[k];
        let ty = &node.ty;
        let deps = &self.deps;
        let p = self.pos[k].unwrap_or(0);
        let field = Index::from(p);
        quote_spanned! {node.name.span()=>
            ::typedflow::StepHook::step::<#ty, _>(
                #hook,
                #cx,
                &<Self as ::typedflow::Flow>::GRAPH.nodes[#p],
                <#ty as ::typedflow::NodeFn<#deps>>::call(
                    __flow_deps,
                    &__flow_nodes.0.#field,
                    #cx,
                    #input,
                ),
            )
        }
    }

    fn node_error(&self, k: usize, err: TokenStream) -> TokenStream {
        let name = self.graph.nodes[k].name.to_string();
        let ty = &self.graph.nodes[k].ty;
        let display_name = self.display_name;
        quote! {
            {
                let __flow_attempts = <#ty as ::typedflow::Node>::attempts(&#err);
                ::typedflow::FlowError::__node(#display_name, #name, __flow_cx.step(), __flow_attempts, #err)
            }
        }
    }

    /// The type of node `j` as written at an edge: its path, spanned on that edge's token,
    /// so that a type error about the target points where this edge names it.
    fn ty_at(&self, j: usize, at: Span) -> syn::Path {
        let mut path = self.graph.nodes[j].ty.clone();
        for seg in &mut path.segments {
            seg.ident.set_span(at);
        }
        path
    }

    /// Hands `value`, leaving `from`, to `to`: the next state, or the flow's output. `at` is
    /// the token naming the target at this edge.
    fn hand_over(
        &self,
        from: usize,
        to: Target,
        value: TokenStream,
        span: Span,
        at: Span,
    ) -> TokenStream {
        let nodes = &self.graph.nodes;
        let sender = self.sender(from);
        let state = &self.state;
        match to {
            Target::End => {
                let (name, output) = (&self.graph.name, &self.graph.output);
                let finish = quote_spanned! {output.span()=>
                    ::typedflow::__private::Hand(#value).end::<#name, #output, #sender>()
                };
                quote!(return ::core::result::Result::Ok(#finish))
            }
            Target::Node(j) => {
                let variant = &nodes[j].variant;
                let pass = match &nodes[j].kind {
                    Kind::Fan { branches, .. } => {
                        let first = self.ty_at(branches[0], at);
                        quote_spanned! {span=> ::typedflow::__private::Hand(#value).edge::<#first, #sender>() }
                    }
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
                quote!(#state::#variant(#pass))
            }
        }
    }

    /// What happens with the `Ok` output of step `i`: its edge or its route.
    fn on_ok(&self, i: usize) -> TokenStream {
        let graph = self.graph;
        if let Some(edge) = graph.edges.iter().find(|e| e.from == i) {
            return self.hand_over(
                i,
                edge.to,
                quote!(__flow_out),
                edge.arrow.spans[0],
                edge.to_ident.span(),
            );
        }
        let Some(route) = graph.routes.iter().find(|r| r.from == i) else {
            return quote!(::core::unreachable!());
        };
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
        // The scrutinee carries the route block's span: rustc's "non-exhaustive patterns"
        // error, which names the missing variants, lands on the block.
        let scrutinee = quote_spanned!(route.brace.span.join()=> __flow_out);
        quote!(match #scrutinee { #(#arms)* })
    }

    /// An async block running user node `k` inside a fan-out or map on `__flow_in`, to a
    /// `Result<Output, FlowError>`; a failure goes to the node's stand-in if it has one.
    fn nested(&self, k: usize) -> TokenStream {
        let nodes = &self.graph.nodes;
        let node = &nodes[k];
        let ty = &node.ty;
        let name = node.name.to_string();
        let call = self.call_in(k, quote!(__flow_in), true);
        if node.catch.is_none() {
            // No stand-in: a poll-through wrapper maps the error, with no generator.
            let p = self.pos[k].unwrap_or(0);
            return quote! {
                ::typedflow::__private::nested::<#ty, _>(
                    __flow_cx,
                    &<Self as ::typedflow::Flow>::GRAPH.nodes[#p],
                    #call,
                )
            };
        }
        let on_err = match &node.catch {
            Some(catch) => {
                let h = catch.to;
                let h_ty = &nodes[h].ty;
                let span = catch.to_ident.span();
                let failed = quote_spanned! {span=>
                    ::typedflow::__private::Hand(
                        ::typedflow::__private::failed(#name, __flow_kept, __flow_err, <#ty as ::typedflow::Node>::attempts),
                    )
                    .edge::<#h_ty, #ty>()
                };
                let ty_here = self.ty_at(k, span);
                let recover = quote_spanned! {span=>
                    ::typedflow::__private::Hand(__flow_out).stand_in::<#ty_here, #h_ty>()
                };
                let stand_in = self.call_in(h, failed, true);
                let h_error = self.node_error(h, quote!(__flow_err));
                quote! {
                    match #stand_in.await {
                        ::core::result::Result::Ok(__flow_out) => ::core::result::Result::Ok(#recover),
                        ::core::result::Result::Err(__flow_err) => ::core::result::Result::Err(::std::boxed::Box::new(#h_error)),
                    }
                }
            }
            None => {
                let error = self.node_error(k, quote!(__flow_err));
                quote!(::core::result::Result::Err(::std::boxed::Box::new(#error)))
            }
        };
        let keep = node.catch.as_ref().map(|c| {
            quote_spanned! {c.to_ident.span()=>
                let __flow_kept = ::typedflow::__private::keep_input::<#ty, _>(&__flow_in);
            }
        });
        quote! {
            async move {
                #keep
                match #call.await {
                    ::core::result::Result::Ok(__flow_out) => ::core::result::Result::Ok(__flow_out),
                    ::core::result::Result::Err(__flow_err) => #on_err,
                }
            }
        }
    }

    /// The match arm of step `i`.
    fn arm(&self, i: usize) -> TokenStream {
        let graph = self.graph;
        let nodes = &graph.nodes;
        let node = &nodes[i];
        let (state, variant) = (&self.state, &node.variant);
        let on_ok = self.on_ok(i);
        match &node.kind {
            Kind::Fan { branches, .. } => {
                // n - 1 clones and one move: each branch owns its input.
                let inputs: Vec<_> = (0..branches.len())
                    .map(|b| format_ident!("__flow_v{}", b))
                    .collect();
                let values = branches.iter().enumerate().map(|(b, k)| {
                    let span = nodes[*k].name.span();
                    if b + 1 == branches.len() {
                        quote!(__flow_value)
                    } else {
                        quote_spanned!(span=> ::typedflow::__private::fan_clone(&__flow_value))
                    }
                });
                // `{a, b}`: the outputs, one state type, merged in written order.
                let merge_outputs = match &node.kind {
                    Kind::Fan { merge: true, .. } => {
                        let span = node.name.span();
                        let outs: Vec<_> = (0..branches.len())
                            .map(|b| format_ident!("__flow_o{}", b, span = span))
                            .collect();
                        let (first, rest) = (&outs[0], &outs[1..]);
                        quote_spanned! {span=>
                            .map(|(#(#outs,)*)| ::typedflow::__private::merge_branches(#first, [#(#rest),*]))
                        }
                    }
                    _ => quote!(),
                };
                let source = self.fan_source(i);
                let branch_futures = branches.iter().zip(&inputs).map(|(k, v)| {
                    let ty = &nodes[*k].ty;
                    let span = nodes[*k].name.span();
                    let pass = quote_spanned! {span=>
                        ::typedflow::__private::Hand(#v).edge::<#ty, #source>()
                    };
                    let body = self.nested(*k);
                    quote!({ let __flow_in = #pass; #body })
                });
                // The join, written out: each branch pinned on the stack, polled until it
                // is done, its output kept; the first error returns at once and drops the
                // rest. No macro of another crate, so nothing depends on the user's scope.
                let futs: Vec<_> = (0..branches.len())
                    .map(|b| format_ident!("__flow_f{}", b))
                    .collect();
                let outs: Vec<_> = (0..branches.len())
                    .map(|b| format_ident!("__flow_r{}", b))
                    .collect();
                let polls = futs.iter().zip(&outs).map(|(f, r)| {
                    quote! {
                        if #r.is_none() {
                            match ::core::future::Future::poll(#f.as_mut(), __flow_task) {
                                ::core::task::Poll::Ready(::core::result::Result::Ok(__flow_v)) => {
                                    #r = ::core::option::Option::Some(__flow_v);
                                }
                                ::core::task::Poll::Ready(::core::result::Result::Err(__flow_e)) => {
                                    return ::core::task::Poll::Ready(::core::result::Result::Err(__flow_e));
                                }
                                ::core::task::Poll::Pending => __flow_pending = true,
                            }
                        }
                    }
                });
                let somes = outs
                    .iter()
                    .map(|r| quote!(::core::option::Option::Some(#r)));
                let takes = outs.iter().map(|r| quote!(#r.take()));
                quote_spanned! {node.name.span()=>
                    #state::#variant(__flow_value) => {
                        let (#(#inputs,)*) = (#(#values,)*);
                        let __flow_hook = &__flow_hook;
                        let __flow_cx = &__flow_cx;
                        #( let mut #futs = ::core::pin::pin!(#branch_futures); )*
                        #( let mut #outs = ::core::option::Option::None; )*
                        let __flow_joined = ::core::future::poll_fn(|__flow_task| {
                            let mut __flow_pending = false;
                            #(#polls)*
                            if __flow_pending {
                                return ::core::task::Poll::Pending;
                            }
                            match (#(#takes,)*) {
                                (#(#somes,)*) => ::core::task::Poll::Ready(::core::result::Result::Ok((#(#outs,)*))),
                                // Unreachable: every output is kept before this point.
                                _ => ::core::task::Poll::Pending,
                            }
                        })
                        .await
                        #merge_outputs;
                        match __flow_joined {
                            ::core::result::Result::Ok(__flow_out) => #on_ok,
                            ::core::result::Result::Err(__flow_err) => {
                                return ::core::result::Result::Err(*__flow_err);
                            }
                        }
                    }
                }
            }
            Kind::Map { worker, limit } => {
                let limit = match limit {
                    Some(n) => quote!(#n),
                    None => quote!(::typedflow::DEFAULT_MAP_LIMIT),
                };
                let body = self.nested(*worker);
                quote_spanned! {node.name.span()=>
                    #state::#variant(__flow_value) => {
                        let __flow_hook = &__flow_hook;
                        let __flow_cx = &__flow_cx;
                        let __flow_mapped = ::typedflow::__private::map_bounded(
                            __flow_value,
                            #limit as usize,
                            move |__flow_in| #body,
                        )
                        .await;
                        match __flow_mapped {
                            ::core::result::Result::Ok(__flow_out) => #on_ok,
                            ::core::result::Result::Err(__flow_err) => {
                                return ::core::result::Result::Err(*__flow_err);
                            }
                        }
                    }
                }
            }
            _ => {
                let ty = &node.ty;
                let call = self.call(i, quote!(__flow_value));
                let (keep, on_err) = match &node.catch {
                    Some(catch) => {
                        let span = catch.to_ident.span();
                        let name = node.name.to_string();
                        let keep = quote_spanned! {span=>
                            let __flow_kept = ::typedflow::__private::keep_input::<#ty, _>(&__flow_value);
                        };
                        let failed = quote!(::typedflow::__private::failed(#name, __flow_kept, __flow_err, <#ty as ::typedflow::Node>::attempts));
                        (
                            Some(keep),
                            self.hand_over(i, Target::Node(catch.to), failed, span, span),
                        )
                    }
                    None => {
                        let error = self.node_error(i, quote!(__flow_err));
                        (None, quote!(return ::core::result::Result::Err(#error)))
                    }
                };
                quote_spanned! {node.name.span()=>
                    #state::#variant(__flow_value) => {
                        #keep
                        let __flow_result = #call.await;
                        match __flow_result {
                            ::core::result::Result::Ok(__flow_out) => #on_ok,
                            ::core::result::Result::Err(__flow_err) => #on_err,
                        }
                    }
                }
            }
        }
    }

    /// The node named as the sender of a fan-out's value: its one predecessor, or else the
    /// first branch (whose input type the value has, by the edge into the fan-out).
    fn fan_source(&self, fan: usize) -> TokenStream {
        let graph = self.graph;
        let mut preds = graph
            .edges
            .iter()
            .filter(|e| e.to == Target::Node(fan))
            .map(|e| e.from);
        match (preds.next(), preds.next()) {
            (Some(p), None) => self.sender(p),
            _ => match &graph.nodes[fan].kind {
                Kind::Fan { branches, .. } => {
                    let ty = &graph.nodes[branches[0]].ty;
                    quote!(#ty)
                }
                _ => quote!(()),
            },
        }
    }
}

pub fn expand_flow(graph: &Graph) -> TokenStream {
    let Graph {
        docs,
        vis,
        name,
        display_name,
        input,
        output,
        ..
    } = graph;
    let deps = match &graph.deps {
        Some(ty) => quote!(#ty),
        None => quote!(()),
    };
    let cx = Cx {
        graph,
        state: format_ident!("{}State", name),
        deps: deps.clone(),
        display_name,
        pos: diagram::user_positions(graph),
    };
    let state = &cx.state;
    let users: Vec<_> = graph
        .live_nodes()
        .filter(|(_, n)| n.kind.is_user_node())
        .collect();
    let steps: Vec<_> = graph
        .live_nodes()
        .filter(|(_, n)| n.kind.is_step())
        .collect();
    let max_steps = graph.max_steps.unwrap_or(0);
    let max_steps = if graph.max_steps.is_some() {
        quote!(#max_steps)
    } else {
        quote!(::typedflow::DEFAULT_MAX_STEPS)
    };

    // `<ty as Node>::X` for every user node, spanned on its name: the errors of a name that
    // is not a node all fall on one token, where rustc merges the identical ones.
    let assoc = |what: &str| -> Vec<TokenStream> {
        let what = format_ident!("{}", what);
        users
            .iter()
            .map(|(_, n)| {
                let ty = &n.ty;
                quote_spanned!(n.name.span()=> <#ty as ::typedflow::Node>::#what)
            })
            .collect()
    };
    let nodes_ty = format_ident!("__Flow{}Nodes", name);
    let node_states = assoc("State");
    let node_state_fns = assoc("state");
    let node_names: Vec<String> = users.iter().map(|(_, n)| n.name.to_string()).collect();

    // The state enum: one variant per step, holding what the step takes.
    let variants: Vec<_> = steps.iter().map(|(_, n)| &n.variant).collect();
    let variant_tys = steps.iter().map(|(_, n)| {
        let input_of = |k: usize| {
            let node = &graph.nodes[k];
            let ty = &node.ty;
            quote_spanned!(node.name.span()=> <#ty as ::typedflow::Node>::Input)
        };
        match &n.kind {
            Kind::Fan { branches, .. } => input_of(branches[0]),
            Kind::Map { worker, .. } => {
                let item = input_of(*worker);
                quote!(::std::vec::Vec<#item>)
            }
            _ => {
                let ty = &n.ty;
                quote_spanned!(n.name.span()=> <#ty as ::typedflow::Node>::Input)
            }
        }
    });
    let step_names: Vec<String> = steps.iter().map(|(i, _)| step_name(graph, *i)).collect();
    let variant_docs = step_names
        .iter()
        .map(|n| format!("`{n}` runs next, with this input."));

    let arms: Vec<_> = steps.iter().map(|(i, _)| cx.arm(*i)).collect();

    let entry = graph.entries.first().map(|e| e.to).unwrap_or(0);
    let entry_ty = &graph.nodes[entry].ty;
    let entry_variant = &graph.nodes[entry].variant;
    let entry_pass = quote_spanned! {input.span()=>
        ::typedflow::__private::Hand(__flow_input).entry::<#entry_ty, #name>()
    };

    // The step limit can only be reached through a loop: an acyclic graph with no more
    // steps than the limit runs without the check.
    let limit_check = (graph.has_cycle()
        || steps.len() as u64 > u64::from(graph.max_steps.unwrap_or(u32::MAX)))
    .then(|| {
        quote! {
            if __flow_cx.step() == #max_steps {
                return ::core::result::Result::Err(::typedflow::FlowError::__step_limit(
                    #display_name,
                    __flow_state.node(),
                    #max_steps,
                ));
            }
        }
    });
    let run_loop = quote! {
        let mut __flow_state = #state::#entry_variant(#entry_pass);
        loop {
            #limit_check
            __flow_cx.__advance();
            __flow_state = match __flow_state {
                #(#arms)*
            };
        }
    };

    // A timeout bounds the run's steps, inside its hooks: they see the `Timeout` error as
    // they see any other (its outcome in spans and metrics).
    let run_loop_call = quote! {
        #name::<H>::__flow_loop(&self.flow.__flow_deps, &self.flow.__flow_nodes, hook, self.cx, self.input)
    };
    let bounded_loop = match &graph.timeout {
        Some(timeout) => {
            quote!(::typedflow::__private::deadline(#display_name, #timeout, #run_loop_call))
        }
        None => run_loop_call,
    };
    // The hooks choose, once per run, which hook the loop runs with (`StepHook::start`).
    let start_ty = format_ident!("__Flow{}Start", name);
    let run_plain = quote! {
        ::typedflow::StepHook::start(
            &self.__flow_hook,
            <Self as ::typedflow::Flow>::GRAPH,
            __flow_run_id,
            #start_ty { flow: self, cx: __flow_cx, input },
        )
        .await
    };
    let run_hooked = quote! {
        ::typedflow::StepHook::start(
            &(&self.__flow_hook, &hook),
            <Self as ::typedflow::Flow>::GRAPH,
            __flow_run_id,
            #start_ty { flow: self, cx: __flow_cx, input },
        )
        .await
    };

    // -- description and diagrams -----------------------------------------------
    let mermaid = LitStr::new(&diagram::mermaid(graph), Span::call_site());
    let dot = LitStr::new(&diagram::dot(graph), Span::call_site());
    let endpoint = |x: Option<usize>, start: bool| match x {
        Some(k) => {
            let n = &node_names[k];
            quote!(::typedflow::Endpoint::Node(#n))
        }
        None if start => quote!(::typedflow::Endpoint::Start),
        None => quote!(::typedflow::Endpoint::End),
    };
    let edge_infos = diagram::edge_list(graph).into_iter().map(|e| {
        let from = endpoint(e.from, true);
        let to = endpoint(e.to, false);
        let kind = match e.kind {
            EdgeKind::Plain => quote!(Plain),
            EdgeKind::Route(path) => {
                let path = type_string(path);
                quote!(Route(#path))
            }
            EdgeKind::Branch => quote!(Branch),
            EdgeKind::Join => quote!(Join),
            EdgeKind::Merge => quote!(Merge),
            EdgeKind::Map(limit) => quote!(Map { limit: #limit }),
            EdgeKind::Collect => quote!(Collect),
            EdgeKind::Error => quote!(Error),
        };
        quote!(::typedflow::EdgeInfo::__new(#from, #to, ::typedflow::EdgeKind::#kind))
    });
    let input_str = type_string(input);
    let output_str = type_string(output);
    let entry_name = graph.nodes[entry].name.to_string();
    let timeout = match &graph.timeout {
        Some(t) => quote!(::core::option::Option::Some(#t)),
        None => quote!(::core::option::Option::None),
    };

    // The flow is a node too, for use in another flow: it runs its own loop with the
    // parent's dependencies, under the parent's run id, counting its own steps.
    let (sub_bound, sub_deps) = match &graph.deps {
        Some(ty) => (
            quote!(__FlowDeps: ::typedflow::Provides<#ty>,),
            quote!(<__FlowDeps as ::typedflow::Provides<#ty>>::provide(__flow_deps)),
        ),
        None => (quote!(), quote!(&())),
    };
    let sub_run = quote! {
        Self::__flow_loop(
            #sub_deps,
            __flow_state,
            ::typedflow::NoHook,
            ::typedflow::Context::new(#display_name, __flow_cx.run_id()),
            __flow_input,
        )
    };
    let sub_call = match &graph.timeout {
        Some(timeout) => {
            quote!(::typedflow::__private::deadline(#display_name, #timeout, #sub_run))
        }
        None => sub_run,
    };
    let sub_hand_overs =
        crate::expand::node::hand_over_impls(&quote!(#name), &quote!(#input), &quote!(#output));
    let subgraph = quote! {
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
            #sub_hand_overs

            impl<__FlowDeps: ?::core::marker::Sized> ::typedflow::NodeFn<__FlowDeps> for #name
            where
                #sub_bound
            {
                fn call<'__flow>(
                    __flow_deps: &'__flow __FlowDeps,
                    __flow_state: &'__flow Self::State,
                    __flow_cx: &'__flow ::typedflow::Context,
                    __flow_input: Self::Input,
                ) -> impl ::core::future::Future<
                    Output = ::core::result::Result<Self::Output, Self::Error>,
                > + '__flow {
                    #sub_call
                }
            }
        };
    };

    let state_doc =
        format!("The state of a run of [`{name}`]: the step that runs next, holding its input.");
    let new_doc = format!("Builds the flow `{name}` with its dependencies.");

    quote! {
        #(#docs)*
        #vis struct #name<H = ::typedflow::NoHook> {
            __flow_deps: #deps,
            __flow_hook: H,
            __flow_nodes: #nodes_ty,
            __flow_runs: ::typedflow::__private::RunIds,
        }

        // The node states behind a private field: a public flow may have private nodes.
        #[doc(hidden)]
        #vis struct #nodes_ty((#(#node_states,)*));

        #[doc = #state_doc]
        // Private: its variants hold the inputs of nodes that may be private.
        #[allow(dead_code)]
        enum #state {
            #(
                #[doc = #variant_docs]
                #variants(#variant_tys),
            )*
        }

        impl #state {
            /// The name of the step this state runs next.
            pub fn node(&self) -> &'static str {
                match self {
                    #(Self::#variants(_) => #step_names,)*
                }
            }
        }

        impl #name {
            /// The flow's name.
            pub const NAME: &'static str = #display_name;
            /// The graph: nodes, edges and settings.
            pub const GRAPH: &'static ::typedflow::GraphInfo = <Self as ::typedflow::Flow>::GRAPH;
            /// The graph as a Mermaid `flowchart`.
            pub const MERMAID: &'static str = #mermaid;
            /// The graph in Graphviz DOT.
            pub const DOT: &'static str = #dot;

            #[doc = #new_doc]
            pub fn new(deps: #deps) -> Self {
                #name {
                    __flow_deps: deps,
                    __flow_hook: ::typedflow::NoHook,
                    __flow_nodes: #nodes_ty((#(#node_state_fns(),)*)),
                    __flow_runs: ::typedflow::__private::RunIds::new(),
                }
            }
        }

        impl<H> #name<H> {
            /// Replaces the step hook, which wraps every node call of every run.
            pub fn with_hook<H2: ::typedflow::StepHook>(self, hook: H2) -> #name<H2> {
                #name {
                    __flow_deps: self.__flow_deps,
                    __flow_hook: hook,
                    __flow_nodes: self.__flow_nodes,
                    __flow_runs: self.__flow_runs,
                }
            }

            /// The dependencies the flow was built with.
            pub fn deps(&self) -> &#deps {
                &self.__flow_deps
            }

            /// The step hook.
            pub fn hook(&self) -> &H {
                &self.__flow_hook
            }
        }

        impl<H: ::typedflow::StepHook> #name<H> {
            /// Runs the flow from its entry node to `END`.
            ///
            /// # Errors
            ///
            /// [`FlowError`](::typedflow::FlowError) when a node fails, or when the run
            /// exceeds the flow's step limit or timeout.
            pub async fn run(
                &self,
                input: #input,
            ) -> ::core::result::Result<#output, ::typedflow::FlowError> {
                let __flow_run_id = self.__flow_runs.next();
                let __flow_cx = ::typedflow::Context::new(#display_name, __flow_run_id);
                #run_plain
            }

            /// Runs the flow with one more hook for this run only, inside the flow's own.
            ///
            /// # Errors
            ///
            /// As [`run`](Self::run).
            pub async fn run_with<R: ::typedflow::StepHook>(
                &self,
                input: #input,
                hook: R,
            ) -> ::core::result::Result<#output, ::typedflow::FlowError> {
                let __flow_run_id = self.__flow_runs.next();
                let __flow_cx = ::typedflow::Context::new(#display_name, __flow_run_id);
                #run_hooked
            }

            // The loop takes its hook by value: `run` passes `&self`'s hook, a pointer
            // into the flow; a loop that reached its hook through a reference into an
            // enclosing future paid several instructions per step (scripts/bench-steps.sh).
            // A flow whose every node leads to END has no state to assign after the match.
            #[doc(hidden)]
            #[allow(unreachable_code)]
            async fn __flow_loop<K: ::typedflow::StepHook>(
                __flow_deps: &#deps,
                __flow_nodes: &#nodes_ty,
                __flow_hook: K,
                mut __flow_cx: ::typedflow::Context,
                __flow_input: #input,
            ) -> ::core::result::Result<#output, ::typedflow::FlowError> {
                #run_loop
            }
        }

        /// A run of the flow, ready to start with the hook its hooks choose.
        #[doc(hidden)]
        struct #start_ty<'__flow, H> {
            flow: &'__flow #name<H>,
            cx: ::typedflow::Context,
            input: #input,
        }

        impl<H: ::typedflow::StepHook> ::typedflow::RunStart<#output> for #start_ty<'_, H> {
            #[inline(always)]
            fn start<K: ::typedflow::StepHook>(
                self,
                hook: K,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#output, ::typedflow::FlowError>,
            > {
                #bounded_loop
            }
        }

        #subgraph

        impl<H: ::typedflow::StepHook> ::typedflow::Flow for #name<H> {
            type Input = #input;
            type Output = #output;
            type Deps = #deps;
            const NAME: &'static str = #display_name;
            // The node list is a const of its own: its metric keys live in statics, and a
            // list that refers to statics is not promoted to `'static` inside a call.
            const GRAPH: &'static ::typedflow::GraphInfo = {
                const NODES: &[::typedflow::NodeInfo] = &[#(::typedflow::NodeInfo::__new(
                    #node_names,
                    ::typedflow::__node_keys!(#display_name, #node_names),
                ),)*];
                &::typedflow::GraphInfo::__new(
                    #display_name,
                    #input_str,
                    #output_str,
                    #entry_name,
                    NODES,
                    &[#(#edge_infos,)*],
                    #max_steps,
                    #timeout,
                    ::typedflow::__flow_keys!(#display_name),
                )
            };
            const MERMAID: &'static str = #mermaid;
            const DOT: &'static str = #dot;

            fn run(
                &self,
                input: #input,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#output, ::typedflow::FlowError>,
            > {
                #name::run(self, input)
            }

            fn run_with<R: ::typedflow::StepHook>(
                &self,
                input: #input,
                hook: R,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#output, ::typedflow::FlowError>,
            > {
                #name::run_with(self, input, hook)
            }
        }
    }
}

/// How a step is named in errors: its node, `(a, b)` for a fan-out, `[w]` for a map.
fn step_name(graph: &Graph, i: usize) -> String {
    let nodes = &graph.nodes;
    match &nodes[i].kind {
        Kind::Fan { branches, .. } => {
            let names: Vec<String> = branches
                .iter()
                .map(|b| nodes[*b].name.to_string())
                .collect();
            format!("({})", names.join(", "))
        }
        Kind::Map { worker, .. } => format!("[{}]", nodes[*worker].name),
        _ => nodes[i].name.to_string(),
    }
}

fn type_string(tokens: &impl quote::ToTokens) -> String {
    let s = tokens.to_token_stream().to_string();
    // `Vec < String >` -> `Vec<String>`, `a :: b` -> `a::b`, keeping spaces after commas.
    s.replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" < ", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace("& ", "&")
}
