//! `graph!`: the flow type, its state enum, the run loop, and the static description.
//!
//! Assumes validation passed: one entry, one way on per node, every node reachable.
//!
//! Type checks are not separate assertions: every hand-over in the run loop goes through
//! a `__private` function whose trait bound is the check, spanned on the user's token
//! (the edge's arrow, the route arm, the header's types). A wrong type so fails exactly
//! once, where the user wrote it, and the loop has no other use of the mismatched value.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Index, LitStr};

use crate::expand::diagram;
use crate::model::{Graph, Target};

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
    let state = format_ident!("{}State", name);
    let deps = match &graph.deps {
        Some(ty) => quote!(#ty),
        None => quote!(()),
    };
    let live: Vec<_> = graph.live_nodes().collect();
    // Node index in the model -> position among live nodes (tuple field, GRAPH.nodes index).
    let pos = |i: usize| live.iter().position(|(j, _)| *j == i).unwrap_or(0);
    // `<ty as Node>::X`, spanned on the node's name: the errors of a name that is not a
    // node all fall on one token, where rustc merges the identical ones.
    let assoc = |what: &str| -> Vec<TokenStream> {
        let what = format_ident!("{}", what);
        live.iter()
            .map(|(_, n)| {
                let ty = &n.ty;
                quote_spanned!(n.name.span()=> <#ty as ::flow_runtime::Node>::#what)
            })
            .collect()
    };
    let node_inputs = assoc("Input");
    let node_states = assoc("State");
    let node_state_fns = assoc("state");
    let variants: Vec<_> = live.iter().map(|(_, n)| &n.variant).collect();
    let node_names: Vec<_> = live.iter().map(|(_, n)| n.name.to_string()).collect();
    let max_steps = graph.max_steps.unwrap_or(0);
    let max_steps = if graph.max_steps.is_some() {
        quote!(#max_steps)
    } else {
        quote!(::flow_runtime::DEFAULT_MAX_STEPS)
    };

    // -- transitions --------------------------------------------------------------
    let hand_over = |from: usize, to: Target, value: TokenStream, span: Span| -> TokenStream {
        let from_ty = &graph.nodes[from].ty;
        match to {
            Target::Node(j) => {
                let to_ty = &graph.nodes[j].ty;
                let variant = &graph.nodes[j].variant;
                let pass = quote_spanned! {span=>
                    ::flow_runtime::__private::Hand(#value).edge::<#to_ty, #from_ty>()
                };
                quote!(#state::#variant(#pass))
            }
            Target::End => {
                let finish = quote_spanned! {output.span()=>
                    ::flow_runtime::__private::Hand(#value).end::<#name, #output, #from_ty>()
                };
                quote!(return ::core::result::Result::Ok(#finish))
            }
        }
    };
    let arms = live.iter().map(|(i, node)| {
        let i = *i;
        let (ty, variant, node_name) = (&node.ty, &node.variant, node.name.to_string());
        let k = Index::from(pos(i));
        let k_usize = pos(i);
        let on_ok = if let Some(edge) = graph.edges.iter().find(|e| e.from == i) {
            hand_over(i, edge.to, quote!(__flow_out), edge.arrow.spans[0])
        } else if let Some(route) = graph.routes.iter().find(|r| r.from == i) {
            let route_arms = route.arms.iter().map(|arm| {
                let path = &arm.variant;
                let pattern = quote_spanned!(path.span()=> #path(__flow_payload));
                let next = hand_over(i, arm.to, quote!(__flow_payload), arm.arrow.spans[0]);
                quote!(#pattern => #next,)
            });
            // The scrutinee carries the route block's span: rustc's "non-exhaustive
            // patterns" error, which names the missing variants, lands on the block.
            let scrutinee = quote_spanned!(route.brace.span.join()=> __flow_out);
            quote!(match #scrutinee { #(#route_arms)* })
        } else {
            quote!(::core::unreachable!())
        };
        let call = quote_spanned! {node.name.span()=>
            <#ty as ::flow_runtime::NodeFn<#deps>>::call(
                &self.__flow_deps,
                &self.__flow_nodes.#k,
                &__flow_cx,
                __flow_value,
            )
        };
        quote_spanned! {node.name.span()=>
            #state::#variant(__flow_value) => {
                let __flow_result = ::flow_runtime::StepHook::step(
                    &__flow_hook,
                    &__flow_cx,
                    &<Self as ::flow_runtime::Flow>::GRAPH.nodes[#k_usize],
                    #call,
                )
                .await;
                match __flow_result {
                    ::core::result::Result::Ok(__flow_out) => #on_ok,
                    ::core::result::Result::Err(__flow_err) => {
                        return ::core::result::Result::Err(::flow_runtime::FlowError::__node(
                            #display_name, #node_name, __flow_cx.step(), 1, __flow_err,
                        ));
                    }
                }
            }
        }
    });
    let arms: Vec<_> = arms.collect();

    let entry = graph.entries.first().map(|e| e.to).unwrap_or(0);
    let entry_ty = &graph.nodes[entry].ty;
    let entry_variant = &graph.nodes[entry].variant;
    let entry_pass = quote_spanned! {input.span()=>
        ::flow_runtime::__private::Hand(__flow_input).entry::<#entry_ty, #name>()
    };

    // The step limit can only be reached through a loop: an acyclic graph with no more
    // nodes than the limit runs without the check.
    let limit_check = (graph.has_cycle()
        || live.len() as u64 > u64::from(graph.max_steps.unwrap_or(u32::MAX)))
    .then(|| {
        quote! {
            if __flow_cx.step() == #max_steps {
                return ::core::result::Result::Err(::flow_runtime::FlowError::__step_limit(
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
    // A timeout bounds a whole run, its hooks included.
    let bounded = |run: TokenStream| match &graph.timeout {
        Some(timeout) => {
            quote!(::flow_runtime::__private::deadline(#display_name, #timeout, #run).await)
        }
        None => quote!(#run.await),
    };
    let run_plain = bounded(quote! {
        ::flow_runtime::StepHook::run(
            &self.__flow_hook,
            <Self as ::flow_runtime::Flow>::GRAPH,
            __flow_run_id,
            self.__flow_loop(&self.__flow_hook, __flow_cx, input),
        )
    });
    let run_hooked = bounded(quote! {
        ::flow_runtime::StepHook::run(
            &hook,
            <Self as ::flow_runtime::Flow>::GRAPH,
            __flow_run_id,
            ::flow_runtime::StepHook::run(
                &self.__flow_hook,
                <Self as ::flow_runtime::Flow>::GRAPH,
                __flow_run_id,
                self.__flow_loop((&self.__flow_hook, &hook), __flow_cx, input),
            ),
        )
    });
    // -- description and diagrams -----------------------------------------------
    let mermaid = LitStr::new(&diagram::mermaid(graph), Span::call_site());
    let dot = LitStr::new(&diagram::dot(graph), Span::call_site());
    let endpoint = |x: Option<usize>| match x {
        Some(k) => {
            let n = &node_names[k];
            quote!(::flow_runtime::Endpoint::Node(#n))
        }
        None => quote!(::flow_runtime::Endpoint::End),
    };
    let edge_infos = diagram::edge_list(graph)
        .into_iter()
        .map(|(from, to, variant)| {
            let from = match from {
                None => quote!(::flow_runtime::Endpoint::Start),
                some => endpoint(some),
            };
            let to = endpoint(to);
            let kind = match variant {
                Some(path) => {
                    let path = type_string(path);
                    quote!(::flow_runtime::EdgeKind::Route(#path))
                }
                None => quote!(::flow_runtime::EdgeKind::Plain),
            };
            quote!(::flow_runtime::EdgeInfo::__new(#from, #to, #kind))
        });
    let input_str = type_string(input);
    let output_str = type_string(output);
    let entry_name = graph.nodes[entry].name.to_string();
    let timeout = match &graph.timeout {
        Some(t) => quote!(::core::option::Option::Some(#t)),
        None => quote!(::core::option::Option::None),
    };

    let state_doc =
        format!("The state of a run of [`{name}`]: the node that runs next, holding its input.");
    let variant_docs = node_names
        .iter()
        .map(|n| format!("Node `{n}` runs next with this input."));
    let new_doc = format!("Builds the flow `{name}` with its dependencies.");

    quote! {
        #(#docs)*
        #vis struct #name<H = ::flow_runtime::NoHook> {
            __flow_deps: #deps,
            __flow_hook: H,
            __flow_nodes: (#(#node_states,)*),
            __flow_runs: ::flow_runtime::__private::RunIds,
        }

        #[doc = #state_doc]
        #vis enum #state {
            #(
                #[doc = #variant_docs]
                #variants(#node_inputs),
            )*
        }

        impl #state {
            /// The name of the node this state runs next.
            pub fn node(&self) -> &'static str {
                match self {
                    #(Self::#variants(_) => #node_names,)*
                }
            }
        }

        impl #name {
            /// The flow's name.
            pub const NAME: &'static str = #display_name;
            /// The graph: nodes, edges and settings.
            pub const GRAPH: &'static ::flow_runtime::GraphInfo = <Self as ::flow_runtime::Flow>::GRAPH;
            /// The graph as a Mermaid `flowchart`.
            pub const MERMAID: &'static str = #mermaid;
            /// The graph in Graphviz DOT.
            pub const DOT: &'static str = #dot;

            #[doc = #new_doc]
            pub fn new(deps: #deps) -> Self {
                #name {
                    __flow_deps: deps,
                    __flow_hook: ::flow_runtime::NoHook,
                    __flow_nodes: (#(#node_state_fns(),)*),
                    __flow_runs: ::flow_runtime::__private::RunIds::new(),
                }
            }
        }

        impl<H> #name<H> {
            /// Replaces the step hook, which wraps every node call of every run.
            pub fn with_hook<H2: ::flow_runtime::StepHook>(self, hook: H2) -> #name<H2> {
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

        impl<H: ::flow_runtime::StepHook> #name<H> {
            /// Runs the flow from its entry node to `END`.
            ///
            /// # Errors
            ///
            /// [`FlowError`](::flow_runtime::FlowError) when a node fails, or when the run
            /// exceeds the flow's step limit or timeout.
            pub async fn run(
                &self,
                input: #input,
            ) -> ::core::result::Result<#output, ::flow_runtime::FlowError> {
                let __flow_run_id = self.__flow_runs.next();
                let __flow_cx = ::flow_runtime::Context::new(#display_name, __flow_run_id);
                #run_plain
            }

            /// Runs the flow with one more hook for this run only, inside the flow's own.
            ///
            /// # Errors
            ///
            /// As [`run`](Self::run).
            pub async fn run_with<R: ::flow_runtime::StepHook>(
                &self,
                input: #input,
                hook: R,
            ) -> ::core::result::Result<#output, ::flow_runtime::FlowError> {
                let __flow_run_id = self.__flow_runs.next();
                let __flow_cx = ::flow_runtime::Context::new(#display_name, __flow_run_id);
                #run_hooked
            }

            // The loop takes its hook by value: `run` passes `&self`'s hook, a pointer
            // into the flow; a loop that reached its hook through a reference into an
            // enclosing future paid several instructions per step (scripts/bench-steps.sh).
            // A flow whose every node leads to END has no state to assign after the match.
            #[doc(hidden)]
            #[allow(unreachable_code)]
            async fn __flow_loop<K: ::flow_runtime::StepHook>(
                &self,
                __flow_hook: K,
                mut __flow_cx: ::flow_runtime::Context,
                __flow_input: #input,
            ) -> ::core::result::Result<#output, ::flow_runtime::FlowError> {
                #run_loop
            }
        }

        impl<H: ::flow_runtime::StepHook> ::flow_runtime::Flow for #name<H> {
            type Input = #input;
            type Output = #output;
            type Deps = #deps;
            const NAME: &'static str = #display_name;
            const GRAPH: &'static ::flow_runtime::GraphInfo = &::flow_runtime::GraphInfo::__new(
                #display_name,
                #input_str,
                #output_str,
                #entry_name,
                &[#(::flow_runtime::NodeInfo::__new(#node_names),)*],
                &[#(#edge_infos,)*],
                #max_steps,
                #timeout,
            );
            const MERMAID: &'static str = #mermaid;
            const DOT: &'static str = #dot;

            fn run(
                &self,
                input: #input,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#output, ::flow_runtime::FlowError>,
            > {
                #name::run(self, input)
            }

            fn run_with<R: ::flow_runtime::StepHook>(
                &self,
                input: #input,
                hook: R,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#output, ::flow_runtime::FlowError>,
            > {
                #name::run_with(self, input, hook)
            }
        }
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
