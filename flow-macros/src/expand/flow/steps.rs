//! The run loop: the entry hand-over, the step limit, and one match arm per step.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::Cx;
use crate::model::{Kind, Target};

impl Cx<'_> {
    /// The body of `__flow_loop`: from the flow's input to its output, step by step.
    pub(super) fn run_loop(&self) -> TokenStream {
        let entry = self.entry_state();
        let steps = self.steps(None);
        let nested = self.nested_table();
        quote! {
            #nested
            let mut __flow_state = #entry;
            #steps
        }
    }

    /// The state of a run's first step, made of the flow's input `__flow_input`.
    pub(super) fn entry_state(&self) -> TokenStream {
        let graph = self.graph;
        let entry = graph.entries.first().map(|e| e.to).unwrap_or(0);
        let entry_variant = &graph.nodes[entry].variant;
        let entry_pass = match &graph.nodes[entry].kind {
            // `START -> [w; n]`: the flow's input is the collection mapped over.
            Kind::Map { worker, .. } => {
                self.map_items(*worker, quote!(__flow_input), graph.input.span())
            }
            // `START -> ([w; n], ..)`: the fan-out holds the items of the flow's input.
            Kind::Fan { branches, .. } if branches[0].is_mapped(0) => self.map_items(
                branches[0].first(),
                quote!(__flow_input),
                graph.input.span(),
            ),
            // A node, or a fan-out, whose value is its first branch's input.
            Kind::Fan { branches, .. } => {
                self.pass_entry(branches[0].first(), quote!(__flow_input))
            }
            _ => self.pass_entry(entry, quote!(__flow_input)),
        };
        let state = self.state_at(entry_variant.span());
        quote_spanned!(entry_variant.span()=> #state::#entry_variant(#entry_pass))
    }

    /// The loop over the steps from `__flow_state`; `save`, if given, runs after each
    /// step, with the next state in `__flow_state`, before the next step starts.
    pub(super) fn steps(&self, save: Option<TokenStream>) -> TokenStream {
        let durable = save.is_some();
        let numbers = self.step_numbers(durable);
        let arms = self
            .graph
            .steps()
            .map(|(i, _)| self.arm(i, durable, numbers.as_ref().map(|n| n[i])));
        // Counted at each step, unless every step's number is known in advance.
        let advance = numbers
            .is_none()
            .then(|| quote!(::typedflow::__private::advance(&mut __flow_cx);));
        let limit_check = self.limit_check();
        let aliases = self.aliases();
        quote! {
            #aliases
            loop {
                #limit_check
                #advance
                __flow_state = match __flow_state {
                    #(#arms)*
                };
                #save
            }
        }
    }

    /// The number of each step (by node), if every step is always reached after the same
    /// number of steps and nothing else needs a count: an acyclic graph of node steps, no
    /// longer than its step limit, run without checkpoints (a chain, say). Then a step's
    /// context gets its number only where the node, the hook or a limit may read it
    /// (`__private::step_to`), and not a store per step in the run's future: 2.4 of the
    /// 16 ns a run of a 10-node chain took under tokio (docs/performance.md). `None`: the
    /// loop counts.
    fn step_numbers(&self, durable: bool) -> Option<Vec<u32>> {
        let graph = self.graph;
        let plain = |j: usize| {
            matches!(graph.nodes[j].kind, Kind::Step) && graph.nodes[j].merged_into.is_none()
        };
        let all_plain = graph
            .steps()
            .all(|(j, n)| plain(j) && n.interrupt.is_none());
        if durable || self.limit_needed() || !all_plain || graph.entries.len() != 1 {
            return None;
        }
        let mut numbers = vec![0u32; graph.nodes.len()];
        let entry = graph.entries[0].to;
        numbers[entry] = 1;
        let mut todo = vec![entry];
        while let Some(i) = todo.pop() {
            let next = numbers[i] + 1;
            for succ in graph.successors(i) {
                let Target::Node(j) = succ.to else { continue };
                match numbers[j] {
                    _ if !plain(j) => return None,
                    0 => {
                        numbers[j] = next;
                        todo.push(j);
                    }
                    n if n == next => {}
                    _ => return None,
                }
            }
        }
        Some(numbers)
    }

    /// Whether the flow's own step limit can be reached: through a loop, or by an acyclic
    /// graph with more steps than it.
    fn limit_needed(&self) -> bool {
        let graph = self.graph;
        let steps = graph.steps().count() as u64;
        graph.has_cycle() || steps > u64::from(graph.max_steps.unwrap_or(u32::MAX))
    }

    /// The short names the run loop's arms use, declared once in the block that holds the
    /// loop: `Ok`, `Err`, the traits the arms name, and the descriptions of the flow's
    /// nodes. Fewer tokens per arm for the macro to emit and rustc to parse, resolve and
    /// hash (`scripts/compile-time.sh`). Items, not `let`s: a local would be kept in the
    /// run's future. `__FLOW_INFO` names the flow type, not `Self`, whose type parameter
    /// an item inside the loop cannot use; the description does not depend on it.
    pub(super) fn aliases(&self) -> TokenStream {
        let name = self.name;
        quote! {
            #[allow(unused_imports)]
            use ::core::result::Result::{Err as __FlowErr, Ok as __FlowOk};
            #[allow(unused_imports)]
            use ::typedflow::{
                checks as __flow_checks, checks::Graph as __FlowGraph, Node as __FlowNode,
                NodeFn as __FlowNodeFn, StepHook as __FlowStepHook,
                __private::node_failed as __flow_node_failed,
            };
            #[allow(dead_code)]
            const __FLOW_INFO: &[::typedflow::NodeInfo] = <#name as ::typedflow::Flow>::GRAPH.nodes;
        }
    }

    /// The descriptions of the flow's nested nodes (`Node::NESTED`: its own, then those its
    /// subgraphs run, as `sub/node`), and where each user node's start: a subgraph's nodes
    /// go through this flow's hook under these names. Constants, built at compile time;
    /// their metric keys (`flow` = this flow, `node` = the path) on first use.
    pub(super) fn nested_table(&self) -> Option<TokenStream> {
        // Only calls that hand the hook on read it.
        let graph = self.graph;
        if !graph.user_nodes().any(|(k, _)| self.may_run_nodes(k)) {
            return None;
        }
        let (name, display_name) = (self.name, self.display_name);
        let lens = self
            .each_node("NESTED")
            .into_iter()
            .map(|nested| quote!(#nested.len()));
        let own = graph.user_nodes().count();
        Some(quote! {
            const __FLOW_NESTED: &[::typedflow::NodeInfo] = {
                const NAMES: &[&str] = #name::<::typedflow::NoHook>::__FLOW_NESTED_NAMES;
                const N: usize = NAMES.len();
                const INFOS: [::typedflow::NodeInfo; N] =
                    ::typedflow::__private::nested_infos::<N>(NAMES, __flow_nested_keys);
                &INFOS
            };
            const __FLOW_NESTED_OF: [&[::typedflow::NodeInfo]; #own] =
                ::typedflow::__private::nested_of(__FLOW_NESTED, #own, [#(#lens),*]);
            fn __flow_nested_keys() -> &'static [::typedflow::__private::NodeKeys] {
                static KEYS: ::typedflow::__private::KeyTable = ::typedflow::__private::KeyTable::new();
                KEYS.nodes(#display_name, __FLOW_NESTED)
            }
        })
    }

    /// The check of the step limit before each step: the flow's own, or a run's own
    /// (`Run::max_steps`, which its hooks report) if lower. The flow's own can only be
    /// reached through a loop: an acyclic graph with no more steps than it checks only a
    /// run's own limit. The hooks are asked at each step rather than once, so that for a
    /// run without a limit of its own (its hooks answer a constant `None`) the check
    /// compiles away: a value kept across the loop's awaits would not.
    fn limit_check(&self) -> TokenStream {
        let needed = self.limit_needed();
        let (max_steps, display_name) = (self.max_steps(), self.display_name);
        let reached = |limit: TokenStream| {
            quote! {
                if __flow_cx.step() == #limit {
                    return ::core::result::Result::Err(::typedflow::__private::step_limit_reached(
                        #display_name,
                        __flow_state.node(),
                        #limit,
                    ));
                }
            }
        };
        if needed {
            let check = reached(quote!(__flow_limit));
            quote! {
                let __flow_limit = ::typedflow::__private::step_limit(&__flow_hook, #max_steps);
                #check
            }
        } else {
            let check = reached(quote!(__flow_limit));
            quote! {
                if let ::core::option::Option::Some(__flow_limit) =
                    ::typedflow::StepHook::step_limit(&__flow_hook)
                {
                    #check
                }
            }
        }
    }

    /// The match arm of step `i`, in the loop of a checkpointed run if `durable`; `number`
    /// is the step's number if known in advance.
    fn arm(&self, i: usize, durable: bool, number: Option<u32>) -> TokenStream {
        let node = &self.graph.nodes[i];
        match &node.kind {
            Kind::Fan { branches, merge } => self.fan_arm(i, branches, *merge, durable),
            Kind::Map { worker, limit } => self.map_arm(i, *worker, *limit, durable),
            _ if node.interrupt.is_some() => self.interrupt_arm(i, durable),
            _ => self.node_arm(i, number),
        }
    }

    /// The arm of a step that calls one node: its output goes on, its error to its error
    /// edge or out of the run.
    fn node_arm(&self, i: usize, number: Option<u32>) -> TokenStream {
        let node = &self.graph.nodes[i];
        let (variant, ty) = (&node.variant, &node.ty);
        let state = self.state_at(variant.span());
        let call = self.call(i, quote!(__flow_value), false);
        let on_ok = self.on_ok(i);
        let (keep, on_err) = match &node.error_edge {
            Some(e) => {
                let span = e.handler_ident.span();
                let name = node.name.to_string();
                let keep = self.keep_input(i, quote!(&__flow_value), span);
                let keep = quote!(let __flow_kept = #keep;);
                let failed = quote!(::typedflow::__private::failed(#name, __flow_kept, __flow_err, <#ty as ::typedflow::Node>::attempts));
                let next = self.hand_over(i, Target::Node(e.handler), failed, span, span);
                (Some(keep), next)
            }
            None => {
                let error = self.node_failed(i, quote!(__flow_err), number);
                (None, quote!(return __FlowErr(#error)))
            }
        };
        // A step numbered in advance sets its number for whoever may read it; its error,
        // if it fails, is built with that number.
        let to_step = number.map(|n| {
            let (node_of, n) = (self.node_of(i), Literal::u32_unsuffixed(n));
            quote_spanned! {node.name.span()=>
                ::typedflow::__private::step_to::<#node_of, _>(&mut __flow_cx, &__flow_hook, #n);
            }
        });
        // One `match` on the awaited call, no `let` of its result: fewer tokens, and the
        // same future (the result lives across no `.await`).
        let arms = quote! {
            __FlowOk(__flow_out) => #on_ok,
            __FlowErr(__flow_err) => #on_err,
        };
        if keep.is_none() && to_step.is_none() {
            return quote_spanned! {node.name.span()=>
                #state::#variant(__flow_value) => match #call.await { #arms },
            };
        }
        quote_spanned! {node.name.span()=>
            #state::#variant(__flow_value) => {
                #to_step
                #keep
                match #call.await { #arms }
            }
        }
    }
}
