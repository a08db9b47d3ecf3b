//! Interrupts (`interrupt review: Approval;`): the arm of an interrupt's step, which
//! stops the run, or in a resumed run takes the answer it was given; what the state enum
//! of a flow with interrupts says about its waiting states; and `Asks` for each question.
//! A flow without interrupts gets none of it.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::{Cx, type_string};
use crate::model::{Target, WayOn};

impl Cx<'_> {
    /// Whether the graph has an interrupt.
    pub(super) fn has_interrupts(&self) -> bool {
        self.graph.steps().any(|(_, n)| n.interrupt.is_some())
    }

    /// The interrupts: each step, its name, its question's and answer's types, and the
    /// question's type as written.
    #[allow(clippy::type_complexity)] // reason: a private iterator of plain parts
    fn interrupts(&self) -> impl Iterator<Item = (usize, String, &(syn::Type, syn::Type), String)> {
        self.graph.steps().filter_map(|(i, n)| {
            let types = n.interrupt.as_ref()?;
            Some((i, n.name.to_string(), types, type_string(&types.0)))
        })
    }

    /// The arm of the interrupt at step `i`. A run without a store cannot wait: it ends
    /// with an error saying so. A checkpointed run given an answer goes on with the
    /// question and the answer; without one it saves its state as waiting, keeps the
    /// waiting run for `__flow_steps` to return, and leaves the loop.
    pub(super) fn interrupt_arm(&self, i: usize, durable: bool) -> TokenStream {
        let node = &self.graph.nodes[i];
        let (variant, span) = (&node.variant, node.name.span());
        let state = self.state_at(span);
        let name = node.name.to_string();
        let Some((question, answer)) = &node.interrupt else {
            return TokenStream::new();
        };
        let question_name = type_string(question);
        let stop = quote! {
            return ::core::result::Result::Err(
                ::typedflow::__private::interrupted(&__flow_cx, #name, #question_name),
            )
        };
        if !durable {
            return quote_spanned!(span=> #state::#variant(_) => #stop,);
        }
        let on_ok = self.on_ok(i);
        let p = self.graph.position(i).unwrap_or(0);
        let info = quote!(&<Self as ::typedflow::Flow>::GRAPH.nodes[#p]);
        let (at, check) = super::durable::check_at(self, i);
        let enc = syn::Ident::new("encode", at);
        let graph_ty = quote_spanned!(at=> ::typedflow::checks::Graph);
        quote_spanned! {span=>
            #state::#variant(__flow_value) => match ::core::option::Option::take(&mut __flow_answer) {
                ::core::option::Option::Some(__flow_given) => {
                    let __flow_out = ::typedflow::__private::answered::<#question, #answer>(
                        &__flow_cx,
                        #name,
                        __flow_value,
                        __flow_given,
                    )?;
                    #on_ok
                }
                ::core::option::Option::None => {
                    let __flow_at = ::typedflow::__private::Saver::waiting(
                        &mut __flow_saver,
                        &__flow_cx,
                        #question_name,
                        |__flow_buf| ::typedflow::__private::encode_step(__flow_buf, #name, |__flow_buf| {
                            <#graph_ty as #check>::#enc(&__flow_value, #name, __flow_buf)
                        }),
                    )
                    .await?;
                    ::typedflow::StepHook::waiting(&__flow_hook, &__flow_cx, #info, #question_name).await;
                    __flow_waiting = ::core::option::Option::Some(::typedflow::__private::waiting(
                        __flow_cx.run_id(),
                        __flow_at,
                        #name,
                        #question_name,
                        __flow_value,
                    ));
                    #stop
                }
            },
        }
    }

    /// What `__flow_steps` adds for interrupts: its parameter of the answer a resumed run
    /// was given (taken by the interrupt's arm), the waiting run an interrupt leaves the
    /// loop with, the outcome of a finished run, and the return of a waiting one. For a
    /// flow without interrupts: the parameter unused, the output as it is.
    pub(super) fn waiting_parts(&self) -> (TokenStream, TokenStream, TokenStream, TokenStream) {
        if !self.has_interrupts() {
            return (
                quote!(__flow_answer),
                TokenStream::new(),
                quote!(__flow_out),
                TokenStream::new(),
            );
        }
        (
            quote!(mut __flow_answer),
            quote! {
                let mut __flow_waiting: ::core::option::Option<::typedflow::durable::Waiting> =
                    ::core::option::Option::None;
            },
            quote!(::typedflow::durable::Outcome::Finished(__flow_out)),
            quote! {
                if let ::core::option::Option::Some(__flow_w) = __flow_waiting {
                    return ::core::result::Result::Ok(::typedflow::durable::Outcome::Waiting(__flow_w));
                }
            },
        )
    }

    /// `DurableState::waits` and `into_waiting`, for a flow with interrupts.
    pub(super) fn waiting_states(&self) -> TokenStream {
        if !self.has_interrupts() {
            return TokenStream::new();
        }
        let state = &self.state;
        let (mut waits, mut into, mut decode) = (Vec::new(), Vec::new(), Vec::new());
        for (i, name, (question, answer), question_name) in self.interrupts() {
            let variant = &self.graph.nodes[i].variant;
            let decoded = self.decode_answer(i, question, answer);
            decode.push(quote! {
                #state::#variant(__flow_q) => ::core::option::Option::Some(#decoded),
            });
            waits
                .push(quote!(#state::#variant(_) => ::core::option::Option::Some(#question_name),));
            into.push(quote! {
                #state::#variant(__flow_q) => ::core::option::Option::Some(
                    ::typedflow::__private::waiting(__flow_run_id, __flow_step, #name, #question_name, __flow_q),
                ),
            });
        }
        quote! {
            #[inline]
            fn waits(&self) -> ::core::option::Option<&'static str> {
                match self {
                    #(#waits)*
                    _ => ::core::option::Option::None,
                }
            }

            fn decode_answer(
                &self,
                __flow_answer: &[u8],
            ) -> ::core::option::Option<
                ::core::result::Result<
                    ::std::boxed::Box<dyn ::core::any::Any + ::core::marker::Send>,
                    ::typedflow::durable::DurableError,
                >,
            > {
                match self {
                    #(#decode)*
                    _ => ::core::option::Option::None,
                }
            }

            fn into_waiting(
                self,
                __flow_run_id: ::typedflow::RunId,
                __flow_step: u32,
            ) -> ::core::option::Option<::typedflow::durable::Waiting> {
                match self {
                    #(#into)*
                    _ => ::core::option::Option::None,
                }
            }
        }
    }

    /// The answer to the interrupt at step `i`, `__flow_q` its question, decoded from the
    /// JSON text `__flow_answer` and boxed. When a node follows, through the check that
    /// node's input (`Answered<Q, A>`) is saved with, on the same token: an answer type
    /// that cannot be saved is then one error, the one on that node, not a second here.
    fn decode_answer(&self, i: usize, question: &syn::Type, answer: &syn::Type) -> TokenStream {
        let next = match self.graph.way_on(i) {
            Some(WayOn::Edge(edge)) => match edge.to {
                Target::Node(j) => Some(j),
                Target::End => None,
            },
            _ => None,
        };
        let Some(j) = next else {
            return quote!(::typedflow::__private::decode_answer::<#answer>(__flow_answer));
        };
        let name = self.graph.step_name(i);
        let (at, own) = super::durable::check_at(self, i);
        let (next_at, check) = super::durable::check_at(self, j);
        let graph_ty = quote_spanned!(next_at=> ::typedflow::checks::Graph);
        let own_graph = quote_spanned!(at=> ::typedflow::checks::Graph);
        let (enc, dec) = (
            syn::Ident::new("encode", at),
            syn::Ident::new("decode", next_at),
        );
        quote! {
            (|| {
                let mut __flow_buf = ::std::vec::Vec::new();
                <#own_graph as #own>::#enc(__flow_q, #name, &mut __flow_buf)?;
                let __flow_value = ::typedflow::__private::answered_value(&__flow_buf, __flow_answer)?;
                let __flow_answered: ::typedflow::durable::Answered<#question, #answer> =
                    <#graph_ty as #check>::#dec(__flow_value)?;
                ::core::result::Result::Ok(::std::boxed::Box::new(__flow_answered.answer)
                    as ::std::boxed::Box<dyn ::core::any::Any + ::core::marker::Send>)
            })()
        }
    }

    /// `impl Asks<Question>` for each question type the interrupts ask (once per type as
    /// written), and the inherent `resume_with`.
    pub(super) fn asks(&self) -> TokenStream {
        let name = self.name;
        let mut seen = BTreeSet::new();
        let mut impls = Vec::new();
        for (_, _, (question, answer), question_name) in self.interrupts() {
            if seen.insert(question_name.clone()) {
                impls.push(quote! {
                    impl<H: ::typedflow::StepHook> ::typedflow::durable::Asks<#question> for #name<H> {
                        type Answer = #answer;
                        const QUESTION: &'static str = #question_name;
                    }
                });
            }
        }
        quote!(#(#impls)*)
    }

    /// What a checkpointed run gives: the output, or with interrupts an `Outcome`.
    pub(super) fn run_output(&self) -> TokenStream {
        let output = &self.graph.output;
        if self.has_interrupts() {
            quote!(::typedflow::durable::Outcome<#output>)
        } else {
            quote!(#output)
        }
    }
}
