//! Syntax of `graph!`: the header, chains of edges, route blocks and node aliases.
//!
//! ```text
//! graph! {
//!     /// docs
//!     #[flow(max_steps = 50)]              // or on the invocation: #[flow(..)] graph! { .. }
//!     pub Essay(Topic) -> Draft {
//!         node write_again = write;         // a second use of the node `write`
//!         interrupt approve: Approval => bool; // a durable run stops here to ask
//!         START -> outline -> write -> review;
//!         review => {
//!             Verdict::Revise -> write_again,
//!             Verdict::Accept -> END,
//!         }
//!         write_again -> review;
//!     }
//! }
//! ```
//!
//! Parsing checks syntax only; names are resolved by `model`. A statement with a syntax
//! error is reported and skipped, so the statements after it are still read.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Ident, Path, Token, Type, Visibility, braced, parenthesized, token};

use crate::diag::{Diagnostics, catalogue as msg};

/// The whole `graph!` input: header and statements.
pub struct GraphInput {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub input: Type,
    pub output: Type,
    pub stmts: Vec<Stmt>,
}

/// One statement of the body.
pub enum Stmt {
    Alias(Alias),
    Interrupt(Box<Interrupt>),
    Chain(Chain),
    Route(Route),
    ErrorEdge(ErrorEdge),
}

/// `node name = path;`
pub struct Alias {
    pub name: Ident,
    pub path: Path,
}

/// `interrupt review: Approval => bool;`: a step where a durable run stops to ask an
/// `Approval` and waits for a `bool`.
pub struct Interrupt {
    /// The `interrupt` keyword.
    pub keyword: Ident,
    pub name: Ident,
    pub question: Type,
    pub answer: Type,
}

/// `a -> b -> c;`
pub struct Chain {
    pub first: Endpoint,
    pub links: Vec<(Token![->], Endpoint)>,
}

/// `a => { Variant -> b, .. }`
pub struct Route {
    pub from: Endpoint,
    pub fat_arrow: Token![=>],
    pub brace: token::Brace,
    pub arms: Punctuated<Arm, Token![,]>,
}

/// `Verdict::Revise -> b`, or for a variant with named fields `Verdict::Revise { draft }
/// -> b` (the fields' values, one or a tuple of several, go to `b`; `{}` for a unit
/// variant, which sends `()`).
pub struct Arm {
    pub variant: Path,
    pub fields: Option<Vec<Ident>>,
    /// Whether fields are left out, `{ draft, .. }` or `{ draft: _ }` (rustc's suggestion
    /// for a variant with named fields written without them).
    pub rest: bool,
    /// `true -> b`: a value where a variant goes, which the expansion reports with the
    /// type the routed node returns (`variant` is then the value's text, for messages).
    pub value: Option<syn::Lit>,
    pub arrow: Token![->],
    pub to: Endpoint,
}

/// `a !-> handler;`: where `a`'s failures go.
pub struct ErrorEdge {
    pub from: Ident,
    pub to: Endpoint,
}

/// A name in an edge: `START`, `END`, a node, a fan-out group `(a, b)` or a map `[w; 4]`.
#[derive(Clone)]
pub enum Endpoint {
    Start(Ident),
    End(Ident),
    Node(Ident),
    /// `steps::write`: a node named by its path; its name in the graph is the last segment.
    Path(Ident, Path),
    Group(Group),
    Map(Map),
}

/// `(a, b -> c, d)`: branches run concurrently on clones of one value; a branch is a
/// path of one or more nodes.
#[derive(Clone)]
pub struct Group {
    /// `{a, b}`: the branches' outputs, one state type, are merged with `Merge`.
    pub merge: bool,
    /// The first branch, which names the group in messages.
    pub lead: Ident,
    pub branches: Vec<BranchPath>,
}

/// `fetch -> summarize`: one branch of a fan-out, its nodes run one after the other; a
/// node written as a map, `[worker; 4]`, runs once per item of the value it is handed.
#[derive(Clone)]
pub struct BranchPath {
    pub first: Ident,
    pub rest: Vec<(Token![->], Ident)>,
    /// For each node of the path (`first`, then `rest`): the map it is written as, if any.
    pub maps: Vec<Option<Map>>,
}

impl BranchPath {
    /// One node of the path: its name, and the map it is written as, if any.
    fn parse_node(input: ParseStream<'_>, maps: &mut Vec<Option<Map>>) -> syn::Result<Ident> {
        if input.peek(token::Bracket) {
            let map = Map::parse(input)?;
            let worker = map.worker.clone();
            maps.push(Some(map));
            return Ok(worker);
        }
        maps.push(None);
        input.parse()
    }
}

impl Parse for BranchPath {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut maps = Vec::new();
        let first = Self::parse_node(input, &mut maps)?;
        let mut rest = Vec::new();
        while input.peek(Token![->]) {
            let arrow = input.parse()?;
            rest.push((arrow, Self::parse_node(input, &mut maps)?));
        }
        // `(classify => { .. }, other)`: a branch is a chain, and a route in one would make
        // it a tree whose arms the join must take as one type; a subgraph says it cleanly.
        if input.peek(Token![=>]) {
            let node = rest.last().map_or(&first, |(_, n)| n);
            let fat: Token![=>] = input.parse()?;
            let message = msg::route_in_branch(&node.to_string());
            let error = syn::Error::new_spanned(quote::quote!(#node #fat), message);
            // The rest of the group is skipped, so the error stands alone.
            input.parse::<TokenStream>()?;
            return Err(error);
        }
        Ok(BranchPath { first, rest, maps })
    }
}

/// `[worker; 4]`: `worker` mapped over a collection, at most 4 at once.
#[derive(Clone)]
pub struct Map {
    pub worker: Ident,
    pub limit: Option<syn::LitInt>,
}

impl Parse for Map {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let content;
        syn::bracketed!(content in input);
        let worker: Ident = content
            .parse()
            .map_err(|e| syn::Error::new(e.span(), msg::expected_map()))?;
        let limit = if content.peek(Token![;]) {
            content.parse::<Token![;]>()?;
            Some(
                content
                    .parse::<syn::LitInt>()
                    .map_err(|e| syn::Error::new(e.span(), msg::expected_map_limit()))?,
            )
        } else {
            None
        };
        if !content.is_empty() {
            return Err(content.error(msg::expected_map()));
        }
        Ok(Map { worker, limit })
    }
}

impl Endpoint {
    /// The token that names this endpoint in messages and spans.
    pub fn ident(&self) -> &Ident {
        match self {
            Endpoint::Start(i) | Endpoint::End(i) | Endpoint::Node(i) | Endpoint::Path(i, _) => i,
            Endpoint::Map(m) => &m.worker,
            Endpoint::Group(g) => &g.lead,
        }
    }
}

impl Parse for Endpoint {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(token::Paren) || input.peek(token::Brace) {
            let merge = input.peek(token::Brace);
            let content;
            let span = if merge {
                braced!(content in input).span.join()
            } else {
                parenthesized!(content in input).span.join()
            };
            let branches: Vec<BranchPath> = content
                .parse_terminated(BranchPath::parse, Token![,])?
                .into_iter()
                .collect();
            let (Some(lead), true) = (
                branches.first().map(|b| b.first.clone()),
                branches.len() >= 2,
            ) else {
                return Err(syn::Error::new(span, msg::group_of_one()));
            };
            return Ok(Endpoint::Group(Group {
                merge,
                lead,
                branches,
            }));
        }
        if input.peek(token::Bracket) {
            return Ok(Endpoint::Map(Map::parse(input)?));
        }
        let path = Path::parse_mod_style(input)
            .map_err(|e| syn::Error::new(e.span(), msg::expected_endpoint()))?;
        let ident = match path.get_ident() {
            Some(ident) => ident.clone(),
            None => {
                let last = path.segments.last().map(|s| s.ident.clone());
                // A mod-style path has at least one segment.
                let ident =
                    last.ok_or_else(|| syn::Error::new(path.span(), msg::expected_endpoint()))?;
                return Ok(Endpoint::Path(ident, path));
            }
        };
        Ok(if ident == "START" {
            Endpoint::Start(ident)
        } else if ident == "END" {
            Endpoint::End(ident)
        } else {
            Endpoint::Node(ident)
        })
    }
}

impl Parse for Arm {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        // `true -> a`: a route matches an enum's variants, not values. Read as an arm, so
        // that the expansion can name the type the node returns in the error.
        if input.peek(syn::Lit) {
            let value: syn::Lit = input.parse()?;
            let text: String = quote::ToTokens::to_token_stream(&value)
                .to_string()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect();
            let variant = Path::from(quote::format_ident!("value_{}", text, span = value.span()));
            return Ok(Arm {
                variant,
                fields: None,
                rest: false,
                value: Some(value),
                arrow: input.parse()?,
                to: input.parse()?,
            });
        }
        let variant = Path::parse_mod_style(input)
            .map_err(|e| syn::Error::new(e.span(), msg::expected_arm()))?;
        // `Verdict::Revise { draft } -> a`: the variant's named fields (as rustc suggests
        // writing them), or `{}` for a unit variant.
        let (mut fields, mut rest) = (None, false);
        if input.peek(syn::token::Brace) {
            let content;
            braced!(content in input);
            let (names, ignored) = parse_arm_fields(&content).or_else(|error| {
                // The rest of the block is skipped, so the error stands alone.
                input.parse::<TokenStream>()?;
                Err(error)
            })?;
            (fields, rest) = (Some(names), ignored);
        }
        // `Verdict::Revise(draft) -> a`: the arm names the variant only.
        if input.peek(syn::token::Paren) {
            let fields = input.cursor().token_tree().map(|(tt, _)| tt.span());
            let path = quote::ToTokens::to_token_stream(&variant)
                .to_string()
                .replace(' ', "");
            let error = syn::Error::new(
                fields.unwrap_or_else(|| input.span()),
                msg::arm_with_fields(&path),
            );
            input.parse::<proc_macro2::TokenStream>()?;
            return Err(error);
        }
        Ok(Arm {
            variant,
            fields,
            rest,
            value: None,
            arrow: input.parse()?,
            to: input.parse()?,
        })
    }
}

/// The fields in the braces of a route arm: the names of those handed on, and whether
/// others are left out (`note: _`, `..`).
fn parse_arm_fields(content: ParseStream<'_>) -> syn::Result<(Vec<Ident>, bool)> {
    let (mut names, mut rest) = (Vec::new(), false);
    while !content.is_empty() {
        if content.peek(Token![..]) {
            content.parse::<Token![..]>()?;
            rest = true;
        } else {
            let name: Ident = content.parse()?;
            if content.peek(Token![:]) {
                content.parse::<Token![:]>()?;
                if !content.peek(Token![_]) {
                    let error = content.error(msg::arm_field(&name.to_string()));
                    // The rest of the braces is skipped, so the error stands alone.
                    content.parse::<TokenStream>()?;
                    return Err(error);
                }
                content.parse::<Token![_]>()?;
                rest = true;
            } else {
                names.push(name);
            }
        }
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    Ok((names, rest))
}

impl Stmt {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(Ident)
            && input.peek2(Ident)
            && input.peek3(Token![=])
            && !input.peek3(Token![=>])
        {
            let node_token: Ident = input.parse()?;
            if node_token != "node" {
                return Err(syn::Error::new(
                    node_token.span(),
                    msg::expected_statement(),
                ));
            }
            let name = input.parse()?;
            input.parse::<Token![=]>()?;
            let path = Path::parse_mod_style(input)?;
            input.parse::<Token![;]>()?;
            return Ok(Stmt::Alias(Alias { name, path }));
        }
        if input.peek(Ident)
            && input.peek2(Ident)
            && input.peek3(Token![:])
            && !input.peek3(Token![::])
        {
            return Self::parse_interrupt(input);
        }
        let first: Endpoint = input.parse()?;
        if input.peek(Token![!]) && input.peek2(Token![->]) {
            let (Endpoint::Node(from) | Endpoint::Path(from, _)) = first else {
                return Err(syn::Error::new(
                    first.ident().span(),
                    msg::error_edge_from_non_node(),
                ));
            };
            input.parse::<Token![!]>()?;
            input.parse::<Token![->]>()?;
            let to = input.parse()?;
            input.parse::<Token![;]>()?;
            return Ok(Stmt::ErrorEdge(ErrorEdge { from, to }));
        }
        if input.peek(Token![=>]) {
            let content;
            let route = Route {
                from: first,
                fat_arrow: input.parse()?,
                brace: braced!(content in input),
                arms: content.parse_terminated(Arm::parse, Token![,])?,
            };
            if input.peek(Token![;]) {
                input.parse::<Token![;]>()?;
            }
            return Ok(Stmt::Route(route));
        }
        let mut links = Vec::new();
        while input.peek(Token![->]) {
            links.push((input.parse()?, input.parse()?));
        }
        if links.is_empty() {
            return Err(input.error(msg::expected_arrow()));
        }
        input
            .parse::<Token![;]>()
            .map_err(|e| syn::Error::new(e.span(), msg::expected_semicolon()))?;
        Ok(Stmt::Chain(Chain { first, links }))
    }
}

impl Stmt {
    /// `interrupt name: Question => Answer;`
    fn parse_interrupt(input: ParseStream<'_>) -> syn::Result<Self> {
        let keyword: Ident = input.parse()?;
        if keyword != "interrupt" {
            return Err(syn::Error::new(keyword.span(), msg::expected_statement()));
        }
        let name = input.parse()?;
        input.parse::<Token![:]>()?;
        let question = input.parse()?;
        if !input.peek(Token![=>]) {
            return Err(input.error(msg::interrupt_answer()));
        }
        input.parse::<Token![=>]>()?;
        let answer = input.parse()?;
        input.parse::<Token![;]>()?;
        Ok(Stmt::Interrupt(Box::new(Interrupt {
            keyword,
            name,
            question,
            answer,
        })))
    }
}

/// Skips to just after the next `;` at this level, or to the end.
fn recover(input: ParseStream<'_>) {
    let _ = input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tt, next)) = rest.token_tree() {
            rest = next;
            match &tt {
                TokenTree::Punct(p) if p.as_char() == ';' => break,
                TokenTree::Group(g) if g.delimiter() == proc_macro2::Delimiter::Brace => break,
                _ => {}
            }
        }
        Ok(((), rest))
    });
}

/// Parses the header, then each statement; statement errors go to `cx`.
pub fn parse_graph(cx: &mut Diagnostics, tokens: TokenStream) -> syn::Result<GraphInput> {
    syn::parse::Parser::parse2(|input: ParseStream<'_>| parse_input(cx, input), tokens)
}

fn parse_input(cx: &mut Diagnostics, input: ParseStream<'_>) -> syn::Result<GraphInput> {
    if input.is_empty() {
        return Err(syn::Error::new(Span::call_site(), msg::expected_flow()));
    }
    let attrs = input.call(Attribute::parse_outer)?;
    let vis = input.parse()?;
    let name: Ident = input
        .parse()
        .map_err(|e| syn::Error::new(e.span(), msg::expected_flow_name()))?;
    let header_err = |e: syn::Error| syn::Error::new(e.span(), msg::expected_flow_types());
    let content;
    parenthesized!(content in input);
    let flow_input: Type = content.parse().map_err(header_err)?;
    if !content.is_empty() {
        return Err(content.error(msg::flow_two_inputs()));
    }
    input.parse::<Token![->]>().map_err(header_err)?;
    let output: Type = input.call(Type::without_plus).map_err(header_err)?;
    let body;
    braced!(body in input);
    let mut stmts = Vec::new();
    while !body.is_empty() {
        match Stmt::parse(&body) {
            Ok(stmt) => stmts.push(stmt),
            Err(err) => {
                cx.push(err);
                recover(&body);
            }
        }
    }
    if !input.is_empty() {
        return Err(input.error(msg::tokens_after_flow()));
    }
    Ok(GraphInput {
        attrs,
        vis,
        name,
        input: flow_input,
        output,
        stmts,
    })
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    /// The messages of parsing `tokens`, and the input when it parsed.
    fn parse(tokens: TokenStream) -> (Vec<String>, Option<GraphInput>) {
        let mut cx = Diagnostics::default();
        let input = match parse_graph(&mut cx, tokens) {
            Ok(input) => Some(input),
            Err(err) => {
                cx.push(err);
                None
            }
        };
        (cx.messages(), input)
    }

    #[test]
    fn value_arms_are_kept_and_parenthesized_arms_get_the_dsl_fix() {
        // Values are read as arms: the expansion reports them with the node's type.
        let (msgs, input) = parse(quote! {
            Review(String) -> String {
                START -> check;
                check => { true -> publish, false -> END }
            }
        });
        assert!(msgs.is_empty(), "{msgs:?}");
        let Some(Stmt::Route(route)) = input.as_ref().and_then(|g| g.stmts.get(1)) else {
            panic!("a route");
        };
        let values: Vec<_> = route
            .arms
            .iter()
            .map(|a| {
                a.value
                    .as_ref()
                    .map(|v| quote::ToTokens::to_token_stream(v).to_string())
            })
            .collect();
        assert_eq!(values, [Some("true".to_owned()), Some("false".to_owned())]);
        let (msgs, _) = parse(quote! {
            Essay(String) -> String {
                START -> review;
                review => { Verdict::Revise(draft) -> revise, Verdict::Accept -> END }
            }
        });
        assert_eq!(msgs, [msg::arm_with_fields("Verdict::Revise").to_string()]);
        // A field bound to another name: the DSL's two forms.
        let (msgs, _) = parse(quote! {
            Essay(String) -> String {
                START -> review;
                review => { Verdict::Revise { draft: d } -> revise, Verdict::Accept -> END }
            }
        });
        assert_eq!(msgs, [msg::arm_field("draft").to_string()]);
    }

    #[test]
    fn a_route_inside_a_branch_is_one_error_pointing_to_a_subgraph() {
        let (msgs, _) = parse(quote! {
            Triage(String) -> String {
                START -> split -> (fetch -> classify => { Kind::A -> x, Kind::B -> y }, other) -> join;
                join -> END;
            }
        });
        assert_eq!(msgs, [msg::route_in_branch("classify").to_string()]);
        let (msgs, _) = parse(quote! {
            Triage(String) -> String {
                START -> split -> (other, classify => { Kind::A -> x }) -> join -> END;
            }
        });
        assert_eq!(msgs, [msg::route_in_branch("classify").to_string()]);
    }

    #[test]
    fn arms_keep_the_named_fields_written_in_braces() {
        let (msgs, input) = parse(quote! {
            Essay(String) -> String {
                START -> review;
                review => {
                    Verdict::Split { head, tail } -> join,
                    Verdict::Done {} -> END,
                    Verdict::Accept -> END,
                    Verdict::Trim { text, .. } -> END,
                    Verdict::Flag { reason: _, level } -> END,
                }
            }
        });
        assert_eq!(msgs, Vec::<String>::new());
        let Some(Stmt::Route(route)) = input.and_then(|i| i.stmts.into_iter().nth(1)) else {
            panic!("the second statement is a route");
        };
        let fields: Vec<Option<Vec<String>>> = route
            .arms
            .iter()
            .map(|a| {
                a.fields
                    .as_ref()
                    .map(|f| f.iter().map(ToString::to_string).collect())
            })
            .collect();
        assert_eq!(
            fields,
            [
                Some(vec!["head".to_owned(), "tail".to_owned()]),
                Some(vec![]),
                None,
                Some(vec!["text".to_owned()]),
                Some(vec!["level".to_owned()]),
            ]
        );
        let rest: Vec<bool> = route.arms.iter().map(|a| a.rest).collect();
        assert_eq!(rest, [false, false, false, true, true]);
    }
}
