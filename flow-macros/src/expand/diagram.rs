//! The edge list of a graph as the user sees it (nodes, not pseudo-nodes), from which the
//! static description, `MERMAID` and `DOT` are all rendered, at compile time.

use std::fmt::Write as _;

use crate::model::{Graph, Kind, Target};

/// How an edge is taken, mirroring `typedflow::EdgeKind`.
pub enum EdgeKind<'a> {
    Plain,
    Route(&'a syn::Path),
    Branch,
    Join,
    Merge,
    Map(u32),
    Collect,
    Error,
}

/// An edge between user nodes, numbered by their position among them; `None` is `START`
/// as a source and `END` as a target.
pub struct DiagramEdge<'a> {
    pub from: Option<usize>,
    pub to: Option<usize>,
    pub kind: EdgeKind<'a>,
}

/// The position of every node among the user nodes (those with a `NodeInfo`).
pub fn user_positions(graph: &Graph) -> Vec<Option<usize>> {
    let mut next = 0;
    graph
        .nodes
        .iter()
        .map(|n| {
            (n.merged_into.is_none() && n.kind.is_user_node()).then(|| {
                next += 1;
                next - 1
            })
        })
        .collect()
}

/// The user nodes an edge into node `i` reaches: the node, a fan-out's branches, a map's worker.
fn entries_of(graph: &Graph, pos: &[Option<usize>], i: usize) -> Vec<Option<usize>> {
    match &graph.nodes[i].kind {
        Kind::Fan { branches, .. } => branches.iter().map(|b| pos[*b]).collect(),
        Kind::Map { worker, .. } => vec![pos[*worker]],
        _ => vec![pos[i]],
    }
}

/// The user nodes an edge out of node `i` leaves from.
fn exits_of(graph: &Graph, pos: &[Option<usize>], i: usize) -> Vec<Option<usize>> {
    entries_of(graph, pos, i)
}

pub fn edge_list(graph: &Graph) -> Vec<DiagramEdge<'_>> {
    let pos = user_positions(graph);
    let mut out = Vec::new();
    let into = |out: &mut Vec<DiagramEdge<'_>>,
                from: Vec<Option<usize>>,
                to: Target,
                plain: &dyn Fn() -> EdgeKind<'static>| {
        let (targets, kind_in): (Vec<Option<usize>>, &dyn Fn() -> EdgeKind<'static>) = match to {
            Target::End => (vec![None], plain),
            Target::Node(j) => match &graph.nodes[j].kind {
                Kind::Fan { .. } => (entries_of(graph, &pos, j), &|| EdgeKind::Branch),
                Kind::Map { limit, .. } => {
                    let limit = limit.unwrap_or(DEFAULT_MAP_LIMIT);
                    let targets = entries_of(graph, &pos, j);
                    for f in &from {
                        for t in &targets {
                            out.push(DiagramEdge {
                                from: *f,
                                to: *t,
                                kind: EdgeKind::Map(limit),
                            });
                        }
                    }
                    return;
                }
                _ => (vec![pos[j]], plain),
            },
        };
        for f in &from {
            for t in &targets {
                out.push(DiagramEdge {
                    from: *f,
                    to: *t,
                    kind: kind_in(),
                });
            }
        }
    };
    for e in &graph.entries {
        into(&mut out, vec![None], Target::Node(e.to), &|| {
            EdgeKind::Plain
        });
    }
    for (i, node) in graph.live_nodes().filter(|(_, n)| n.kind.is_step()) {
        let exits = exits_of(graph, &pos, i);
        let after: &dyn Fn() -> EdgeKind<'static> = match node.kind {
            Kind::Fan { merge: true, .. } => &|| EdgeKind::Merge,
            Kind::Fan { .. } => &|| EdgeKind::Join,
            Kind::Map { .. } => &|| EdgeKind::Collect,
            _ => &|| EdgeKind::Plain,
        };
        for e in graph.edges.iter().filter(|e| e.from == i) {
            into(&mut out, exits.clone(), e.to, after);
        }
        for r in graph.routes.iter().filter(|r| r.from == i) {
            for a in &r.arms {
                let start = out.len();
                into(&mut out, exits.clone(), a.to, &|| EdgeKind::Plain);
                for edge in &mut out[start..] {
                    if matches!(edge.kind, EdgeKind::Plain) {
                        edge.kind = EdgeKind::Route(&a.variant);
                    }
                }
            }
        }
    }
    // Error edges, of steps and of the nodes inside fan-outs and maps alike.
    for (i, node) in graph.live_nodes() {
        if let Some(c) = &node.catch {
            out.push(DiagramEdge {
                from: pos[i],
                to: pos[c.to],
                kind: EdgeKind::Error,
            });
        }
    }
    out
}

/// Mirrors `typedflow::DEFAULT_MAP_LIMIT`.
pub const DEFAULT_MAP_LIMIT: u32 = 16;

/// The label of a route arm: the variant's last path segment (`Verdict::Revise` -> `Revise`).
fn arm_label(path: &syn::Path) -> String {
    path.segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

fn label(kind: &EdgeKind<'_>) -> Option<String> {
    match kind {
        EdgeKind::Plain | EdgeKind::Branch | EdgeKind::Join => None,
        EdgeKind::Merge => Some("merge".to_owned()),
        EdgeKind::Route(path) => Some(arm_label(path)),
        EdgeKind::Map(limit) => Some(format!("map, {limit} at once")),
        EdgeKind::Collect => Some("collect".to_owned()),
        EdgeKind::Error => Some("error".to_owned()),
    }
}

fn user_names(graph: &Graph) -> Vec<String> {
    graph
        .live_nodes()
        .filter(|(_, n)| n.kind.is_user_node())
        .map(|(_, n)| n.name.to_string())
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
    for (k, name) in user_names(graph).iter().enumerate() {
        let _ = writeln!(s, "    n{k}[\"{name}\"]");
    }
    s.push_str("    END([END])\n");
    for e in edge_list(graph) {
        let (from, to) = (id(e.from, true), id(e.to, false));
        let arrow = if matches!(e.kind, EdgeKind::Error) {
            "-.->"
        } else {
            "-->"
        };
        match label(&e.kind) {
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
    for (k, name) in user_names(graph).iter().enumerate() {
        let _ = writeln!(s, "    n{k} [shape=box, label=\"{name}\"];");
    }
    for e in edge_list(graph) {
        let (from, to) = (id(e.from, true), id(e.to, false));
        let mut attrs = Vec::new();
        if let Some(l) = label(&e.kind) {
            attrs.push(format!("label=\"{l}\""));
        }
        if matches!(e.kind, EdgeKind::Error) {
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
