//! Fan-outs and maps: the arms of the steps that run several node calls at once, and the
//! call of a node inside them (with its handler, if it has an error edge).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use super::Cx;
use crate::model::{Branch, Kind, Mode};

impl Cx<'_> {
    /// The arm of fan-out step `i`: every branch on its own copy of the value, joined by
    /// `__private::join`; `{a, b}` merges the branches' states in written order. In the
    /// loop of a checkpointed run (`durable`), each node call is saved as it ends.
    pub(super) fn fan_arm(
        &self,
        i: usize,
        branches: &[Branch],
        merge: bool,
        durable: bool,
    ) -> TokenStream {
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
                let body = self.branch_path(branch, durable.then_some(b));
                quote!({ let __flow_in = #pass; #body })
            });
        let (base, merge_outputs) = self.fan_merge(i, branches, merge);
        let on_ok = self.on_ok(i);
        let saver = Self::saver_ref(durable);
        quote_spanned! {node.name.span()=>
            #state::#variant(__flow_value) => {
                #base
                let (#(#inputs,)*) = (#(#values,)*);
                let __flow_hook = &__flow_hook;
                let __flow_cx = &__flow_cx;
                #saver
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

    /// For `{a, b}`: the branches' states merged against the state before the fan-out,
    /// kept in `__flow_base` (one more clone, only for a merge join).
    fn fan_merge(
        &self,
        i: usize,
        branches: &[Branch],
        merge: bool,
    ) -> (Option<TokenStream>, Option<TokenStream>) {
        if !merge {
            return (None, None);
        }
        let nodes = &self.graph.nodes;
        let span = nodes[i].name.span();
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
    }

    /// The future of one branch on `__flow_in`: its one node's call, or for a path
    /// `a -> b -> c` each node in turn, the hand-over between two spanned on the second's name.
    /// A mapped node `[w; n]` runs once per item of what it is handed. With `journal` (the
    /// branch's index, in a checkpointed run) each call is saved as it ends.
    fn branch_path(&self, branch: &Branch, journal: Option<usize>) -> TokenStream {
        let nodes = &self.graph.nodes;
        let first = self.branch_node(branch, 0, journal);
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
            let call = self.branch_node(branch, j + 1, journal);
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

    /// The future of the `j`-th node of a branch on `__flow_in`: one call, or one per item;
    /// saved as it ends with `journal` (the branch's index).
    fn branch_node(&self, branch: &Branch, j: usize, journal: Option<usize>) -> TokenStream {
        let k = branch.nodes[j];
        let site = journal.map(|b| format!("{b}.{j}:{}", self.graph.nodes[k].name));
        match branch.modes[j] {
            Mode::Once => {
                let call = self.nested(k);
                let Some(site) = site else {
                    return call;
                };
                // A value handed to the next node of the path is saved through that node's
                // check, which names it; one a join or a map collects, through the check
                // of the step it goes to.
                let codec = match branch.nodes.get(j + 1) {
                    Some(&to) if !branch.is_mapped(j + 1) => Some(self.input_codec(to)),
                    _ => None,
                };
                Self::journaled(&site, None, codec, call)
            }
            Mode::Map { limit } => self.mapped(k, limit, quote!(__flow_in), site),
        }
    }

    /// `call`, saved at `site` (its `item`-th item) as it ends, with `codec`, or serde's
    /// when the output is checked where it goes.
    fn journaled(
        site: &str,
        item: Option<TokenStream>,
        codec: Option<TokenStream>,
        call: TokenStream,
    ) -> TokenStream {
        let item = match item {
            Some(i) => quote!(::core::option::Option::Some(#i)),
            None => quote!(::core::option::Option::None),
        };
        let codec = codec.unwrap_or_else(|| {
            quote!({
                // Chosen by method resolution: serde's for a serializable output; none
                // for another, whose check fails where it goes.
                #[allow(unused_imports)]
                use ::typedflow::__private::{Encodable as _, NotEncodable as _};
                (&::typedflow::__private::PartOf::of(&__flow_call)).codec()
            })
        });
        quote!({
            let __flow_call = #call;
            ::typedflow::__private::journaled(__flow_saver, #site, #item, #codec, __flow_call)
        })
    }

    /// The codec of node `to`'s input, through its durable check on its name: a value that
    /// cannot be saved is one error there.
    fn input_codec(&self, to: usize) -> TokenStream {
        let at = self.graph.nodes[to].name.span();
        let ty = self.ty_at(to, at);
        let path = |method: &str| {
            let (check, method) = (
                syn::Ident::new("DurableInput", at),
                syn::Ident::new(method, at),
            );
            quote_spanned!(at=> <::typedflow::checks::Graph as ::typedflow::checks::#check<#ty, _>>::#method)
        };
        let (encode, decode) = (path("encode"), path("decode"));
        quote!(::core::option::Option::Some(::typedflow::__private::Codec::new(#encode, #decode)))
    }

    /// In the loop of a checkpointed run, the saver the calls inside a step save through.
    fn saver_ref(durable: bool) -> Option<TokenStream> {
        durable.then(|| quote!(let __flow_saver = &__flow_saver;))
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
    /// of its outputs in the items' order; the first failure ends it. With `site`, each
    /// item's call is saved as it ends.
    fn mapped(
        &self,
        worker: usize,
        limit: Option<u32>,
        items: TokenStream,
        site: Option<String>,
    ) -> TokenStream {
        let limit = match limit {
            Some(n) => quote!(#n),
            None => quote!(::typedflow::DEFAULT_MAP_LIMIT),
        };
        let body = self.nested(worker);
        let Some(site) = site else {
            return quote! {
                ::typedflow::__private::map_bounded(#items, #limit as usize, move |__flow_in| #body)
            };
        };
        let body = Self::journaled(&site, Some(quote!(__flow_i)), None, body);
        quote! {
            ::typedflow::__private::map_bounded(
                ::typedflow::__private::indexed(#items),
                #limit as usize,
                move |(__flow_i, __flow_in)| #body,
            )
        }
    }

    /// The arm of map step `i`: `worker` on every item, at most `limit` at once; in the
    /// loop of a checkpointed run (`durable`), each item saved as it ends.
    pub(super) fn map_arm(
        &self,
        i: usize,
        worker: usize,
        limit: Option<u32>,
        durable: bool,
    ) -> TokenStream {
        let node = &self.graph.nodes[i];
        let variant = &node.variant;
        let state = self.state_at(variant.span());
        let site = durable.then(|| format!("[{}]", self.graph.nodes[worker].name));
        let mapped = self.mapped(worker, limit, quote!(__flow_value), site);
        let on_ok = self.on_ok(i);
        let saver = Self::saver_ref(durable);
        quote_spanned! {node.name.span()=>
            #state::#variant(__flow_value) => {
                let __flow_hook = &__flow_hook;
                let __flow_cx = &__flow_cx;
                #saver
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
        let h_error = self.node_failed(h, quote!(__flow_err), None);
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
