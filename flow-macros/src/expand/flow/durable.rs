//! `#[flow(durable)]`: the state enum's encoding, a second copy of the run loop that saves
//! a checkpoint after each step, the start and resume of such a run, and the `DurableFlow`
//! impl. A flow that is not durable gets none of it, and a durable flow's run without a
//! store runs the loop of `steps`, unchanged: it pays nothing for being durable.
//!
//! Every value a checkpoint holds goes through a check of `typedflow::checks`
//! (`DurableInput` on the node's name, `DurableFlowInput` and `DurableFlowOutput` on the
//! header's types) which both checks that it is serializable and encodes or decodes it:
//! a type that is not is one error, where the user wrote it, and serde is named only in
//! the runtime.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::{Cx, type_string};
use crate::expand::diagram;
use crate::model::Kind;

/// Everything a durable flow adds; nothing for another flow.
pub(super) fn expand_durable(cx: &Cx<'_>) -> TokenStream {
    if !cx.graph.durable {
        return TokenStream::new();
    }
    let state_impl = state_impl(cx);
    let run = durable_run(cx);
    quote! {
        ::typedflow::__flow_durable_feature!();
        #state_impl
        #run
    }
}

/// The check of a value at step `i`, spanned where the user names its type: the flow's
/// input for the entry step of a plain node, the node's name otherwise.
pub(super) fn check_at(cx: &Cx<'_>, i: usize) -> (Span, TokenStream) {
    let graph = cx.graph;
    let entry = graph.entries.first().map(|e| e.to).unwrap_or(0);
    let node = &graph.nodes[i];
    if i == entry && !matches!(node.kind, Kind::Fan { .. } | Kind::Map { .. }) {
        let at = graph.input.span();
        let name = cx.name;
        let check = syn::Ident::new("DurableFlowInput", at);
        let params = quote_spanned!(at=> #name, _);
        (
            at,
            quote_spanned!(at=> ::typedflow::checks::#check<#params>),
        )
    } else {
        let at = node.name.span();
        let ty = cx.ty_at(i, at);
        let check = syn::Ident::new("DurableInput", at);
        (at, quote_spanned!(at=> ::typedflow::checks::#check<#ty, _>))
    }
}

/// `impl DurableState for State`: its step's name, its encoding and decoding.
fn state_impl(cx: &Cx<'_>) -> TokenStream {
    let graph = cx.graph;
    let state = &cx.state;
    let waiting = cx.waiting_states();
    let variants: Vec<_> = graph.steps().map(|(_, n)| &n.variant).collect();
    let mut encode = Vec::new();
    let mut decode = Vec::new();
    for (i, node) in graph.steps() {
        let variant = &node.variant;
        let name = graph.step_name(i);
        let (at, check) = check_at(cx, i);
        let (enc, dec) = (syn::Ident::new("encode", at), syn::Ident::new("decode", at));
        let graph_ty = quote_spanned!(at=> ::typedflow::checks::Graph);
        encode.push(quote_spanned! {variant.span()=>
            Self::#variant(__flow_value) => ::typedflow::__private::encode_step(__flow_out, #name, |__flow_out| {
                <#graph_ty as #check>::#enc(__flow_value, #name, __flow_out)
            }),
        });
        decode.push(quote_spanned! {variant.span()=>
            #name => ::core::result::Result::Ok(Self::#variant(<#graph_ty as #check>::#dec(__flow_value)?)),
        });
    }
    quote! {
        impl ::typedflow::__private::DurableState for #state {
            #[inline(always)]
            fn step_name(&self) -> &'static str {
                self.node()
            }

            fn encode(
                &self,
                __flow_out: &mut ::std::vec::Vec<u8>,
            ) -> ::core::result::Result<(), ::typedflow::durable::DurableError> {
                match self {
                    #(#encode)*
                }
            }

            fn decode(
                __flow_bytes: &[u8],
            ) -> ::core::result::Result<Self, ::typedflow::durable::DurableError> {
                let (__flow_step, __flow_value) = ::typedflow::__private::decode_step(__flow_bytes)?;
                match __flow_step.as_str() {
                    #(#decode)*
                    __flow_other => ::core::result::Result::Err(::typedflow::__private::decode_error(
                        ::std::format!("this graph has no step `{}`", __flow_other),
                    )),
                }
            }

            fn input_mut(&mut self) -> &mut dyn ::core::any::Any {
                match self {
                    #(Self::#variants(__flow_input) => __flow_input,)*
                }
            }

            #waiting
        }
    }
}

/// The graph's fingerprint: a hash of its diagram (nodes and edges), its header's types
/// and, for each step, its name and the node type that runs it, as written.
fn fingerprint(cx: &Cx<'_>) -> TokenStream {
    let graph = cx.graph;
    let mut parts = vec![
        diagram::mermaid(graph),
        type_string(&graph.input),
        type_string(&graph.output),
    ];
    for (i, node) in graph.steps() {
        parts.push(graph.step_name(i));
        parts.push(type_string(&node.ty));
    }
    quote!(::typedflow::__private::fingerprint(&[#(#parts),*]))
}

/// The start and resume of a checkpointed run, its loop, and `DurableFlow`.
fn durable_run(cx: &Cx<'_>) -> TokenStream {
    let (name, state) = (cx.name, &cx.state);
    let start_ty = format_ident!("__Flow{}Durable", name);
    let resume_fork = resume_and_fork(cx);
    let start = durable_start(cx, &start_ty);
    let steps = durable_steps(cx);
    let start_type = durable_start_type(cx, &start_ty);
    let flow_impl = durable_flow_impl(cx);
    let asks = cx.asks();
    quote! {
        impl #name {
            /// The fingerprint of the graph (nodes, edges, the types at each step): a
            /// checkpoint with another one is not resumed.
            pub const FINGERPRINT: u64 = <Self as ::typedflow::durable::DurableFlow>::FINGERPRINT;
        }

        impl #state {
            /// The state saved in `checkpoint`: the step its run goes on with, holding
            /// that step's input, typed.
            ///
            /// # Errors
            ///
            /// [`DurableError`](::typedflow::durable::DurableError): `OtherFlow` or
            /// `GraphChanged` for a checkpoint of another flow or graph, `Finished` for
            /// the checkpoint of a run's end (it holds the output), `Decode` for a state
            /// that does not read.
            pub fn from_checkpoint(
                checkpoint: &::typedflow::checkpoint::Checkpoint,
            ) -> ::core::result::Result<Self, ::typedflow::durable::DurableError> {
                ::typedflow::__private::state_of::<Self>(
                    <#name as ::typedflow::Flow>::GRAPH,
                    <#name as ::typedflow::durable::DurableFlow>::FINGERPRINT,
                    checkpoint,
                )
            }
        }

        impl<H: ::typedflow::StepHook> #name<H> {
            #resume_fork
            #start
            #steps
        }

        #start_type
        #flow_impl
        #asks
    }
}

/// An inherent method of a durable flow that forwards to the `DurableFlow` method of its
/// name, so that callers need not import the trait.
struct Forward {
    name: &'static str,
    /// What it does, a line of docs ending with the link to the trait's method.
    doc: String,
    /// When it fails.
    errors: String,
    /// Generic parameters before the store's (`Q,`) and after it (`, T: 'static`).
    before: TokenStream,
    after: TokenStream,
    /// Parameters after `run_id`, and the arguments they are passed on as.
    params: TokenStream,
    args: TokenStream,
    /// The trait method's turbofish, if its parameters are not inferred.
    turbofish: TokenStream,
    bounds: TokenStream,
}

impl Forward {
    /// `name`, which does `what` and fails when `fails`, with no parameters of its own.
    fn new(name: &'static str, what: &str, fails: &str) -> Self {
        let none = TokenStream::new;
        Forward {
            name,
            doc: format!(
                " {what}: see [`DurableFlow::{name}`](::typedflow::durable::DurableFlow::{name})."
            ),
            errors: format!(
                " The run's error, or [`FlowError::Durable`](::typedflow::FlowError::Durable) when {fails}."
            ),
            before: none(),
            after: none(),
            params: none(),
            args: none(),
            turbofish: none(),
            bounds: none(),
        }
    }

    fn expand(&self) -> TokenStream {
        let Forward {
            name,
            doc,
            errors,
            before,
            after,
            params,
            args,
            turbofish,
            bounds,
        } = self;
        let method = syn::Ident::new(name, Span::call_site());
        // Named through the trait: the inherent impl cannot see the trait impl's choice.
        let output = quote!(<Self as ::typedflow::durable::DurableFlow>::RunOutput);
        quote! {
            #[doc = #doc]
            ///
            /// # Errors
            ///
            #[doc = #errors]
            #[inline(always)]
            pub fn #method<'__flow, #before __FlowStore: ::typedflow::checkpoint::Checkpointer #after>(
                &'__flow self,
                store: &'__flow __FlowStore,
                run_id: ::typedflow::RunId,
                #params
            ) -> ::typedflow::durable::DurableRun<
                '__flow,
                Self,
                __FlowStore,
                ::typedflow::NoHook,
                ::typedflow::NoHook,
                impl ::typedflow::durable::LaunchDurable<
                    '__flow,
                    Self,
                    __FlowStore,
                    (::typedflow::NoHook, ::typedflow::NoHook),
                    Run = impl ::core::future::Future<
                        Output = ::core::result::Result<#output, ::typedflow::FlowError>,
                    >,
                >,
            >
            #bounds
            {
                <Self as ::typedflow::durable::DurableFlow>::#method #turbofish(self, store, run_id, #args)
            }
        }
    }
}

/// The inherent `resume`, `fork` and `fork_edited`, as `DurableFlow` has them; and for a
/// flow with interrupts, `resume_with`, `resume_with_json` and `waiting`.
fn resume_and_fork(cx: &Cx<'_>) -> TokenStream {
    let step = "A new run from the checkpoint of step `step` of the run `run_id`";
    let mut methods = vec![
        Forward::new(
            "resume",
            "Resumes the run `run_id` from its last checkpoint in `store`",
            "the run cannot be resumed",
        ),
        Forward {
            params: quote!(step: u32,),
            args: quote!(step),
            ..Forward::new(
                "fork",
                &format!("{step}, which is left as it is"),
                "the step cannot be forked",
            )
        },
        Forward {
            after: quote!(, T: 'static),
            params: quote!(step: u32, edit: impl ::core::ops::FnOnce(&mut T) + ::core::marker::Send + 'static,),
            args: quote!(step, edit),
            ..Forward::new(
                "fork_edited",
                &format!("{step}, with the input of that step changed by `edit`"),
                "the step cannot be forked or does not take a `T`",
            )
        },
    ];
    if cx.has_interrupts() {
        methods.push(Forward {
            before: quote!(Q,),
            params: quote!(answer: <Self as ::typedflow::durable::Asks<Q>>::Answer,),
            args: quote!(answer),
            turbofish: quote!(::<Q, __FlowStore>),
            bounds: quote!(where Self: ::typedflow::durable::Asks<Q>,),
            ..Forward::new(
                "resume_with",
                "Resumes the run `run_id`, waiting at an interrupt asking `Q`, with `answer`",
                "the run does not wait for that answer",
            )
        });
        methods.push(Forward {
            params: quote!(answer: impl ::core::convert::Into<::std::vec::Vec<u8>>,),
            args: quote!(answer),
            ..Forward::new(
                "resume_with_json",
                "As `resume_with`, with the answer as JSON text",
                "the run does not wait or the answer does not decode",
            )
        });
    }
    let methods = methods.iter().map(Forward::expand);
    let waiting = cx.has_interrupts().then(waiting);
    quote!(#(#methods)* #waiting)
}

/// The inherent `waiting` of a flow with interrupts, as `DurableFlow` has it.
fn waiting() -> TokenStream {
    quote! {
        /// The question the run `run_id` waits on: see
        /// [`DurableFlow::waiting`](::typedflow::durable::DurableFlow::waiting).
        ///
        /// # Errors
        ///
        /// [`FlowError::Durable`](::typedflow::FlowError::Durable) when the run does
        /// not wait, or its checkpoint cannot be read.
        #[inline(always)]
        pub fn waiting<__FlowStore: ::typedflow::checkpoint::Checkpointer>(
            &self,
            store: &__FlowStore,
            run_id: ::typedflow::RunId,
        ) -> impl ::core::future::Future<
            Output = ::core::result::Result<::typedflow::durable::Waiting, ::typedflow::FlowError>,
        > {
            <Self as ::typedflow::durable::DurableFlow>::waiting(self, store, run_id)
        }
    }
}

/// `__flow_durable`: a new run, or the run of the last checkpoint, started through the
/// hooks with a saver of its steps.
fn durable_start(cx: &Cx<'_>, start_ty: &syn::Ident) -> TokenStream {
    let (input, output) = (&cx.graph.input, cx.run_output());
    let entry = cx.entry_state();
    // The entry's hand-over names the run loop's short names.
    let aliases = cx.aliases();
    quote! {
            // What `DurableFlow::start_durable` runs: a new run, or the run of the last
            // checkpoint, with a saver of its steps into the store.
            #[doc(hidden)]
            async fn __flow_durable<__FlowRun: ::typedflow::run::PerRun, __FlowStore: ::typedflow::checkpoint::Checkpointer>(
                &self,
                begin: ::typedflow::durable::Begin<#input>,
                hooks: __FlowRun,
                store: &__FlowStore,
            ) -> ::core::result::Result<#output, ::typedflow::FlowError> {
                #aliases
                let __flow_graph = <Self as ::typedflow::Flow>::GRAPH;
                let ::typedflow::__private::Begun {
                    cx: __flow_cx,
                    state: __flow_state,
                    stored: __flow_stored,
                    answer: __flow_answer,
                } = ::typedflow::__private::durable_begin(
                    begin,
                    __flow_graph,
                    <Self as ::typedflow::durable::DurableFlow>::FINGERPRINT,
                    ::typedflow::__private::next_run_id,
                    |__flow_input: #input| #entry,
                    store,
                )
                .await?;
                let __flow_run_id = __flow_cx.run_id();
                let mut __flow_saver = ::typedflow::__private::StoreSaver::new(
                    store,
                    __flow_graph,
                    <Self as ::typedflow::durable::DurableFlow>::FINGERPRINT,
                    __flow_run_id,
                );
                ::typedflow::__private::Saver::begin(&mut __flow_saver, &__flow_cx, &__flow_state, __flow_stored)?;
                ::typedflow::StepHook::start(
                    &::typedflow::run::PerRun::within(&hooks, &self.__flow_hook),
                    __flow_graph,
                    __flow_run_id,
                    #start_ty {
                        flow: self,
                        cx: __flow_cx,
                        state: __flow_state,
                        saver: __flow_saver,
                        answer: __flow_answer,
                    },
                )
                .await
            }
    }
}

/// `__flow_steps`: the run loop from a state, saving each step and the run's end.
fn durable_steps(cx: &Cx<'_>) -> TokenStream {
    let (name, nodes_ty, deps, state) = (cx.name, &cx.nodes_ty, &cx.deps, &cx.state);
    let output = &cx.graph.output;
    let run_output = cx.run_output();
    let nested = cx.nested_table();
    let steps = cx.steps(Some(quote! {
        ::typedflow::__private::Saver::step(&mut __flow_saver, &__flow_cx, &__flow_state).await?;
    }));
    let out_at = output.span();
    let finish = {
        let check = syn::Ident::new("DurableFlowOutput", out_at);
        let enc = syn::Ident::new("encode", out_at);
        quote_spanned!(out_at=>
            <::typedflow::checks::Graph as ::typedflow::checks::#check<#name, _>>::#enc(__flow_value, __flow_buf)
        )
    };
    let (answer, waiting, finished, stopped) = cx.waiting_parts();
    quote! {
            // The run loop of `__flow_loop`, from a state, saving each step through the
            // saver before the next starts, and the run's end when it ends.
            #[doc(hidden)]
            #[allow(unreachable_code)]
            async fn __flow_steps<__FlowHook: ::typedflow::StepHook, __FlowSaver: ::typedflow::__private::Saver>(
                __flow_deps: &#deps,
                __flow_nodes: &#nodes_ty,
                __flow_hook: __FlowHook,
                mut __flow_cx: ::typedflow::Context,
                mut __flow_state: #state,
                mut __flow_saver: __FlowSaver,
                #answer: ::core::option::Option<::std::boxed::Box<dyn ::core::any::Any + ::core::marker::Send>>,
            ) -> ::core::result::Result<#run_output, ::typedflow::FlowError> {
                #nested
                #waiting
                let __flow_result: ::core::result::Result<#output, ::typedflow::FlowError> = async {
                    #steps
                }
                .await;
                #stopped
                match __flow_result {
                    ::core::result::Result::Ok(__flow_out) => {
                        ::typedflow::__private::Saver::finished(
                            &mut __flow_saver,
                            &__flow_cx,
                            &__flow_out,
                            |__flow_value, __flow_buf| #finish,
                        )
                        .await?;
                        ::core::result::Result::Ok(#finished)
                    }
                    ::core::result::Result::Err(__flow_err) => ::core::result::Result::Err(
                        ::typedflow::__private::Saver::failed(&mut __flow_saver, &__flow_cx, __flow_err).await,
                    ),
                }
            }
    }
}

/// The checkpointed run handed to the hooks to start (`RunStart`).
fn durable_start_type(cx: &Cx<'_>, start_ty: &syn::Ident) -> TokenStream {
    let (name, state, output) = (cx.name, &cx.state, cx.run_output());
    let bounded = cx.with_deadline(quote! {
        #name::<__FlowH>::__flow_steps(
            &self.flow.__flow_deps,
            &self.flow.__flow_nodes,
            hook,
            self.cx,
            self.state,
            self.saver,
            self.answer,
        )
    });
    quote! {
        /// A checkpointed run of the flow, ready to start with the hook its hooks choose.
        #[doc(hidden)]
        struct #start_ty<'__flow, '__store, __FlowH, __FlowStore> {
            flow: &'__flow #name<__FlowH>,
            cx: ::typedflow::Context,
            state: #state,
            saver: ::typedflow::__private::StoreSaver<'__store, __FlowStore>,
            answer: ::core::option::Option<::std::boxed::Box<dyn ::core::any::Any + ::core::marker::Send>>,
        }

        impl<__FlowH: ::typedflow::StepHook, __FlowStore: ::typedflow::checkpoint::Checkpointer>
            ::typedflow::RunStart<#output> for #start_ty<'_, '_, __FlowH, __FlowStore>
        {
            #[inline(always)]
            fn start<__FlowHook: ::typedflow::StepHook>(
                self,
                hook: __FlowHook,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#output, ::typedflow::FlowError>,
            > {
                #bounded
            }
        }
    }
}

/// `impl DurableFlow`: the fingerprint and the start of a checkpointed run.
fn durable_flow_impl(cx: &Cx<'_>) -> TokenStream {
    let (name, input, output, state) = (cx.name, &cx.graph.input, cx.run_output(), &cx.state);
    let flow_output = &cx.graph.output;
    let outcome = if cx.has_interrupts() {
        quote!(output)
    } else {
        quote!(::typedflow::durable::Outcome::Finished(output))
    };
    let fingerprint = fingerprint(cx);
    quote! {
        impl<H: ::typedflow::StepHook> ::typedflow::durable::DurableFlow for #name<H> {
            const FINGERPRINT: u64 = #fingerprint;
            type RunOutput = #output;

            #[inline(always)]
            fn outcome(output: #output) -> ::typedflow::durable::Outcome<#flow_output> {
                #outcome
            }

            #[inline(always)]
            fn waiting<__FlowStore: ::typedflow::checkpoint::Checkpointer>(
                &self,
                store: &__FlowStore,
                run_id: ::typedflow::RunId,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<::typedflow::durable::Waiting, ::typedflow::FlowError>,
            > {
                ::typedflow::__private::durable_waiting::<#state, __FlowStore>(
                    <Self as ::typedflow::Flow>::GRAPH,
                    <Self as ::typedflow::durable::DurableFlow>::FINGERPRINT,
                    store,
                    run_id,
                )
            }

            #[inline(always)]
            fn start_durable<__FlowRun: ::typedflow::run::PerRun, __FlowStore: ::typedflow::checkpoint::Checkpointer>(
                &self,
                begin: ::typedflow::durable::Begin<#input>,
                hooks: __FlowRun,
                store: &__FlowStore,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#output, ::typedflow::FlowError>,
            > {
                #name::__flow_durable(self, begin, hooks, store)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use crate::diag::Diagnostics;
    use crate::parse::args::FlowArgs;

    /// The expansion of a three-node flow, durable or not.
    fn expansion(durable: bool) -> String {
        let mut cx = Diagnostics::default();
        let input = crate::parse::graph::parse_graph(
            &mut cx,
            quote!(Essay(String) -> usize { START -> outline -> write -> count -> END; }),
        )
        .expect("a valid graph");
        let args = FlowArgs {
            durable,
            ..FlowArgs::default()
        };
        let graph = crate::model::resolve(&mut cx, input, args);
        assert!(cx.messages().is_empty());
        super::super::expand_flow(&graph).to_string()
    }

    #[test]
    fn a_durable_flow_checks_each_saved_value_once_per_use_and_another_flow_not_at_all() {
        let durable = expansion(true);
        // Encoded and decoded: two uses of each check, on the same token.
        assert_eq!(
            durable.matches("DurableFlowInput < Essay").count(),
            2,
            "{durable}"
        );
        assert_eq!(
            durable.matches("DurableInput < write").count(),
            2,
            "{durable}"
        );
        assert_eq!(
            durable.matches("DurableInput < count").count(),
            2,
            "{durable}"
        );
        assert_eq!(
            durable.matches("DurableInput < outline").count(),
            0,
            "{durable}"
        );
        assert_eq!(
            durable.matches("DurableFlowOutput < Essay").count(),
            1,
            "{durable}"
        );
        assert!(durable.contains("__flow_durable_feature"));

        let plain = expansion(false);
        assert!(!plain.contains("Durable"), "{plain}");
        assert!(!plain.contains("__flow_steps"), "{plain}");
        // The loop of a run without a store is the same in both.
        let loop_of = |text: &str| {
            let start = text.find("fn __flow_loop").expect("a loop");
            let end = start
                + text[start..]
                    .find("# [doc (hidden)]")
                    .unwrap_or(text.len() - start);
            text[start..end].to_owned()
        };
        assert_eq!(loop_of(&durable), loop_of(&plain));
    }
}
