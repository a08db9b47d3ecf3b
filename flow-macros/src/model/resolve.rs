//! Resolving: every name gets one node index, `START`/`END` become their own endpoints,
//! and what cannot be resolved is reported: `START` or `END` in the wrong place,
//! duplicate aliases, an error edge out of a name that is not a node. One function per
//! statement kind; chains are resolved position by position.

use std::collections::HashMap;

use quote::{ToTokens, format_ident};
use syn::{Ident, LitStr, Path};

use super::{Arm, Branch, Edge, Entry, ErrorEdge, Graph, Kind, Mode, Node, Route, Target};
use crate::diag::{Diagnostics, catalogue as msg, did_you_mean};
use crate::parse::args::FlowArgs;
use crate::parse::graph::{self as syntax, Endpoint, GraphInput, Stmt};

/// Builds the graph from its syntax, reporting what cannot be resolved.
pub fn resolve(cx: &mut Diagnostics, mut input: GraphInput, args: FlowArgs) -> Graph {
    let implied = implied_aliases(cx, &mut input.stmts);
    let interrupts = super::interrupts::declared(&input.stmts);
    let mut r = Resolver {
        cx,
        nodes: Vec::new(),
        entries: Vec::new(),
        edges: Vec::new(),
        routes: Vec::new(),
        aliases: Vec::new(),
        by_name: HashMap::new(),
    };
    let mut error_edges = Vec::new();
    for stmt in &input.stmts {
        match stmt {
            Stmt::Alias(alias) => r.alias(alias),
            Stmt::Interrupt(i) => r.alias(&super::interrupts::as_alias(i)),
            Stmt::Chain(chain) => r.chain(chain),
            Stmt::Route(route) => r.route(route),
            // Read after every chain, so a handler used elsewhere too is found as a step.
            Stmt::ErrorEdge(e) => error_edges.push(e),
        }
    }
    for e in error_edges {
        r.error_edge(e);
    }
    for (name, path) in implied {
        if !r.aliases.iter().any(|(n, _)| *n == name) {
            r.aliases.push((name, path));
        }
    }
    r.apply_aliases();
    let Resolver {
        cx,
        mut nodes,
        mut entries,
        mut edges,
        mut routes,
        ..
    } = r;
    super::typos::merge_typos(cx, &mut nodes, &mut entries, &mut edges, &mut routes);
    super::variants::name_variants(&mut nodes);

    let display_name = args
        .name
        .unwrap_or_else(|| LitStr::new(&input.name.to_string(), input.name.span()));
    let mut graph = Graph {
        docs: input
            .attrs
            .into_iter()
            .filter(|a| a.path().is_ident("doc"))
            .collect(),
        vis: input.vis,
        name: input.name,
        display_name,
        input: input.input,
        output: input.output,
        max_steps: args.max_steps,
        max_steps_span: args.max_steps_span,
        timeout: args.timeout,
        local: args.local,
        durable: args.durable,
        deps: args.deps,
        nodes,
        entries,
        edges,
        routes,
        index: Default::default(),
    };
    super::interrupts::mark(cx, &mut graph, interrupts);
    super::header::check(cx, &graph);
    graph.index = super::index::Index::build(&graph);
    graph
}

/// Nodes named by their path (`steps::write`) are declared by it, as `node write =
/// steps::write;` would be, and read as plain names from here on. Two paths with one
/// last segment are one error, and the second is read as the user is told to write it,
/// `node write2 = edit::write;`, so nothing more is reported about it.
fn implied_aliases(cx: &mut Diagnostics, stmts: &mut [Stmt]) -> Vec<(Ident, Path)> {
    let mut known: Vec<(Ident, Path)> = stmts
        .iter()
        .filter_map(|s| match s {
            Stmt::Alias(a) => Some((a.name.clone(), a.path.clone())),
            _ => None,
        })
        .collect();
    let mut implied = Vec::new();
    for stmt in stmts.iter_mut() {
        let ends: Vec<&mut Endpoint> = match stmt {
            Stmt::Chain(c) => std::iter::once(&mut c.first)
                .chain(c.links.iter_mut().map(|(_, e)| e))
                .collect(),
            Stmt::Route(r) => std::iter::once(&mut r.from)
                .chain(r.arms.iter_mut().map(|a| &mut a.to))
                .collect(),
            Stmt::ErrorEdge(e) => vec![&mut e.to],
            Stmt::Alias(_) | Stmt::Interrupt(_) => Vec::new(),
        };
        for end in ends {
            let Endpoint::Path(name, path) = end else {
                continue;
            };
            let mut name = name.clone();
            if let Some((_, first)) = known.iter().find(|(n, p)| *n == name && p != path) {
                let text = |p: &Path| p.to_token_stream().to_string().replace(' ', "");
                let (first, second) = (text(first), text(path));
                cx.error_spanned(
                    &*path,
                    msg::same_last_segment(&name.to_string(), &first, &second),
                );
                let mut n = 2u32;
                while known
                    .iter()
                    .any(|(k, _)| *k == format_ident!("{}{}", name, n))
                {
                    n += 1;
                }
                name = format_ident!("{}{}", name, n, span = name.span());
            }
            if !known.iter().any(|(n, _)| *n == name) {
                known.push((name.clone(), path.clone()));
                implied.push((name.clone(), path.clone()));
            }
            *end = Endpoint::Node(name);
        }
    }
    implied
}

struct Resolver<'a> {
    cx: &'a mut Diagnostics,
    nodes: Vec<Node>,
    entries: Vec<Entry>,
    edges: Vec<Edge>,
    routes: Vec<Route>,
    aliases: Vec<(Ident, Path)>,
    /// The first user node of each name: a name is looked up at every mention, and
    /// comparing `Ident`s in a proc macro goes through the compiler, so a scan of the
    /// nodes made resolving a 100-node graph quadratic (a sixth of the macro's time).
    by_name: HashMap<String, usize>,
}

impl Resolver<'_> {
    /// `node name = path;`
    fn alias(&mut self, alias: &syntax::Alias) {
        let name = &alias.name;
        if name == "START" || name == "END" {
            self.cx
                .error(name.span(), msg::reserved_name(&name.to_string()));
        } else if self.aliases.iter().any(|(n, _)| n == name) {
            self.cx
                .error(name.span(), msg::duplicate_node(&name.to_string()));
        } else if alias.path.is_ident(name) {
            self.cx
                .error_spanned(&alias.path, msg::alias_of_itself(&name.to_string()));
        } else {
            self.aliases.push((name.clone(), alias.path.clone()));
        }
    }

    /// Gives the nodes declared with `node name = path;` their types; reports an alias no
    /// edge uses.
    fn apply_aliases(&mut self) {
        for (name, path) in &self.aliases {
            let mut used = false;
            // Every entry of the name: the node, and a fan-out led by it.
            for node in self.nodes.iter_mut().filter(|n| n.name == *name) {
                node.ty = path.clone();
                used = true;
            }
            if !used {
                self.cx
                    .error(name.span(), msg::unused_alias(&name.to_string()));
            }
        }
    }

    /// `a -> b -> c;`: each position resolved once (groups and maps become pseudo-nodes
    /// between their neighbours), then each link.
    fn chain(&mut self, chain: &syntax::Chain) {
        let ends: Vec<&Endpoint> = std::iter::once(&chain.first)
            .chain(chain.links.iter().map(|(_, e)| e))
            .collect();
        let mut inner: Vec<Option<usize>> = Vec::with_capacity(ends.len());
        for (k, end) in ends.iter().enumerate() {
            let is_inner = matches!(end, Endpoint::Group(_) | Endpoint::Map(_));
            // Nodes are registered in the order they are written (the order of
            // `GRAPH.nodes`), except after `END`, whose edge is reported instead.
            let after_end = k > 0 && matches!(ends[k - 1], Endpoint::End(_));
            let index = if is_inner && k > 0 && k + 1 < ends.len() {
                Some(self.inner(end))
            } else {
                if is_inner {
                    self.target(end);
                } else if let (Endpoint::Node(ident) | Endpoint::Path(ident, _), false) =
                    (end, after_end)
                {
                    self.lookup(ident);
                }
                None
            };
            inner.push(index);
        }
        for (k, (arrow, _)) in chain.links.iter().enumerate() {
            self.link(ends[k], inner[k], *arrow, ends[k + 1], inner[k + 1]);
        }
    }

    /// One link `from -> to` of a chain; `*_inner` is the pseudo-node of a group or map.
    fn link(
        &mut self,
        from: &Endpoint,
        from_inner: Option<usize>,
        arrow: syn::Token![->],
        to: &Endpoint,
        to_inner: Option<usize>,
    ) {
        let is_group = |e: &Endpoint| matches!(e, Endpoint::Group(_) | Endpoint::Map(_));
        if is_group(from) && from_inner.is_none() {
            return; // reported: a group or map at the start of a chain
        }
        if is_group(to) && to_inner.is_none() {
            // Reported: a group or map at the end of a chain. The node before it is
            // given a way on, so it is not also reported as a dead end.
            if let Endpoint::Node(n) | Endpoint::Path(n, _) = from {
                let from_idx = self.lookup(n);
                self.edges.push(Edge {
                    from: from_idx,
                    from_ident: n.clone(),
                    arrow,
                    to: Target::End,
                    to_ident: to.ident().clone(),
                });
            }
            return;
        }
        match (from, to) {
            (Endpoint::Start(start), Endpoint::Node(n) | Endpoint::Path(n, _)) => {
                let to = self.node(n);
                self.entries.push(Entry {
                    start: start.clone(),
                    to,
                    to_ident: n.clone(),
                });
            }
            // `START -> [w; 4] -> collect;` maps over the flow's input, `START -> (a, b) ->
            // join;` fans it out: the group or map is the entry step.
            (Endpoint::Start(start), _) if let Some(step) = to_inner => {
                self.entries.push(Entry {
                    start: start.clone(),
                    to: step,
                    to_ident: to.ident().clone(),
                });
            }
            (Endpoint::Start(_), Endpoint::End(e)) => self.cx.error(e.span(), msg::start_to_end()),
            (Endpoint::Start(_), Endpoint::Start(_)) => {
                self.target(to);
            }
            _ => {
                let source = match from_inner {
                    Some(i) => Some(i),
                    None => self.source(from, "edge"),
                };
                // The target of an edge out of `END` is not registered: it would only add
                // an unreachable node to the one error.
                let target = match (source, to_inner) {
                    (None, _) => None,
                    (Some(_), Some(i)) => Some(Target::Node(i)),
                    (Some(_), None) => self.target(to),
                };
                if let (Some(from_idx), Some(to_t)) = (source, target) {
                    self.edges.push(Edge {
                        from: from_idx,
                        from_ident: from.ident().clone(),
                        arrow,
                        to: to_t,
                        to_ident: to.ident().clone(),
                    });
                }
            }
        }
    }

    /// `from => { Enum::Variant -> to, .. }`
    fn route(&mut self, route: &syntax::Route) {
        let source = self.source(&route.from, "route");
        let arms: Vec<Arm> = route
            .arms
            .iter()
            .filter_map(|arm| {
                let to = self.target(&arm.to)?;
                Some(Arm {
                    variant: arm.variant.clone(),
                    fields: arm.fields.clone(),
                    rest: arm.rest,
                    value: arm.value.clone(),
                    arrow: arm.arrow,
                    to,
                    to_ident: arm.to.ident().clone(),
                })
            })
            .collect();
        if let Some(from) = source {
            self.routes.push(Route {
                from,
                from_ident: route.from.ident().clone(),
                fat_arrow: route.fat_arrow,
                brace: route.brace,
                arms,
            });
        }
    }

    /// `from !-> handler;`: a step's handler is a step; a nested node's runs in its place.
    fn error_edge(&mut self, e: &syntax::ErrorEdge) {
        let from = &e.from;
        let Some(i) = self.named(from).or_else(|| self.typo_of(from)) else {
            self.cx
                .error(from.span(), msg::error_edge_from_unknown(&from.to_string()));
            return;
        };
        let (Endpoint::Node(handler_ident) | Endpoint::Path(handler_ident, _)) = &e.to else {
            self.cx
                .error(e.to.ident().span(), msg::error_edge_to_non_node());
            return;
        };
        if self.nodes[i].error_edge.is_some() {
            self.cx.error(
                handler_ident.span(),
                msg::second_error_edge(&from.to_string()),
            );
            return;
        }
        let handler = match self.nodes[i].kind {
            Kind::Step => self.node(handler_ident),
            _ => self.nested(handler_ident, Kind::Handler { of: i }),
        };
        self.nodes[i].error_edge = Some(ErrorEdge {
            handler,
            handler_ident: handler_ident.clone(),
        });
    }

    /// The node `name` is a typo of, reported as such: the error edge then reads as
    /// written from that node, so its handler is not reported as unreachable too.
    fn typo_of(&mut self, name: &Ident) -> Option<usize> {
        let names: Vec<String> = self
            .nodes
            .iter()
            .filter(|n| n.kind.is_user_node())
            .map(|n| n.name.to_string())
            .collect();
        let close = did_you_mean(&name.to_string(), names.iter().map(String::as_str))?;
        self.cx
            .error(name.span(), msg::unknown_node(&name.to_string(), close));
        self.nodes
            .iter()
            .position(|n| n.kind.is_user_node() && n.name == close)
    }

    /// The user node called `name`, if there is one yet.
    fn named(&self, name: &Ident) -> Option<usize> {
        self.by_name.get(&name.to_string()).copied()
    }

    fn push(&mut self, name: &Ident, kind: Kind) -> usize {
        if kind.is_user_node() {
            // The first one, as a scan would find (a name is one node, or reported).
            self.by_name
                .entry(name.to_string())
                .or_insert(self.nodes.len());
        }
        self.nodes.push(Node {
            name: name.clone(),
            ty: Path::from(name.clone()),
            variant: format_ident!("__"),
            merged_into: None,
            kind,
            error_edge: None,
            interrupt: None,
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
        match self.named(ident) {
            Some(i) => i,
            None => self.push(ident, Kind::Step),
        }
    }

    /// A node that runs inside a fan-out or a map (or in place of one that failed there).
    fn nested(&mut self, ident: &Ident, kind: Kind) -> usize {
        match self.named(ident) {
            Some(i) => {
                self.nested_twice(ident);
                i
            }
            None => self.push(ident, kind),
        }
    }

    fn nested_twice(&mut self, ident: &Ident) {
        self.cx
            .error(ident.span(), msg::nested_twice(&ident.to_string()));
    }

    /// A target: a node or `END`; `START` is reported. Groups and maps are handled by chains.
    fn target(&mut self, end: &Endpoint) -> Option<Target> {
        match end {
            Endpoint::Node(i) | Endpoint::Path(i, _) => Some(Target::Node(self.node(i))),
            Endpoint::End(_) => Some(Target::End),
            Endpoint::Group(_) | Endpoint::Map(_) => {
                self.cx.error(end.ident().span(), msg::group_at_chain_end());
                None
            }
            Endpoint::Start(i) => {
                self.cx.error(i.span(), msg::start_as_target());
                None
            }
        }
    }

    /// A source of an edge or route: a node; `END` is reported (`START` is handled by chains).
    fn source(&mut self, end: &Endpoint, what: &str) -> Option<usize> {
        match end {
            Endpoint::Node(i) | Endpoint::Path(i, _) => Some(self.lookup(i)),
            Endpoint::End(i) => {
                self.cx.error(i.span(), msg::edge_out_of_end(what));
                None
            }
            Endpoint::Start(i) => {
                self.cx.error(i.span(), msg::start_routes());
                None
            }
            Endpoint::Group(_) | Endpoint::Map(_) => {
                self.target(end);
                None
            }
        }
    }

    /// The limit of a map `[w; limit]`, if written; a limit below 1 is reported.
    fn map_limit(&mut self, m: &syntax::Map) -> Option<u32> {
        m.limit
            .as_ref()
            .and_then(|lit| match lit.base10_parse::<u32>() {
                Ok(n) if n >= 1 => Some(n),
                _ => {
                    self.cx.error(lit.span(), msg::bad_map_limit());
                    None
                }
            })
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
                    .map(|path| {
                        let first = self.nested(&path.first, Kind::Branch { fan });
                        let rest: Vec<usize> = path
                            .rest
                            .iter()
                            .map(|(_, n)| self.nested(n, Kind::Branch { fan }))
                            .collect();
                        let modes = path
                            .maps
                            .iter()
                            .map(|m| match m {
                                Some(m) => Mode::Map {
                                    limit: self.map_limit(m),
                                },
                                None => Mode::Once,
                            })
                            .collect();
                        Branch {
                            nodes: std::iter::once(first).chain(rest).collect(),
                            arrows: path.rest.iter().map(|(a, _)| *a).collect(),
                            modes,
                        }
                    })
                    .collect();
                self.nodes[fan].kind = Kind::Fan {
                    branches,
                    merge: g.merge,
                };
                fan
            }
            Endpoint::Map(m) => {
                let limit = self.map_limit(m);
                let map = self.push(&m.worker, Kind::Map { worker: 0, limit });
                let worker = self.nested(&m.worker, Kind::Worker { map });
                self.nodes[map].kind = Kind::Map { worker, limit };
                map
            }
            _ => self.node(end.ident()),
        }
    }
}
