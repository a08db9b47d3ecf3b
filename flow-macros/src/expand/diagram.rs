//! `MERMAID` and `DOT`: the graph's diagrams, rendered at compile time from the model's
//! user-facing edge list (the same list `GRAPH.edges` is built from).

use std::fmt::Write as _;

use crate::model::{Graph, UserEdgeKind};

/// The label of a route arm: the variant's last path segment (`Verdict::Revise` -> `Revise`).
fn arm_label(path: &syn::Path) -> String {
    path.segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

fn label(graph: &Graph, kind: UserEdgeKind) -> Option<String> {
    match kind {
        UserEdgeKind::Plain | UserEdgeKind::Branch | UserEdgeKind::Join => None,
        UserEdgeKind::Merge => Some("merge".to_owned()),
        UserEdgeKind::Route(r, a) => Some(arm_label(&graph.arm(r, a).variant)),
        UserEdgeKind::Map(limit) => Some(format!("map, {limit} at once")),
        UserEdgeKind::Collect => Some("collect".to_owned()),
        UserEdgeKind::Error => Some("error".to_owned()),
    }
}

/// Each node of the user's: its name, and for an interrupt the question it waits on.
fn user_names(graph: &Graph) -> Vec<(String, Option<String>)> {
    graph
        .user_nodes()
        .map(|(_, n)| {
            let question = n
                .interrupt
                .as_ref()
                .map(|(q, _)| crate::expand::flow::type_string(q));
            (n.name.to_string(), question)
        })
        .collect()
}

fn id(x: Option<usize>, start: bool) -> String {
    match x {
        Some(k) => format!("n{k}"),
        None if start => "START".to_owned(),
        None => "END".to_owned(),
    }
}

pub fn mermaid(graph: &Graph) -> String {
    let mut s = String::from("flowchart TD\n    START([START])\n");
    // An interrupt, where a run can wait, is a hexagon.
    for (k, (name, question)) in user_names(graph).iter().enumerate() {
        let _ = match question {
            Some(q) => writeln!(s, "    n{k}{{{{\"{name}: waits for {q}\"}}}}"),
            None => writeln!(s, "    n{k}[\"{name}\"]"),
        };
    }
    s.push_str("    END([END])\n");
    for e in graph.user_edges() {
        let (from, to) = (id(e.from, true), id(e.to, false));
        let arrow = if matches!(e.kind, UserEdgeKind::Error) {
            "-.->"
        } else {
            "-->"
        };
        match label(graph, e.kind) {
            Some(l) => {
                let _ = writeln!(s, "    {from} {arrow}|{l}| {to}");
            }
            None => {
                let _ = writeln!(s, "    {from} {arrow} {to}");
            }
        }
    }
    s
}

pub fn dot(graph: &Graph) -> String {
    let mut s = format!("digraph {} {{\n    rankdir=TB;\n", graph.name);
    s.push_str("    START [shape=circle, label=\"START\"];\n    END [shape=doublecircle, label=\"END\"];\n");
    for (k, (name, question)) in user_names(graph).iter().enumerate() {
        let _ = match question {
            Some(q) => writeln!(
                s,
                "    n{k} [shape=hexagon, label=\"{name}: waits for {q}\"];"
            ),
            None => writeln!(s, "    n{k} [shape=box, label=\"{name}\"];"),
        };
    }
    for e in graph.user_edges() {
        let (from, to) = (id(e.from, true), id(e.to, false));
        let mut attrs = Vec::new();
        if let Some(l) = label(graph, e.kind) {
            attrs.push(format!("label=\"{l}\""));
        }
        if matches!(e.kind, UserEdgeKind::Error) {
            attrs.push("style=dashed".to_owned());
        }
        if attrs.is_empty() {
            let _ = writeln!(s, "    {from} -> {to};");
        } else {
            let _ = writeln!(s, "    {from} -> {to} [{}];", attrs.join(", "));
        }
    }
    s.push_str("}\n");
    s
}
