//! Fan-outs and maps: the arms of the steps that run several node calls at once, and the
//! call of a node inside them (with its handler, if it has an error edge).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use super::Cx;
use crate::model::{Branch, Kind, Mode};

impl Cx<'_> {
    /// The arm of fan-out step `i`: every branch on its own copy of the value, joined by
    /// `__private::join`; `{a, b}` merges the branches' states in written order.
    pub(super) fn fan_arm(&self, i: usize, branches: &[Branch], merge: bool) -> TokenStream {
        let nodes = &self.graph.nodes;
        let node = &nodes[i];
        let variant = &node.variant;
        let state = self.state_at(variant.span());
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
        let futures = branches
            .iter()
            .zip(&inputs)
            .enumerate()
            .map(|(b, (branch, v))| {
                let k = branch.first();
                let span = nodes[k].name.span();
                let pass = match branch.modes[0] {
                    // The fan-out's value is the first branch's input: for `([w; 4], ..)` the
                    // items of the collection, collected on the way in (`fan_entry`).
                    Mode::Map { .. } if b == 0 => quote!(#v),
                    Mode::Map { .. } => self.map_items(k, quote!(#v), span),
                    Mode::Once => self.pass_edge(&source, k, quote!(#v), span),
                };
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
            let names = branches.iter().map(|b| b.describe(nodes));
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
    /// A mapped node `[w; n]` runs once per item of what it is handed.
    fn branch_path(&self, branch: &Branch) -> TokenStream {
        let nodes = &self.graph.nodes;
        let first = self.branch_node(branch, 0);
        if branch.nodes.len() == 1 {
            // One node: its call as it is, with no generator of its own.
            return first;
        }
        let rest = branch.arrows.iter().enumerate().map(|(j, arrow)| {
            let to = branch.nodes[j + 1];
            let pass = if branch.is_mapped(j + 1) {
                self.map_items(to, quote!(__flow_out), arrow.spans[0])
            } else {
                let from = self.branch_sender(branch, j);
                self.pass_edge(&from, to, quote!(__flow_out), nodes[to].name.span())
            };
            let call = self.branch_node(branch, j + 1);
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

    /// The future of the `j`-th node of a branch on `__flow_in`: one call, or one per item.
    fn branch_node(&self, branch: &Branch, j: usize) -> TokenStream {
        match branch.modes[j] {
            Mode::Once => self.nested(branch.nodes[j]),
            Mode::Map { limit } => self.mapped(branch.nodes[j], limit, quote!(__flow_in)),
        }
    }

    /// The type named in messages as the sender of the `j`-th node's output in a branch:
    /// the node, or `[worker]` when it is mapped.
    fn branch_sender(&self, branch: &Branch, j: usize) -> TokenStream {
        let ty = &self.graph.nodes[branch.nodes[j]].ty;
        match branch.is_mapped(j) {
            true => quote!([#ty]),
            false => quote!(#ty),
        }
    }

    /// The type naming a branch in the tuple a join's messages show: its last node, or
    /// `Vec<worker>` when that node is mapped (a tuple's items cannot be `[worker]`).
    pub(super) fn branch_exit(&self, branch: &Branch) -> TokenStream {
        let last = branch.nodes.len() - 1;
        let ty = &self.graph.nodes[branch.nodes[last]].ty;
        match branch.is_mapped(last) {
            true => quote!(::std::vec::Vec<#ty>),
            false => quote!(#ty),
        }
    }

    /// The future of `worker` mapped over `items`, at most `limit` at once, to the `Vec`
    /// of its outputs in the items' order; the first failure ends it.
    fn mapped(&self, worker: usize, limit: Option<u32>, items: TokenStream) -> TokenStream {
        let limit = match limit {
            Some(n) => quote!(#n),
            None => quote!(::typedflow::DEFAULT_MAP_LIMIT),
        };
        let body = self.nested(worker);
        quote! {
            ::typedflow::__private::map_bounded(#items, #limit as usize, move |__flow_in| #body)
        }
    }

    /// The arm of map step `i`: `worker` on every item, at most `limit` at once.
    pub(super) fn map_arm(&self, i: usize, worker: usize, limit: Option<u32>) -> TokenStream {
        let node = &self.graph.nodes[i];
        let variant = &node.variant;
        let state = self.state_at(variant.span());
        let mapped = self.mapped(worker, limit, quote!(__flow_value));
        let on_ok = self.on_ok(i);
        quote_spanned! {node.name.span()=>
            #state::#variant(__flow_value) => {
                let __flow_hook = &__flow_hook;
                let __flow_cx = &__flow_cx;
                let __flow_mapped = #mapped.await;
                match __flow_mapped {
                    ::core::result::Result::Ok(__flow_out) => #on_ok,
                    ::core::result::Result::Err(__flow_err) => {
                        return ::core::result::Result::Err(*__flow_err);
                    }
                }
            }
        }
    }

    /// The hand-over of `value` into fan-out `fan`, spanned on `span` (the edge's arrow),
    /// naming `sender`: the fan-out takes its first branch's input, the items of the
    /// collection when that branch starts with a map. `at` names the fan-out at this edge.
    pub(super) fn fan_entry(
        &self,
        fan: usize,
        value: TokenStream,
        sender: TokenStream,
        span: Span,
        at: Span,
    ) -> TokenStream {
        let Kind::Fan { branches, .. } = &self.graph.nodes[fan].kind else {
            return value;
        };
        let first = &branches[0];
        if first.is_mapped(0) {
            self.map_items(first.first(), value, span)
        } else {
            self.pass_edge(&sender, first.first(), value, at)
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
    /// first branch (whose input type the value has, by the edge into the fan-out), or the
    /// flow when that branch is a map.
    fn fan_source(&self, fan: usize) -> TokenStream {
        let mut preds = self.graph.predecessors(fan);
        match (preds.next(), preds.next(), &self.graph.nodes[fan].kind) {
            (Some(p), None, _) => self.sender(p),
            // Mapped items: the value is no node's input; it came from the flow's input or
            // from more than one node.
            (_, _, Kind::Fan { branches, .. }) if branches[0].is_mapped(0) => {
                let name = self.name;
                quote!(#name)
            }
            (_, _, Kind::Fan { branches, .. }) => {
                let ty = &self.graph.nodes[branches[0].first()].ty;
                quote!(#ty)
            }
            _ => quote!(()),
        }
    }
}
