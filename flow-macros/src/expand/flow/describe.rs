//! The `Flow` impl, with the static description of the graph (`GRAPH`) and its diagrams
//! (`MERMAID`, `DOT`), rendered at compile time from the model's user-facing edge list.
//! Each constant is emitted here once; the flow type's inherent constants refer to these.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::LitStr;

use super::{Cx, type_string};
use crate::expand::diagram;
use crate::model::UserEdgeKind;

/// `impl Flow for Name<H>`.
pub(super) fn expand_flow_impl(cx: &Cx<'_>) -> TokenStream {
    let graph = cx.graph;
    let (name, display_name, deps) = (cx.name, cx.display_name, &cx.deps);
    let (input, output) = (&graph.input, &graph.output);
    let mermaid = LitStr::new(&diagram::mermaid(graph), Span::call_site());
    let dot = LitStr::new(&diagram::dot(graph), Span::call_site());
    let info = graph_info(cx);
    quote! {
        impl<H: ::typedflow::StepHook> ::typedflow::Flow for #name<H> {
            type Input = #input;
            type Output = #output;
            type Deps = #deps;
            const NAME: &'static str = #display_name;
            const GRAPH: &'static ::typedflow::GraphInfo = #info;
            const MERMAID: &'static str = #mermaid;
            const DOT: &'static str = #dot;

            #[inline(always)]
            fn start<__FlowRun: ::typedflow::run::PerRun>(
                &self,
                input: #input,
                hooks: __FlowRun,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#output, ::typedflow::FlowError>,
            > {
                #name::__flow_start(self, input, hooks)
            }
        }
    }
}

/// The `GraphInfo` constant: nodes, edges and settings.
fn graph_info(cx: &Cx<'_>) -> TokenStream {
    let graph = cx.graph;
    let display_name = cx.display_name;
    let node_names: Vec<String> = graph
        .user_nodes()
        .map(|(_, n)| n.name.to_string())
        .collect();
    let endpoint = |x: Option<usize>, start: bool| match x {
        Some(k) => {
            let n = &node_names[k];
            quote!(__FlowEndpoint::Node(#n))
        }
        None if start => quote!(__FlowEndpoint::Start),
        None => quote!(__FlowEndpoint::End),
    };
    let edges = graph.user_edges().iter().map(|e| {
        let (from, to) = (endpoint(e.from, true), endpoint(e.to, false));
        let kind = match e.kind {
            UserEdgeKind::Plain => quote!(Plain),
            UserEdgeKind::Route(r, a) => {
                let path = type_string(&graph.arm(r, a).variant);
                quote!(Route(#path))
            }
            UserEdgeKind::Branch => quote!(Branch),
            UserEdgeKind::Join => quote!(Join),
            UserEdgeKind::Merge => quote!(Merge),
            UserEdgeKind::Map(limit) => quote!(Map { limit: #limit }),
            UserEdgeKind::Collect => quote!(Collect),
            UserEdgeKind::Error => quote!(Error),
        };
        quote!(__flow_edge(#from, #to, __FlowEdgeKind::#kind))
    });
    let input_str = type_string(&graph.input);
    let output_str = type_string(&graph.output);
    let entry = graph.entries.first().map(|e| e.to).unwrap_or(0);
    let entry_name = graph.nodes[entry].name.to_string();
    let max_steps = cx.max_steps();
    let timeout = match &graph.timeout {
        Some(t) => quote!(::core::option::Option::Some(#t)),
        None => quote!(::core::option::Option::None),
    };
    let name = cx.name;
    let index = 0..node_names.len();
    // The nodes' metric keys are built at run time, on first use, into one static per
    // flow (`__private::KeyTable`): built here, in statics, their hashing was evaluated
    // at compile time and cost more than the rest of the graph's description. The
    // `use` names what every node and edge repeats in a word each: fewer tokens for the
    // macro to emit and rustc to parse (`scripts/compile-time.sh`).
    quote! {{
        use ::typedflow::__private::{edge_info as __flow_edge, node_info as __flow_node};
        use ::typedflow::{EdgeKind as __FlowEdgeKind, Endpoint as __FlowEndpoint};
        fn __flow_node_keys() -> &'static [::typedflow::__private::NodeKeys] {
            static KEYS: ::typedflow::__private::KeyTable = ::typedflow::__private::KeyTable::new();
            KEYS.get(<#name as ::typedflow::Flow>::GRAPH)
        }
        const NODES: &[::typedflow::NodeInfo] = &[#(
            __flow_node(#node_names, #index, __flow_node_keys),
        )*];
        &::typedflow::__private::graph_info(
            #display_name,
            #input_str,
            #output_str,
            #entry_name,
            NODES,
            &[#(#edges,)*],
            #max_steps,
            #timeout,
            ::typedflow::__flow_keys!(#display_name),
        )
    }}
}
