//! The flow type and its methods: `new`, `with_hook`, `run` (a `Run` builder), the start
//! of a run that `Flow::start` calls, and the run loop it starts through the hooks.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::Cx;

/// The flow struct, the struct of its node states, and their inherent impls.
pub(super) fn expand_api(cx: &Cx<'_>) -> TokenStream {
    let graph = cx.graph;
    let (name, nodes_ty, deps, display_name) = (cx.name, &cx.nodes_ty, &cx.deps, cx.display_name);
    let (docs, vis) = (&graph.docs, &graph.vis);
    let node_states = cx.each_node("State");
    let nodes_value = super::subgraph::nodes_value(cx);
    let new_doc = format!("Builds the flow `{name}` with its dependencies.");
    let run = expand_run(cx);
    quote! {
        #(#docs)*
        #vis struct #name<H = ::typedflow::NoHook> {
            __flow_deps: #deps,
            __flow_hook: H,
            __flow_nodes: #nodes_ty,
        }

        // The node states behind a private field: a public flow may have private nodes.
        #[doc(hidden)]
        // One field per node, then a `()`: a struct's size depends on its last field
        // alone, and a field's type is resolved only where that field is used, so a name
        // in the graph that is not a node is reported once, on the name, and not again as
        // an unsized flow or at the fields of the other nodes.
        #vis struct #nodes_ty(#(#node_states,)* ());

        impl #name {
            /// The flow's name.
            pub const NAME: &'static str = #display_name;
            /// The graph: nodes, edges and settings.
            pub const GRAPH: &'static ::typedflow::GraphInfo = <Self as ::typedflow::Flow>::GRAPH;
            /// The graph as a Mermaid `flowchart`.
            pub const MERMAID: &'static str = <Self as ::typedflow::Flow>::MERMAID;
            /// The graph in Graphviz DOT.
            pub const DOT: &'static str = <Self as ::typedflow::Flow>::DOT;

            #[doc = #new_doc]
            pub fn new(deps: #deps) -> Self {
                #name {
                    __flow_deps: deps,
                    __flow_hook: ::typedflow::NoHook,
                    __flow_nodes: #nodes_value,
                }
            }
        }

        impl<H> #name<H> {
            /// Replaces the step hook, which wraps every node call of every run.
            pub fn with_hook<H2: ::typedflow::StepHook>(self, hook: H2) -> #name<H2> {
                // Names each node's state, on the node's name: a name in the graph that
                // is not a node is reported there, and not again here, where the node
                // states are moved. One tuple of them, not one statement per node: fewer
                // tokens and statements for rustc (`scripts/compile-time.sh`).
                let _: ::core::marker::PhantomData<(#(#node_states,)*)>;
                #name {
                    __flow_deps: self.__flow_deps,
                    __flow_hook: hook,
                    __flow_nodes: self.__flow_nodes,
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

        #run
    }
}

/// `run`, the start of a run, the loop it runs, and the run handed to the hooks to start.
fn expand_run(cx: &Cx<'_>) -> TokenStream {
    let graph = cx.graph;
    let (name, display_name) = (cx.name, cx.display_name);
    let (input, output) = (&graph.input, &graph.output);
    let run_loop = expand_loop_fn(cx);
    // The hooks choose, once per run, which hook the loop runs with (`StepHook::start`).
    let start_ty = format_ident!("__Flow{}Start", name);
    let run_start = expand_run_start(cx, &start_ty);
    // The run's id is drawn, and its hooks begin, when the run is first polled, not when
    // its future is made (`PerRun::start`): the closure is kept until then, with `self`
    // and the input once, and it names the flow's hook and graph, which the future then
    // need not keep. A run that sets nothing, of a flow whose hook begins nothing
    // (`NoHook`), begins at once (`StepHook::begin`): its future is the run loop's own.
    let run_hooked = quote! {
        ::typedflow::run::PerRun::start(hooks, move || {
            let __flow_run_id = ::typedflow::__private::next_run_id();
            let __flow_cx = ::typedflow::Context::new(#display_name, __flow_run_id);
            (
                &self.__flow_hook,
                <Self as ::typedflow::Flow>::GRAPH,
                __flow_run_id,
                #start_ty { flow: self, cx: __flow_cx, input },
            )
        })
    };
    let launch = launch_type(output);
    quote! {
        impl<H: ::typedflow::StepHook> #name<H> {
            /// A run of the flow with `input`: await it to run the flow from its entry
            /// node to `END`, or first set what this run alone needs (a hook, a
            /// cancellation token, a deadline, a step limit, or a stream of its events:
            /// see [`Run`](::typedflow::Run)).
            ///
            /// # Errors
            ///
            /// The run ends with [`FlowError`](::typedflow::FlowError) when a node fails,
            /// or when it exceeds the flow's step limit or timeout or a limit of the run.
            #[inline(always)]
            pub fn run(
                &self,
                input: #input,
            ) -> ::typedflow::Run<'_, Self, ::typedflow::NoHook, ::typedflow::NoHook, #launch> {
                <Self as ::typedflow::Flow>::run(self, input)
            }

            // What `Flow::start` runs: the run with its own hooks and limits inside the
            // flow's hook (or the flow's hook alone, when the run sets nothing).
            #[doc(hidden)]
            #[inline(always)]
            fn __flow_start<__FlowRun: ::typedflow::run::PerRun>(
                &self,
                input: #input,
                hooks: __FlowRun,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#output, ::typedflow::FlowError>,
            > {
                #run_hooked
            }

            #run_loop
        }

        #run_start
    }
}

/// `__flow_loop`: the run loop from the flow's input, with the hook the hooks chose.
fn expand_loop_fn(cx: &Cx<'_>) -> TokenStream {
    let (nodes_ty, deps) = (&cx.nodes_ty, &cx.deps);
    let (input, output) = (&cx.graph.input, &cx.graph.output);
    let run_loop = cx.run_loop();
    quote! {
        // The loop takes its hook by value: `run` passes `&self`'s hook, a pointer
        // into the flow; a loop that reached its hook through a reference into an
        // enclosing future paid several instructions per step (scripts/bench-steps.sh).
        // A flow whose every node leads to END has no state to assign after the match.
        // Not an `async fn`: one keeps each argument twice in its future, as given and
        // as moved into its body (rust-lang/rust#62958); an `async move` block keeps
        // each once.
        #[doc(hidden)]
        #[inline(always)]
        fn __flow_loop<__FlowHook: ::typedflow::StepHook>(
            __flow_deps: &#deps,
            __flow_nodes: &#nodes_ty,
            __flow_hook: __FlowHook,
            mut __flow_cx: ::typedflow::Context,
            __flow_input: #input,
        ) -> impl ::core::future::Future<
            Output = ::core::result::Result<#output, ::typedflow::FlowError>,
        > {
            #[allow(unreachable_code)]
            async move {
                #run_loop
            }
        }
    }
}

/// The run handed to the hooks to start (`RunStart`): the flow, the run's context and
/// its input, started with the hook the hooks choose.
fn expand_run_start(cx: &Cx<'_>, start_ty: &syn::Ident) -> TokenStream {
    let name = cx.name;
    let (input, output) = (&cx.graph.input, &cx.graph.output);
    // A timeout bounds the run's steps, inside its hooks: they see the `Timeout` error as
    // they see any other (its outcome in spans and metrics).
    let bounded_loop = cx.with_deadline(quote! {
        #name::<__FlowH>::__flow_loop(&self.flow.__flow_deps, &self.flow.__flow_nodes, hook, self.cx, self.input)
    });
    quote! {
        /// A run of the flow, ready to start with the hook its hooks choose.
        #[doc(hidden)]
        struct #start_ty<'__flow, __FlowH> {
            flow: &'__flow #name<__FlowH>,
            cx: ::typedflow::Context,
            input: #input,
        }

        impl<__FlowH: ::typedflow::StepHook> ::typedflow::RunStart<#output> for #start_ty<'_, __FlowH> {
            #[inline(always)]
            fn start<__FlowHook: ::typedflow::StepHook>(
                self,
                hook: __FlowHook,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#output, ::typedflow::FlowError>,
            > {
                #bounded_loop
            }
        }
    }
}

/// The launcher in the type of the `Run` that `run` returns.
fn launch_type(output: &syn::Type) -> TokenStream {
    quote! {
        impl ::typedflow::run::Launch<
            '_,
            Self,
            (::typedflow::NoHook, ::typedflow::NoHook),
            Run = impl ::core::future::Future<
                Output = ::core::result::Result<#output, ::typedflow::FlowError>,
            >,
        >
    }
}
