//! Fan-outs and maps: the arms of the steps that run several node calls at once, and the
//! call of a node inside them (with its handler, if it has an error edge).

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

use super::Cx;
use crate::model::Branch;

impl Cx<'_> {
    /// The arm of fan-out step `i`: every branch on its own copy of the value, joined by
    /// `__private::join`; `{a, b}` merges the branches' states in written order.
    pub(super) fn fan_arm(&self, i: usize, branches: &[Branch], merge: bool) -> TokenStream {
        let nodes = &self.graph.nodes;
        let node = &nodes[i];
        let (state, variant) = (&self.state, &node.variant);
        // n - 1 clones and one move: each branch owns its input.
        let inputs: Vec<_> = (0..branches.len())
            .map(|b| format_ident!("__flow_v{}", b))
            .collect();
        let values = branches.iter().enumerate().map(|(b, branch)| {
            if b + 1 == branches.len() {
                quote!(__flow_value)
            } else {
                let span = nodes[branch.first()].name.span();
                Self::fan_clone(quote!(&__flow_value), span)
            }
        });
        let source = self.fan_source(i);
        let futures = branches.iter().zip(&inputs).map(|(branch, v)| {
            let k = branch.first();
            let pass = self.pass_edge(&source, k, quote!(#v), nodes[k].name.span());
            let body = self.branch_path(branch);
            quote!({ let __flow_in = #pass; #body })
        });
        // `{a, b}`: the branches' states merged against the state before the fan-out,
        // kept in `__flow_base` (one more clone, only for a merge join).
        let (base, merge_outputs) = if merge {
            let span = node.name.span();
            let outs: Vec<_> = (0..branches.len())
                .map(|b| format_ident!("__flow_o{}", b, span = span))
                .collect();
            let names = branches.iter().map(|b| {
                let path: Vec<String> =
                    b.nodes.iter().map(|k| nodes[*k].name.to_string()).collect();
                path.join(" -> ")
            });
            let base = Self::fan_clone(quote!(&__flow_value), span);
            let merge = Self::merge_states(
                quote!(__flow_cx, &__flow_base, ::std::vec![#(#outs),*], &[#(#names),*]),
                span,
            );
            (
                Some(quote!(let __flow_base = #base;)),
                Some(quote_spanned!(span=> .and_then(|(#(#outs,)*)| #merge))),
            )
        } else {
            (None, None)
        };
        let on_ok = self.on_ok(i);
        quote_spanned! {node.name.span()=>
            #state::#variant(__flow_value) => {
                #base
                let (#(#inputs,)*) = (#(#values,)*);
                let __flow_hook = &__flow_hook;
                let __flow_cx = &__flow_cx;
                let __flow_joined = ::typedflow::__private::join((#(#futures,)*))
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

    /// The future of one branch on `__flow_in`: its one node's call, or for a path
    /// `a -> b -> c` each node in turn, the hand-over between two spanned on the second's name.
    fn branch_path(&self, branch: &Branch) -> TokenStream {
        let nodes = &self.graph.nodes;
        let first = self.nested(branch.first());
        if branch.nodes.len() == 1 {
            // One node: its call as it is, with no generator of its own.
            return first;
        }
        let rest = branch.nodes.windows(2).map(|pair| {
            let (from, to) = (&nodes[pair[0]].ty, pair[1]);
            let pass = self.pass_edge(
                &quote!(#from),
                to,
                quote!(__flow_out),
                nodes[to].name.span(),
            );
            let call = self.nested(to);
            quote! {
                let __flow_in = #pass;
                let __flow_out = #call.await?;
            }
        });
        quote! {
            async move {
                let __flow_out = #first.await?;
                #(#rest)*
                ::core::result::Result::<_, ::std::boxed::Box<::typedflow::FlowError>>::Ok(__flow_out)
            }
        }
    }

    /// The arm of map step `i`: `worker` on every item, at most `limit` at once.
    pub(super) fn map_arm(&self, i: usize, worker: usize, limit: Option<u32>) -> TokenStream {
        let node = &self.graph.nodes[i];
        let (state, variant) = (&self.state, &node.variant);
        let limit = match limit {
            Some(n) => quote!(#n),
            None => quote!(::typedflow::DEFAULT_MAP_LIMIT),
        };
        let body = self.nested(worker);
        let on_ok = self.on_ok(i);
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

    /// A future running user node `k` inside a fan-out or map on `__flow_in`, to a
    /// `Result<Output, Box<FlowError>>`; a failure goes to the node's handler if it has an
    /// error edge, whose output takes the failed node's place.
    fn nested(&self, k: usize) -> TokenStream {
        let nodes = &self.graph.nodes;
        let node = &nodes[k];
        let call = self.call(k, quote!(__flow_in), true);
        let Some(e) = &node.error_edge else {
            // No handler: a poll-through wrapper maps the error, with no generator.
            return self.nested_call(k, call);
        };
        let (ty, name) = (&node.ty, node.name.to_string());
        let (h, span) = (e.handler, e.handler_ident.span());
        let failed = quote!(::typedflow::__private::failed(#name, __flow_kept, __flow_err, <#ty as ::typedflow::Node>::attempts));
        let failed = self.pass_edge(&quote!(#ty), h, failed, span);
        let handler_output = self.handler_output(h, k, quote!(__flow_out), span);
        let handler_call = self.call(h, failed, true);
        let h_error = self.node_failed(h, quote!(__flow_err));
        let keep = self.keep_input(k, quote!(&__flow_in), span);
        let keep = quote!(let __flow_kept = #keep;);
        quote! {
            async move {
                #keep
                match #call.await {
                    ::core::result::Result::Ok(__flow_out) => ::core::result::Result::Ok(__flow_out),
                    ::core::result::Result::Err(__flow_err) => match #handler_call.await {
                        ::core::result::Result::Ok(__flow_out) => ::core::result::Result::Ok(#handler_output),
                        ::core::result::Result::Err(__flow_err) => ::core::result::Result::Err(::std::boxed::Box::new(#h_error)),
                    },
                }
            }
        }
    }

    /// The node named as the sender of a fan-out's value: its one predecessor, or else the
    /// first branch (whose input type the value has, by the edge into the fan-out).
    fn fan_source(&self, fan: usize) -> TokenStream {
        let mut preds = self.graph.predecessors(fan);
        match (preds.next(), preds.next(), &self.graph.nodes[fan].kind) {
            (Some(p), None, _) => self.sender(p),
            (_, _, crate::model::Kind::Fan { branches, .. }) => {
                let ty = &self.graph.nodes[branches[0].first()].ty;
                quote!(#ty)
            }
            _ => quote!(()),
        }
    }
}
