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
    /// The name as first written in the graph (for a fan-out or map, its first node).
    pub name: Ident,
    /// The node type: the name itself, or the path an alias names.
    pub ty: Path,
    /// The state enum's variant for this node.
    pub variant: Ident,
    /// Set when the name was a typo of another node's name; such a node is not used.
    pub merged_into: Option<usize>,
    pub kind: Kind,
    /// `name !-> handler;`
    pub catch: Option<Catch>,
}

/// What a node table entry is.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Kind {
    /// A node run as a step of its own, with a state variant.
    Step,
    /// A branch of a fan-out: runs inside the fan's step.
    Branch { fan: usize },
    /// The worker of a map: runs inside the map's step, once per item.
    Worker { map: usize },
    /// The handler of a failed branch or map item: runs in its place.
    Recover { of: usize },
    /// A fan-out group `(a, b, ..)` (or `{a, b, ..}`, merged), a step of its own; not a
    /// node of the user's.
    Fan { branches: Vec<usize>, merge: bool },
    /// A map `[worker; limit]`, a step of its own; not a node of the user's.
    Map { worker: usize, limit: Option<u32> },
}

impl Kind {
    /// Whether the entry runs as a step of the state machine (has a state variant).
    pub fn is_step(&self) -> bool {
        matches!(self, Kind::Step | Kind::Fan { .. } | Kind::Map { .. })
    }

    /// Whether the entry is a node of the user's (has a node type and a `NodeInfo`).
    pub fn is_user_node(&self) -> bool {
        !matches!(self, Kind::Fan { .. } | Kind::Map { .. })
    }
}

/// An error edge.
pub struct Catch {
    pub to: usize,
    pub to_ident: Ident,
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
            let catch = self.nodes[i].catch.as_ref().map(|c| Target::Node(c.to));
            plain
                .chain(arms)
                .chain(catch)
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
    fn push(&mut self, name: &Ident, kind: Kind) -> usize {
        self.nodes.push(Node {
            name: name.clone(),
            ty: Path::from(name.clone()),
            variant: format_ident!("__"),
            merged_into: None,
            kind,
            catch: None,
        });
        self.nodes.len() - 1
    }

    /// A node used as the target of an edge: a step of its own.
    fn node(&mut self, ident: &Ident) -> usize {
        let i = self.lookup(ident);
        if self.nodes[i].kind != Kind::Step {
            self.nested_twice(ident);
        }
        i
    }

    /// The node of this name, registered as a step if it is new. Reports nothing: an edge
    /// out of a nested node is reported by validation, as the edge it is.
    fn lookup(&mut self, ident: &Ident) -> usize {
        match self
            .nodes
            .iter()
            .position(|n| n.kind.is_user_node() && n.name == *ident)
        {
            Some(i) => i,
            None => self.push(ident, Kind::Step),
        }
    }

    /// A node that runs inside a fan-out or a map (or in place of one that failed there).
    fn nested(&mut self, ident: &Ident, kind: Kind) -> usize {
        match self
            .nodes
            .iter()
            .position(|n| n.kind.is_user_node() && n.name == *ident)
        {
            Some(i) => {
                self.nested_twice(ident);
                i
            }
            None => self.push(ident, kind),
        }
    }

    fn nested_twice(&mut self, ident: &Ident) {
        self.cx.error(
            ident.span(),
            format!(
                "node `{ident}` runs inside a fan-out or a map, and is used again here; a node has one place in a graph, so give this use its own name: `node {ident}2 = {ident};`"
            ),
        );
    }

    /// A target: a node or `END`; `START` is reported. Groups and maps are handled by chains.
    fn target(&mut self, end: &Endpoint) -> Option<Target> {
        match end {
            Endpoint::Node(i) => Some(Target::Node(self.node(i))),
            Endpoint::End(_) => Some(Target::End),
            Endpoint::Group(_) | Endpoint::Map(_) => {
                self.cx.error(
                    end.ident().span(),
                    "a fan-out group or a map goes in the middle of a chain, after the node that feeds it and before the node that takes its results: `split -> (a, b) -> join;`, `split -> [work; 4] -> collect;`",
                );
                None
            }
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
            Endpoint::Node(i) => Some(self.lookup(i)),
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
            Endpoint::Group(_) | Endpoint::Map(_) => {
                self.target(end);
                None
            }
        }
    }

    /// A fan-out group or a map in the middle of a chain: a pseudo-node of its own.
    fn inner(&mut self, end: &Endpoint) -> usize {
        match end {
            Endpoint::Group(g) => {
                let fan = self.push(
                    &g.lead,
                    Kind::Fan {
                        branches: Vec::new(),
                        merge: g.merge,
                    },
                );
                let branches = g
                    .branches
                    .iter()
                    .map(|b| self.nested(b, Kind::Branch { fan }))
                    .collect();
                self.nodes[fan].kind = Kind::Fan {
                    branches,
                    merge: g.merge,
                };
                fan
            }
            Endpoint::Map(m) => {
                let limit = m.limit.as_ref().and_then(|lit| match lit.base10_parse::<u32>() {
                    Ok(n) if n >= 1 => Some(n),
                    _ => {
                        self.cx.error(
                            lit.span(),
                            "a map's limit is how many items may run at once: a whole number of at least 1",
                        );
                        None
                    }
                });
                let map = self.push(&m.worker, Kind::Map { worker: 0, limit });
                let worker = self.nested(&m.worker, Kind::Worker { map });
                self.nodes[map].kind = Kind::Map { worker, limit };
                map
            }
            _ => self.node(end.ident()),
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
    let mut catches: Vec<(Ident, Endpoint)> = Vec::new();

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
                // Each position of the chain resolved once: groups and maps become
                // pseudo-nodes between their neighbours.
                let last = chain.links.len();
                let ends = std::iter::once(&chain.first).chain(chain.links.iter().map(|(_, e)| e));
                let mut resolved: Vec<(Endpoint, Option<usize>)> = Vec::new();
                for (k, end) in ends.enumerate() {
                    let inner = matches!(end, Endpoint::Group(_) | Endpoint::Map(_));
                    // Nodes are registered in the order they are written (the order of
                    // `GRAPH.nodes`), except after `END`, whose edge is reported instead.
                    let after_end = k > 0 && matches!(resolved[k - 1].0, Endpoint::End(_));
                    let index = if inner && k > 0 && k < last {
                        Some(r.inner(end))
                    } else if inner {
                        r.target(end);
                        None
                    } else {
                        if let (Endpoint::Node(ident), false) = (end, after_end) {
                            r.lookup(ident);
                        }
                        None
                    };
                    resolved.push((end.clone(), index));
                }
                for (k, (arrow, _)) in chain.links.iter().enumerate() {
                    let (from, from_inner) = resolved[k].clone();
                    let (to, to_inner) = resolved[k + 1].clone();
                    if matches!(from, Endpoint::Group(_) | Endpoint::Map(_)) && from_inner.is_none()
                    {
                        continue; // reported: a group or map at the start of a chain
                    }
                    if matches!(to, Endpoint::Group(_) | Endpoint::Map(_)) && to_inner.is_none() {
                        // Reported: a group or map at the end of a chain. The node before
                        // it is given a way on, so it is not also reported as a dead end.
                        if let Endpoint::Node(n) = &from {
                            let from_idx = r.lookup(n);
                            edges.push(Edge {
                                from: from_idx,
                                from_ident: n.clone(),
                                arrow: *arrow,
                                to: Target::End,
                                to_ident: to.ident().clone(),
                            });
                        }
                        continue;
                    }
                    match (&from, &to) {
                        (Endpoint::Start(start), Endpoint::Node(n)) => {
                            let to = r.node(n);
                            entries.push(Entry {
                                start: start.clone(),
                                to,
                                to_ident: n.clone(),
                            });
                        }
                        (Endpoint::Start(start), _) if to_inner.is_some() => {
                            r.cx.error(
                                start.span(),
                                "`START` leads to one node; put the fan-out or map after it: `START -> split -> (a, b) -> join;`",
                            );
                        }
                        (Endpoint::Start(_), Endpoint::End(e)) => r.cx.error(
                            e.span(),
                            "`START -> END` runs no node; `START` must lead to the first node",
                        ),
                        (Endpoint::Start(_), Endpoint::Start(s)) => {
                            r.target(&Endpoint::Start(s.clone()));
                        }
                        _ => {
                            let source = match from_inner {
                                Some(i) => Some(i),
                                None => r.source(&from, "edge"),
                            };
                            // The target of an edge out of `END` is not registered: it
                            // would only add an unreachable node to the one error.
                            let target = match (source, to_inner) {
                                (None, _) => None,
                                (Some(_), Some(i)) => Some(Target::Node(i)),
                                (Some(_), None) => r.target(&to),
                            };
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
                }
            }
            Stmt::Catch(catch) => {
                catches.push((catch.from.clone(), catch.to.clone()));
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

    for (from, to) in &catches {
        let Some(i) = r
            .nodes
            .iter()
            .position(|n| n.kind.is_user_node() && n.name == *from)
        else {
            r.cx.error(
                from.span(),
                format!("`{from}` has an error edge but is not a node of this graph; add it to an edge first"),
            );
            continue;
        };
        let Endpoint::Node(to_ident) = to else {
            r.cx.error(
                to.ident().span(),
                "an error edge leads to a handler node: `node !-> handler;`",
            );
            continue;
        };
        if r.nodes[i].catch.is_some() {
            r.cx.error(
                to_ident.span(),
                format!("ambiguous edge: `{from}` already has an error edge; a node has one"),
            );
            continue;
        }
        let to = match r.nodes[i].kind {
            Kind::Step => r.node(to_ident),
            _ => r.nested(to_ident, Kind::Recover { of: i }),
        };
        r.nodes[i].catch = Some(Catch {
            to,
            to_ident: to_ident.clone(),
        });
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
        if nodes[i].kind != Kind::Step || has_way_on(i, edges, routes) {
            continue;
        }
        let name = nodes[i].name.to_string();
        let candidates: Vec<String> = nodes
            .iter()
            .enumerate()
            .filter(|(j, n)| *j != i && n.merged_into.is_none() && n.kind.is_user_node())
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
    for node in nodes.iter_mut().filter(|n| n.kind.is_step()) {
        let prefix = match node.kind {
            Kind::Fan { .. } => "Fan",
            Kind::Map { .. } => "Map",
            _ => "",
        };
        let name = node.name.to_string();
        let raw = format!("{prefix}_{}", name.trim_start_matches("r#"));
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
