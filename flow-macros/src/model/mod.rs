//! The resolved graph: a node table and the edges between its entries, each keeping the
//! user's tokens for error spans and generated code.
//!
//! `resolve` gives every name one node index, turns `START`/`END` into their own
//! endpoints and reports what cannot be resolved: `START` or `END` in the wrong place,
//! duplicate aliases, and a dead-end name that looks like a typo of another node (that
//! one is then read as the node it resembles, so one typo gives one error).

use proc_macro2::Span;
use quote::format_ident;
use syn::{Attribute, Ident, LitStr, Path, Token, Type, Visibility, token};

use crate::diag::{Diagnostics, did_you_mean};
use crate::parse::args::FlowArgs;
use crate::parse::graph::{self as syntax, Endpoint, GraphInput, Stmt};
use crate::parse::value::DurationLit;

pub struct Graph {
    pub docs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    /// The flow's name as shown at run time (`#[flow(name = ..)]` or the type's name).
    pub display_name: LitStr,
    pub input: Type,
    pub output: Type,
    pub max_steps: Option<u32>,
    pub timeout: Option<DurationLit>,
    pub deps: Option<Type>,
    pub nodes: Vec<Node>,
    pub entries: Vec<Entry>,
    pub edges: Vec<Edge>,
    pub routes: Vec<Route>,
}

pub struct Node {
    /// The name as first written in the graph.
    pub name: Ident,
    /// The node type: the name itself, or the path an alias names.
    pub ty: Path,
    /// The state enum's variant for this node.
    pub variant: Ident,
    /// Set when the name was a typo of another node's name; such a node is not used.
    pub merged_into: Option<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Target {
    Node(usize),
    End,
}

/// `START -> node`
pub struct Entry {
    pub start: Ident,
    pub to: usize,
    pub to_ident: Ident,
}

/// `from -> to`
pub struct Edge {
    pub from: usize,
    pub from_ident: Ident,
    pub arrow: Token![->],
    pub to: Target,
    pub to_ident: Ident,
}

/// `from => { arms }`
pub struct Route {
    pub from: usize,
    pub from_ident: Ident,
    pub fat_arrow: Token![=>],
    pub brace: token::Brace,
    pub arms: Vec<Arm>,
}

/// `Enum::Variant -> to`
pub struct Arm {
    pub variant: Path,
    pub arrow: Token![->],
    pub to: Target,
    pub to_ident: Ident,
}

impl Graph {
    pub fn live_nodes(&self) -> impl Iterator<Item = (usize, &Node)> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.merged_into.is_none())
    }

    /// Whether some node can be reached again from itself.
    pub fn has_cycle(&self) -> bool {
        let succ = |i: usize| -> Vec<usize> {
            let plain = self.edges.iter().filter(move |e| e.from == i).map(|e| e.to);
            let arms = self
                .routes
                .iter()
                .filter(move |r| r.from == i)
                .flat_map(|r| r.arms.iter().map(|a| a.to));
            plain
                .chain(arms)
                .filter_map(|t| match t {
                    Target::Node(j) => Some(j),
                    Target::End => None,
                })
                .collect()
        };
        (0..self.nodes.len()).any(|start| {
            let mut seen = vec![false; self.nodes.len()];
            let mut stack = succ(start);
            while let Some(i) = stack.pop() {
                if i == start {
                    return true;
                }
                if !std::mem::replace(&mut seen[i], true) {
                    stack.extend(succ(i));
                }
            }
            false
        })
    }

    /// A span covering a route arm.
    pub fn arm_span(arm: &Arm) -> Span {
        let first = arm
            .variant
            .segments
            .first()
            .map_or(arm.arrow.spans[0], |s| s.ident.span());
        join(first, arm.to_ident.span())
    }
}

/// Joins two spans where the compiler allows it (nightly); the first one on stable.
fn join(a: Span, b: Span) -> Span {
    a.join(b).unwrap_or(a)
}

struct Resolver<'a> {
    cx: &'a mut Diagnostics,
    nodes: Vec<Node>,
}

impl Resolver<'_> {
    fn node(&mut self, ident: &Ident) -> usize {
        if let Some(i) = self.nodes.iter().position(|n| n.name == *ident) {
            return i;
        }
        self.nodes.push(Node {
            name: ident.clone(),
            ty: Path::from(ident.clone()),
            variant: format_ident!("__"),
            merged_into: None,
        });
        self.nodes.len() - 1
    }

    /// A target: a node or `END`; `START` is reported.
    fn target(&mut self, end: &Endpoint) -> Option<Target> {
        match end {
            Endpoint::Node(i) => Some(Target::Node(self.node(i))),
            Endpoint::End(_) => Some(Target::End),
            Endpoint::Start(i) => {
                self.cx.error(
                    i.span(),
                    "`START` cannot be the target of an edge: it is where every run begins; write `START -> first_node;` once",
                );
                None
            }
        }
    }

    /// A source of an edge or route: a node; `END` is reported (`START` is handled by chains).
    fn source(&mut self, end: &Endpoint, what: &str) -> Option<usize> {
        match end {
            Endpoint::Node(i) => Some(self.node(i)),
            Endpoint::End(i) => {
                self.cx.error(
                    i.span(),
                    format!("`END` has no successors: a run stops there; remove this {what}"),
                );
                None
            }
            Endpoint::Start(i) => {
                self.cx.error(
                    i.span(),
                    "`START` cannot route: it leads to one entry node; write `START -> first_node;`",
                );
                None
            }
        }
    }
}

/// Builds the graph from its syntax, reporting what cannot be resolved.
pub fn resolve(cx: &mut Diagnostics, input: GraphInput, args: FlowArgs) -> Graph {
    let docs = input
        .attrs
        .into_iter()
        .filter(|a| a.path().is_ident("doc"))
        .collect();
    let mut r = Resolver {
        cx,
        nodes: Vec::new(),
    };
    let mut entries = Vec::new();
    let mut edges = Vec::new();
    let mut routes = Vec::new();
    let mut aliases: Vec<(Ident, Path)> = Vec::new();

    for stmt in &input.stmts {
        match stmt {
            Stmt::Alias(alias) => {
                if alias.name == "START" || alias.name == "END" {
                    r.cx.error(
                        alias.name.span(),
                        format!("`{}` is reserved for where runs begin and end; name the node otherwise", alias.name),
                    );
                } else if aliases.iter().any(|(n, _)| *n == alias.name) {
                    r.cx.error(
                        alias.name.span(),
                        format!("duplicate node `{}`: this name is already declared; give each node its own name", alias.name),
                    );
                } else if alias.path.is_ident(&alias.name) {
                    r.cx.error_spanned(
                        &alias.path,
                        format!("`node {0} = {0};` declares nothing; remove it", alias.name),
                    );
                } else {
                    aliases.push((alias.name.clone(), alias.path.clone()));
                }
            }
            Stmt::Chain(chain) => {
                let mut from = chain.first.clone();
                for (arrow, to) in &chain.links {
                    match (&from, to) {
                        (Endpoint::Start(start), Endpoint::Node(n)) => {
                            let to = r.node(n);
                            entries.push(Entry {
                                start: start.clone(),
                                to,
                                to_ident: n.clone(),
                            });
                        }
                        (Endpoint::Start(_), Endpoint::End(e)) => r.cx.error(
                            e.span(),
                            "`START -> END` runs no node; `START` must lead to the first node",
                        ),
                        (Endpoint::Start(_), Endpoint::Start(s)) => {
                            r.target(&Endpoint::Start(s.clone()));
                        }
                        _ => {
                            let source = r.source(&from, "edge");
                            // The target of an edge out of `END` is not registered: it
                            // would only add an unreachable node to the one error.
                            let target = if source.is_some() { r.target(to) } else { None };
                            if let (Some(from_idx), Some(to_t)) = (source, target) {
                                edges.push(Edge {
                                    from: from_idx,
                                    from_ident: from.ident().clone(),
                                    arrow: *arrow,
                                    to: to_t,
                                    to_ident: to.ident().clone(),
                                });
                            }
                        }
                    }
                    from = to.clone();
                }
            }
            Stmt::Route(route) => {
                let source = r.source(&route.from, "route");
                let arms: Vec<Arm> = route
                    .arms
                    .iter()
                    .filter_map(|arm: &syntax::Arm| {
                        let to = r.target(&arm.to)?;
                        Some(Arm {
                            variant: arm.variant.clone(),
                            arrow: arm.arrow,
                            to,
                            to_ident: arm.to.ident().clone(),
                        })
                    })
                    .collect();
                if let Some(from) = source {
                    routes.push(Route {
                        from,
                        from_ident: route.from.ident().clone(),
                        fat_arrow: route.fat_arrow,
                        brace: route.brace,
                        arms,
                    });
                }
            }
        }
    }

    let mut nodes = r.nodes;
    for (name, _) in &aliases {
        if !nodes.iter().any(|n| n.name == *name) {
            cx.error(
                name.span(),
                format!("node `{name}` is declared but no edge uses it; connect it or remove it"),
            );
        }
    }
    for node in &mut nodes {
        if let Some((_, path)) = aliases.iter().find(|(n, _)| *n == node.name) {
            node.ty = path.clone();
        }
    }
    merge_typos(cx, &mut nodes, &mut entries, &mut edges, &mut routes);
    name_variants(&mut nodes);

    let display_name = args
        .name
        .unwrap_or_else(|| LitStr::new(&input.name.to_string(), input.name.span()));
    Graph {
        docs,
        vis: input.vis,
        name: input.name,
        display_name,
        input: input.input,
        output: input.output,
        max_steps: args.max_steps,
        timeout: args.timeout,
        deps: args.deps,
        nodes,
        entries,
        edges,
        routes,
    }
}

/// Reports a dead-end name that resembles another node as a typo, and reads it as that node.
///
/// `START -> outline -> reviw; review => { .. }` says "unknown node `reviw`; did you mean
/// `review`?" once, instead of a dead end at `reviw` and an unreachable `review`.
fn merge_typos(
    cx: &mut Diagnostics,
    nodes: &mut [Node],
    entries: &mut [Entry],
    edges: &mut [Edge],
    routes: &mut [Route],
) {
    let has_way_on = |i: usize, edges: &[Edge], routes: &[Route]| {
        edges.iter().any(|e| e.from == i) || routes.iter().any(|r| r.from == i)
    };
    for i in 0..nodes.len() {
        if has_way_on(i, edges, routes) {
            continue;
        }
        let name = nodes[i].name.to_string();
        let candidates: Vec<String> = nodes
            .iter()
            .enumerate()
            .filter(|(j, n)| *j != i && n.merged_into.is_none())
            .map(|(_, n)| n.name.to_string())
            .collect();
        let Some(close) = did_you_mean(&name, candidates.iter().map(String::as_str)) else {
            continue;
        };
        let Some(j) = nodes.iter().position(|n| n.name == close) else {
            continue;
        };
        cx.error(
            nodes[i].name.span(),
            format!("unknown node `{name}`; did you mean `{close}`?"),
        );
        nodes[i].merged_into = Some(j);
        for entry in entries.iter_mut().filter(|e| e.to == i) {
            entry.to = j;
        }
        let redirect = |t: &mut Target| {
            if *t == Target::Node(i) {
                *t = Target::Node(j);
            }
        };
        edges.iter_mut().for_each(|e| redirect(&mut e.to));
        routes
            .iter_mut()
            .flat_map(|r| r.arms.iter_mut())
            .for_each(|a| redirect(&mut a.to));
    }
}

/// `write_again` -> `WriteAgain`; a clash gets a number, so variants are always distinct.
fn name_variants(nodes: &mut [Node]) {
    let mut taken: Vec<String> = Vec::new();
    for node in nodes {
        let raw = node.name.to_string();
        let raw = raw.trim_start_matches("r#");
        let mut camel = String::new();
        for part in raw.split('_').filter(|p| !p.is_empty()) {
            let mut chars = part.chars();
            if let Some(first) = chars.next() {
                camel.extend(first.to_uppercase());
                camel.push_str(chars.as_str());
            }
        }
        if camel.is_empty() || camel.starts_with(|c: char| c.is_ascii_digit()) {
            camel.insert(0, 'N');
        }
        let mut name = camel.clone();
        let mut n = 2;
        while taken.contains(&name) {
            name = format!("{camel}{n}");
            n += 1;
        }
        taken.push(name.clone());
        node.variant = Ident::new(&name, node.name.span());
    }
}
