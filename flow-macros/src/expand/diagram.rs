//! `MERMAID` and `DOT`: the graph rendered as text at compile time, from the same model
//! the run loop is generated from.

use std::fmt::Write as _;

use crate::model::{Graph, Target};

/// The label of a route arm: the variant's last path segment (`Verdict::Revise` -> `Revise`).
fn arm_label(path: &syn::Path) -> String {
    path.segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

fn live_index(graph: &Graph) -> Vec<Option<usize>> {
    let mut next = 0;
    graph
        .nodes
        .iter()
        .map(|n| {
            n.merged_into.is_none().then(|| {
                next += 1;
                next - 1
            })
        })
        .collect()
}

/// Every edge as (from, to, route arm variant), with `None` standing for `START` / `END`,
/// and nodes numbered among the live ones.
pub fn edge_list(graph: &Graph) -> Vec<(Option<usize>, Option<usize>, Option<&syn::Path>)> {
    let idx = live_index(graph);
    let node = |t: Target| match t {
        Target::Node(i) => idx[i],
        Target::End => None,
    };
    let mut out = Vec::new();
    for e in &graph.entries {
        out.push((None, idx[e.to], None));
    }
    // Source order: plain edges and routes interleaved as written is lost in the model,
    // so list node by node, which keeps the output stable and grouped.
    for (i, _) in graph.live_nodes() {
        for e in graph.edges.iter().filter(|e| e.from == i) {
            out.push((idx[i], node(e.to), None));
        }
        for r in graph.routes.iter().filter(|r| r.from == i) {
            for a in &r.arms {
                out.push((idx[i], node(a.to), Some(&a.variant)));
            }
        }
    }
    out
}

pub fn mermaid(graph: &Graph) -> String {
    let mut s = String::from("flowchart TD\n    START([START])\n");
    for (k, (_, n)) in graph.live_nodes().enumerate() {
        let _ = writeln!(s, "    n{k}[\"{}\"]", n.name);
    }
    s.push_str("    END([END])\n");
    let id = |x: Option<usize>, start: bool| match x {
        Some(k) => format!("n{k}"),
        None if start => "START".to_owned(),
        None => "END".to_owned(),
    };
    for (from, to, label) in edge_list(graph) {
        let (from, to) = (id(from, true), id(to, false));
        match label {
            Some(l) => {
                let _ = writeln!(s, "    {from} -->|{}| {to}", arm_label(l));
            }
            None => {
                let _ = writeln!(s, "    {from} --> {to}");
            }
        }
    }
    s
}

pub fn dot(graph: &Graph) -> String {
    let mut s = format!("digraph {} {{\n    rankdir=TB;\n", graph.name);
    s.push_str("    START [shape=circle, label=\"START\"];\n    END [shape=doublecircle, label=\"END\"];\n");
    for (k, (_, n)) in graph.live_nodes().enumerate() {
        let _ = writeln!(s, "    n{k} [shape=box, label=\"{}\"];", n.name);
    }
    let id = |x: Option<usize>, start: bool| match x {
        Some(k) => format!("n{k}"),
        None if start => "START".to_owned(),
        None => "END".to_owned(),
    };
    for (from, to, label) in edge_list(graph) {
        let (from, to) = (id(from, true), id(to, false));
        match label {
            Some(l) => {
                let _ = writeln!(s, "    {from} -> {to} [label=\"{}\"];", arm_label(l));
            }
            None => {
                let _ = writeln!(s, "    {from} -> {to};");
            }
        }
    }
    s.push_str("}\n");
    s
}
