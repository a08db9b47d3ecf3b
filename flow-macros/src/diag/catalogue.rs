//! The catalogue: every message the macros emit, each a function beside its code.
//!
//! A code names one kind of mistake; it has a compile-fail case
//! `ui-tests/tests/fail/<code>.rs` and a section in `docs/errors.md` (a unit test checks
//! all three lists and the style of every text). Messages are lowercase, without a
//! trailing period, with names in backticks, in the DSL's words; they say what is wrong,
//! then how to fix it.
//!
//! The stages report only through these functions: `Diagnostics::error` takes a
//! [`Message`], and a test checks that no stage builds an error from a bare string.
//! Codes whose errors rustc reports (type errors, through the bounds the expansion spans
//! on the user's tokens) are listed too; their wording lives in the
//! `#[diagnostic::on_unimplemented]` attributes of `typedflow::__private`.

use std::fmt;

/// A message of the catalogue and its code.
pub struct Message {
    pub code: Code,
    text: String,
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn msg(code: Code, text: impl Into<String>) -> Message {
    Message {
        code,
        text: text.into(),
    }
}

macro_rules! codes {
    (
        reported by the macros { $($m:ident = $mname:literal,)* }
        reported by rustc { $($r:ident = $rname:literal,)* }
    ) => {
        /// A kind of mistake; its name is its anchor in `docs/errors.md`.
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        pub enum Code {
            $($m,)*
            $($r,)*
        }

        impl Code {
            /// Every code, those the macros report first.
            #[cfg_attr(not(test), allow(dead_code))] // reason: read by the catalogue's tests
            pub const ALL: &[Code] = &[$(Code::$m,)* $(Code::$r,)*];

            /// The code's name, as in `docs/errors.md` and `ui-tests/tests/fail/`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Code::$m => $mname,)*
                    $(Code::$r => $rname,)*
                }
            }

            /// Whether the macros report it (else rustc, through a generated bound).
            #[cfg_attr(not(test), allow(dead_code))] // reason: read by the catalogue's tests
            pub fn by_macros(self) -> bool {
                matches!(self, $(Code::$m)|*)
            }
        }
    };
}

codes! {
    reported by the macros {
    UnknownNode = "unknown_node",
    UnreachableNode = "unreachable_node",
    DeadEnd = "dead_end",
    AmbiguousEdge = "ambiguous_edge",
    DuplicateEdge = "duplicate_edge",
    LoopNeverEnds = "loop_never_ends",
    MissingEntry = "missing_entry",
    StepLimitTooLow = "step_limit_too_low",
    FlowNamedLikeNode = "flow_named_like_node",
    TypeNamedLikeHook = "type_named_like_hook",
    EdgeOutOfEnd = "edge_out_of_end",
    MisplacedStart = "misplaced_start",
    EmptyRoute = "empty_route",
    NestedNodeEdges = "nested_node_edges",
    MisplacedGroup = "misplaced_group",
    BadErrorEdge = "bad_error_edge",
    DuplicateNode = "duplicate_node",
    BadAlias = "bad_alias",
    MisplacedInterrupt = "misplaced_interrupt",
    GraphSyntax = "graph_syntax",
    MisplacedAttribute = "misplaced_attribute",
    NodeNotAsync = "node_not_async",
    NodeSignature = "node_signature",
    NodeMethod = "node_method",
    NodeUnsupportedParam = "node_unsupported_param",
    NodeTwoInputs = "node_two_inputs",
    NodeReferenceInput = "node_reference_input",
    NodeGeneric = "node_generic",
    UnknownArgument = "unknown_argument",
    MissingArgument = "missing_argument",
    BadArgumentType = "bad_argument_type",
    DurationWithoutUnit = "duration_without_unit",
    PolicyContradiction = "policy_contradiction",
    DeriveNotStruct = "derive_not_struct",
    MergeUnknownStrategy = "merge_unknown_strategy",
    RouteArmFields = "route_arm_fields",
    }
    reported by rustc {
    NodeNotInScope = "node_not_in_scope",
    NotANode = "not_a_node",
    EdgeTypeMismatch = "edge_type_mismatch",
    RouteMissingVariant = "route_missing_variant",
    RouteArmTypeMismatch = "route_arm_type_mismatch",
    RouteNotEnum = "route_not_enum",
    RouteOnValue = "route_on_value",
    RouteUnitVariant = "route_unit_variant",
    RouteStructVariant = "route_struct_variant",
    RouteUnknownVariant = "route_unknown_variant",
    FlowInputMismatch = "flow_input_mismatch",
    FlowOutputMismatch = "flow_output_mismatch",
    MissingDependency = "missing_dependency",
    JoinTypeMismatch = "join_type_mismatch",
    ErrorHandlerTypeMismatch = "error_handler_type_mismatch",
    FanValueNotClone = "fan_value_not_clone",
    ErrorEdgeInputNotClone = "error_edge_input_not_clone",
    MapNotCollection = "map_not_collection",
    HandlerOutputMismatch = "handler_output_mismatch",
    SubgraphTypeMismatch = "subgraph_type_mismatch",
    MergeStateNotMerge = "merge_state_not_merge",
    MergeFieldNotComparable = "merge_field_not_comparable",
    RetryErrorNotRetryable = "retry_error_not_retryable",
    NodeNotSend = "node_not_send",
    }
}

// -- names and paths ---------------------------------------------------------------

pub fn unknown_node(name: &str, close: &str) -> Message {
    msg(
        Code::UnknownNode,
        format!("unknown node `{name}`; did you mean `{close}`?"),
    )
}

pub fn unreachable_node(name: &str) -> Message {
    msg(
        Code::UnreachableNode,
        format!(
            "node `{name}` is unreachable: no path from `START` leads to it; add an edge to it or remove it"
        ),
    )
}

pub fn dead_end(name: &str) -> Message {
    msg(
        Code::DeadEnd,
        format!(
            "node `{name}` has no way on; add an edge from it (`{name} -> next;` or `{name} -> END;`) or a route (`{name} => {{ .. }}`)"
        ),
    )
}

pub fn loop_never_ends() -> Message {
    msg(
        Code::LoopNeverEnds,
        "this loop never ends: no node in it leads to `END`; give one of its nodes a way out, e.g. a route arm to `END`",
    )
}

pub fn missing_entry(flow: &str, first: &str) -> Message {
    msg(
        Code::MissingEntry,
        format!("flow `{flow}` has no entry; add `START -> {first};` to say which node runs first"),
    )
}

pub fn step_limit_too_low(limit: u32, needed: usize) -> Message {
    msg(
        Code::StepLimitTooLow,
        format!(
            "`max_steps = {limit}` is fewer than the {needed} steps of the shortest path from `START` to `END`, so every run would stop short; raise it to at least {needed}"
        ),
    )
}

pub fn flow_named_like_node(flow: &str) -> Message {
    msg(
        Code::FlowNamedLikeNode,
        format!(
            "flow `{flow}` has the name of one of its nodes, and a flow and its nodes are types of one namespace; rename the flow, e.g. `{flow}Flow`"
        ),
    )
}

// -- successors ----------------------------------------------------------------------

pub fn second_route(node: &str) -> Message {
    msg(
        Code::AmbiguousEdge,
        format!(
            "ambiguous edge: `{node}` already has a route; put all its arms in one route block"
        ),
    )
}

pub fn second_successor(node: &str, first: &str) -> Message {
    msg(
        Code::AmbiguousEdge,
        format!(
            "ambiguous edge: `{node}` already goes to `{first}`; a node has one successor, so to choose at run time return an enum and route it: `{node} => {{ .. }}`"
        ),
    )
}

pub fn route_after_edge(node: &str, first: &str) -> Message {
    msg(
        Code::AmbiguousEdge,
        format!(
            "ambiguous edge: `{node}` already goes to `{first}`; remove that edge or this route"
        ),
    )
}

pub fn second_entry(first: &str) -> Message {
    msg(
        Code::AmbiguousEdge,
        format!(
            "ambiguous edge: `START` already leads to `{first}`; a flow has one entry node, so route from it instead"
        ),
    )
}

pub fn second_error_edge(node: &str) -> Message {
    msg(
        Code::AmbiguousEdge,
        format!(
            "ambiguous edge: `{node}` already has an error edge; a node has one, so remove this one"
        ),
    )
}

pub fn duplicate_edge(from: &str, to: &str) -> Message {
    msg(
        Code::DuplicateEdge,
        format!("duplicate edge `{from} -> {to}`; remove one of them"),
    )
}

pub fn duplicate_arm(variant: &str, to: &str) -> Message {
    msg(
        Code::DuplicateEdge,
        format!(
            "duplicate edge: `{variant}` is already routed; remove this arm (`{variant} -> {to}`)"
        ),
    )
}

pub fn empty_route(node: &str) -> Message {
    msg(
        Code::EmptyRoute,
        format!(
            "the route of `{node}` has no arms; add one per variant of its output: `Enum::Variant -> node`"
        ),
    )
}

// -- START, END, groups, error edges -------------------------------------------------

pub fn edge_out_of_end(what: &str) -> Message {
    msg(
        Code::EdgeOutOfEnd,
        format!("`END` has no successors: a run stops there; remove this {what}"),
    )
}

pub fn start_as_target() -> Message {
    msg(
        Code::MisplacedStart,
        "`START` cannot be the target of an edge: it is where every run begins; write `START -> first_node;` once",
    )
}

pub fn start_routes() -> Message {
    msg(
        Code::MisplacedStart,
        "`START` cannot route: it leads to one entry node; write `START -> first_node;`",
    )
}

pub fn start_to_end() -> Message {
    msg(
        Code::MisplacedStart,
        "`START -> END` runs no node; `START` must lead to the first node",
    )
}

pub fn group_at_chain_end() -> Message {
    msg(
        Code::MisplacedGroup,
        "a fan-out group or a map goes in the middle of a chain, after the node that feeds it and before the node that takes its results; put a node on each side: `split -> (a, b) -> join;`, `split -> [work; 4] -> collect;`",
    )
}

pub fn nested_node_edge(node: &str, place: &str) -> Message {
    msg(
        Code::NestedNodeEdges,
        format!(
            "node `{node}` {place}, so it has no edges of its own; to use `{node}` elsewhere too, name that use: `node {node}2 = {node};`"
        ),
    )
}

pub fn nested_twice(node: &str) -> Message {
    msg(
        Code::NestedNodeEdges,
        format!(
            "node `{node}` runs inside a fan-out or a map, and is used again here; a node has one place in a graph, so give this use its own name: `node {node}2 = {node};`"
        ),
    )
}

pub fn error_edge_from_unknown(name: &str) -> Message {
    msg(
        Code::BadErrorEdge,
        format!(
            "`{name}` has an error edge but is not a node of this graph; add it to an edge first"
        ),
    )
}

pub fn error_edge_to_non_node() -> Message {
    msg(
        Code::BadErrorEdge,
        "an error edge leads to a handler node; point it at a node that takes the failed node's `Failed<Input, Error>`: `node !-> handler;`",
    )
}

pub fn error_edge_from_non_node() -> Message {
    msg(
        Code::BadErrorEdge,
        "an error edge starts at a node; write the node whose errors it handles first: `node !-> handler;`",
    )
}

// -- node declarations (`node name = path;`) -----------------------------------------

pub fn duplicate_node(name: &str) -> Message {
    msg(
        Code::DuplicateNode,
        format!(
            "duplicate node `{name}`: this name is already declared; give each node its own name"
        ),
    )
}

pub fn same_last_segment(name: &str, first: &str, second: &str) -> Message {
    msg(
        Code::DuplicateNode,
        format!(
            "two nodes are named `{name}` here, `{first}` and `{second}`; give one its own name: `node {name}2 = {second};`"
        ),
    )
}

pub fn reserved_name(name: &str) -> Message {
    msg(
        Code::BadAlias,
        format!("`{name}` is reserved for where runs begin and end; name the node otherwise"),
    )
}

pub fn alias_of_itself(name: &str) -> Message {
    msg(
        Code::BadAlias,
        format!("`node {name} = {name};` declares nothing; remove it"),
    )
}

pub fn unused_alias(name: &str) -> Message {
    msg(
        Code::BadAlias,
        format!("node `{name}` is declared but no edge uses it; connect it or remove it"),
    )
}

pub fn type_named_like_hook() -> Message {
    msg(
        Code::TypeNamedLikeHook,
        "`H` names the flow's hook parameter in the code `graph!` generates: write the type as a path (`self::H`), or rename it",
    )
}

// -- interrupts ----------------------------------------------------------------------

pub fn interrupt_needs_durable(name: &str) -> Message {
    msg(
        Code::MisplacedInterrupt,
        format!(
            "interrupt `{name}` needs a durable flow, whose store keeps a waiting run: add `#[flow(durable)]` to the flow"
        ),
    )
}

pub fn interrupt_inside(name: &str) -> Message {
    msg(
        Code::MisplacedInterrupt,
        format!(
            "interrupt `{name}` cannot be inside a fan-out or a map: a run waits only between steps; put it before the fan-out or after its join"
        ),
    )
}

pub fn interrupt_answer() -> Message {
    msg(
        Code::GraphSyntax,
        "expected `=>` and the answer's type: `interrupt name: Question => Answer;`",
    )
}

pub fn interrupt_error_edge(name: &str) -> Message {
    msg(
        Code::MisplacedInterrupt,
        format!("interrupt `{name}` cannot fail, so it has no error edge: remove `{name} !-> ..`"),
    )
}

// -- syntax of `graph!` --------------------------------------------------------------

pub fn expected_flow() -> Message {
    msg(
        Code::GraphSyntax,
        "expected a flow: `Name(Input) -> Output { START -> first_node; .. }`",
    )
}

pub fn expected_flow_name() -> Message {
    msg(
        Code::GraphSyntax,
        "expected the flow's name: `Name(Input) -> Output { .. }`",
    )
}

pub fn expected_flow_types() -> Message {
    msg(
        Code::GraphSyntax,
        "expected the flow's input and output types: `Name(Input) -> Output { .. }`",
    )
}

pub fn flow_two_inputs() -> Message {
    msg(
        Code::GraphSyntax,
        "a flow takes one input type; use a tuple or a struct for several values",
    )
}

pub fn tokens_after_flow() -> Message {
    msg(
        Code::GraphSyntax,
        "unexpected tokens after the flow's body; one `graph!` declares one flow",
    )
}

pub fn expected_statement() -> Message {
    msg(
        Code::GraphSyntax,
        "expected `node name = path;`, an edge `a -> b;` or a route `a => { .. }`",
    )
}

pub fn expected_arrow() -> Message {
    msg(
        Code::GraphSyntax,
        "expected `->` to an edge's target, or `=>` and a route block",
    )
}

pub fn expected_semicolon() -> Message {
    msg(Code::GraphSyntax, "expected `;` or `->` after an edge")
}

pub fn expected_endpoint() -> Message {
    msg(Code::GraphSyntax, "expected a node name, `START` or `END`")
}

pub fn expected_arm() -> Message {
    msg(
        Code::GraphSyntax,
        "expected a route arm: `Enum::Variant -> node`",
    )
}

pub fn arm_with_fields(variant: &str) -> Message {
    msg(
        Code::RouteArmFields,
        format!(
            "a route arm names the variant, and hands its one field to the node: write `{variant} -> node,`; for a variant with named fields write them in braces, `{variant} {{ field }} -> node,`"
        ),
    )
}

pub fn arm_field(field: &str) -> Message {
    msg(
        Code::RouteArmFields,
        format!(
            "a field in a route arm is handed on by its name (`{field}`) or left out (`{field}: _`, or `..` for all others); its value goes to the node, so it is not bound to another name"
        ),
    )
}

pub fn group_of_one() -> Message {
    msg(
        Code::GraphSyntax,
        "a fan-out group needs at least two branches: `(a, b)` or `{a, b}`; for one node write it without brackets",
    )
}

pub fn route_in_branch(node: &str) -> Message {
    msg(
        Code::GraphSyntax,
        format!(
            "a branch of a fan-out is a chain of nodes and cannot route: move `{node}` and its route into a flow of their own, and put that flow in the branch as a node: `split -> (Classify, other) -> join` (hooks and events still see the nodes inside it)"
        ),
    )
}

pub fn expected_map() -> Message {
    msg(Code::GraphSyntax, "expected a map: `[node; max_in_flight]`")
}

pub fn expected_map_limit() -> Message {
    msg(
        Code::GraphSyntax,
        "expected how many items may run at once: `[node; 4]`",
    )
}

pub fn bad_map_limit() -> Message {
    msg(
        Code::GraphSyntax,
        "a map's limit is how many items may run at once: a whole number of at least 1",
    )
}

// -- attributes in the wrong place ---------------------------------------------------

pub fn flow_attr_not_on_graph() -> Message {
    msg(
        Code::MisplacedAttribute,
        "`#[flow(..)]` goes on a `graph! { .. }` invocation; move it there",
    )
}

pub fn graph_attribute() -> Message {
    msg(
        Code::MisplacedAttribute,
        "`graph!` accepts doc comments and `#[flow(..)]` here; move other attributes elsewhere",
    )
}

// -- `#[node]` signatures ------------------------------------------------------------

pub fn node_not_fn() -> Message {
    msg(
        Code::NodeNotAsync,
        "`#[node]` goes on an `async fn`; put it on a free `async fn` that takes the node's input",
    )
}

pub fn node_not_async(name: &str) -> Message {
    msg(
        Code::NodeNotAsync,
        format!("`#[node]` needs an `async fn`; write `async fn {name}`"),
    )
}

pub fn node_const() -> Message {
    msg(
        Code::NodeSignature,
        "a node cannot be a `const fn`; remove `const`",
    )
}

pub fn node_extern() -> Message {
    msg(
        Code::NodeSignature,
        "a node cannot have an `extern` ABI; remove it",
    )
}

pub fn node_unsafe() -> Message {
    msg(
        Code::NodeSignature,
        "a node cannot be an `unsafe fn`; make it safe and keep `unsafe` blocks inside",
    )
}

pub fn node_variadic() -> Message {
    msg(
        Code::NodeSignature,
        "a node cannot be variadic; take one input value, e.g. a `Vec` or a struct",
    )
}

pub fn node_returns_impl_trait() -> Message {
    msg(
        Code::NodeSignature,
        "a node cannot return `impl Trait`: name the type",
    )
}

pub fn node_generic() -> Message {
    msg(
        Code::NodeGeneric,
        "a node cannot be generic: the graph needs one concrete input and output type; write a node per type, or make the input an enum",
    )
}

pub fn node_method() -> Message {
    msg(
        Code::NodeMethod,
        "`#[node]` cannot be used on a method: a node is a free `async fn`; move it out of the `impl` block and take what `self` holds as a `&T` dependency",
    )
}

pub fn node_mut_param() -> Message {
    msg(
        Code::NodeUnsupportedParam,
        "a node cannot take `&mut`: dependencies are shared by concurrent runs; take `&T` and use a `Mutex` or atomics inside",
    )
}

pub fn node_impl_trait_param() -> Message {
    msg(
        Code::NodeUnsupportedParam,
        "a node cannot take `impl Trait`: its input must be one concrete type; name the type",
    )
}

pub fn node_borrowed_input() -> Message {
    msg(
        Code::NodeUnsupportedParam,
        "a node's input cannot borrow: it is moved from node to node; use an owned type",
    )
}

pub fn node_reference_input(written: &str, owned: &str) -> Message {
    msg(
        Code::NodeReferenceInput,
        format!(
            "a node takes its input by value, and `{written}` would be read as a dependency; take `{owned}` instead"
        ),
    )
}

pub fn node_second_input() -> Message {
    msg(
        Code::NodeTwoInputs,
        "a node takes one input value, and this is a second; put the values in a struct or a tuple, or take shared values as `&T` dependencies",
    )
}

// -- attribute arguments -------------------------------------------------------------

pub fn expected_argument_name(attr: &str) -> Message {
    msg(
        Code::UnknownArgument,
        format!("expected an argument name of {attr}: `key = value` or `key(..)`"),
    )
}

/// `hint` is "did you mean `x`?" or the list of what is accepted.
pub fn unknown_argument(attr: &str, key: &str, hint: &str) -> Message {
    msg(
        Code::UnknownArgument,
        format!("unknown argument `{key}` of {attr}; {hint}"),
    )
}

pub fn duplicate_argument(key: &str) -> Message {
    msg(
        Code::UnknownArgument,
        format!("duplicate argument `{key}`; remove one of them"),
    )
}

pub fn unknown_choice(key: &str, name: &str, hint: &str) -> Message {
    msg(
        Code::UnknownArgument,
        format!("unknown `{key}` `{name}`; {hint}"),
    )
}

pub fn unknown_backoff(name: &str, hint: &str) -> Message {
    msg(
        Code::UnknownArgument,
        format!("unknown backoff `{name}`; {hint}"),
    )
}

pub fn retry_without_attempts() -> Message {
    msg(
        Code::MissingArgument,
        "`retry` needs `attempts`: how many times to call the node at most, e.g. `retry(attempts = 3)`",
    )
}

pub fn breaker_incomplete() -> Message {
    msg(
        Code::MissingArgument,
        "`circuit_breaker` needs `failures` (how many in a row open it) and `cool_down` (how long it stays open), e.g. `circuit_breaker(failures = 5, cool_down = 30s)`",
    )
}

pub fn expected_list(example: &str) -> Message {
    msg(
        Code::BadArgumentType,
        format!("this argument takes a list; write `{example}`"),
    )
}

/// `hint` starts with "; " and says what to write.
pub fn not_a_whole_number(key: &str, found: &str, hint: &str) -> Message {
    msg(
        Code::BadArgumentType,
        format!("`{key}` takes a whole number, found {found}{hint}"),
    )
}

pub fn number_suffix(key: &str, suffix: &str) -> Message {
    msg(
        Code::BadArgumentType,
        format!("`{key}` takes a plain whole number; remove the suffix `{suffix}`"),
    )
}

pub fn number_too_large(key: &str) -> Message {
    msg(
        Code::BadArgumentType,
        format!("`{key}` must fit in a `u32`; write a smaller number"),
    )
}

pub fn not_a_number(key: &str, found: &str) -> Message {
    msg(
        Code::BadArgumentType,
        format!("{key} takes a number such as `2.0`, found {found}"),
    )
}

pub fn not_a_string(key: &str, found: &str) -> Message {
    msg(
        Code::BadArgumentType,
        format!("`{key}` takes a string, found {found}; write `{key} = \"...\"`"),
    )
}

pub fn duration_in_quotes(key: &str, value: &str) -> Message {
    msg(
        Code::BadArgumentType,
        format!(
            "`{key}` takes a duration literal, not a string; remove the quotes: `{key} = {value}`"
        ),
    )
}

pub fn not_a_duration(key: &str, found: &str, units: &str) -> Message {
    msg(
        Code::BadArgumentType,
        format!("`{key}` takes a duration such as `30s`, found {found}; units: {units}"),
    )
}

pub fn duration_not_a_number(key: &str) -> Message {
    msg(
        Code::BadArgumentType,
        format!("`{key}` is not a number; write a duration such as `30s`"),
    )
}

pub fn duration_too_long(key: &str) -> Message {
    msg(
        Code::BadArgumentType,
        format!("`{key}` is too long; write at most a few years"),
    )
}

pub fn not_a_choice(key: &str, listed: &str) -> Message {
    msg(
        Code::BadArgumentType,
        format!("`{key}` takes one of {listed}"),
    )
}

pub fn not_a_rate(found: &str) -> Message {
    msg(
        Code::BadArgumentType,
        format!("`rate_limit` takes a rate such as `10/s`, `100/m` or `5/30s`, found {found}"),
    )
}

pub fn zero_rate() -> Message {
    msg(
        Code::PolicyContradiction,
        "a `rate_limit` of 0 calls would let no call through; allow at least 1, e.g. `rate_limit = 1/s`",
    )
}

pub fn not_a_backoff(shapes: &str) -> Message {
    msg(Code::BadArgumentType, format!("`backoff` takes {shapes}"))
}

pub fn backoff_arguments(name: &str, shapes: &str) -> Message {
    msg(
        Code::BadArgumentType,
        format!("wrong arguments for `{name}`; write {shapes}"),
    )
}

pub fn backoff_cap() -> Message {
    msg(Code::BadArgumentType, "write the cap as `max = 5s`")
}

pub fn duration_without_unit(key: &str, digits: &str, units: &str) -> Message {
    msg(
        Code::DurationWithoutUnit,
        format!("`{key}` needs a unit: write `{digits}s` or `{digits}ms` (units: {units})"),
    )
}

pub fn unknown_unit(key: &str, unit: &str, units: &str) -> Message {
    msg(
        Code::DurationWithoutUnit,
        format!("unknown unit `{unit}` in `{key}`; use {units}"),
    )
}

pub fn below_minimum(key: &str, min: u32, found: u32) -> Message {
    msg(
        Code::PolicyContradiction,
        format!("`{key}` must be at least {min}, found {found}; write `{key} = {min}` or more"),
    )
}

pub fn not_positive(key: &str) -> Message {
    msg(
        Code::PolicyContradiction,
        format!("{key} must be a number greater than zero, e.g. `2.0`"),
    )
}

pub fn zero_duration(key: &str) -> Message {
    msg(
        Code::PolicyContradiction,
        format!("`{key}` must be greater than zero; write a duration such as `30s`"),
    )
}

pub fn shrinking_backoff() -> Message {
    msg(
        Code::PolicyContradiction,
        "the factor of an exponential backoff must be at least 1.0, or delays would shrink; e.g. `exponential(200ms, 2.0, max = 5s)`",
    )
}

pub fn backoff_cap_too_short() -> Message {
    msg(
        Code::PolicyContradiction,
        "`max` is shorter than the first delay; the delays grow from the first up to `max`",
    )
}

pub fn cool_down_cap_too_short() -> Message {
    msg(
        Code::PolicyContradiction,
        "`max_cool_down` is shorter than `cool_down`; the cool-down grows from `cool_down` up to `max_cool_down`",
    )
}

// -- derives -------------------------------------------------------------------------

pub fn merge_not_struct() -> Message {
    msg(
        Code::DeriveNotStruct,
        "`#[derive(Merge)]` needs a struct; for an enum, implement `Merge` by hand",
    )
}

pub fn deps_not_struct() -> Message {
    msg(
        Code::DeriveNotStruct,
        "`#[derive(Deps)]` needs a struct; make each dependency a field of a struct",
    )
}

pub fn two_strategies() -> Message {
    msg(
        Code::MergeUnknownStrategy,
        "a field has one merge strategy; remove all but one",
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// One call of every message function, with arguments such as the stages pass.
    fn samples() -> Vec<Message> {
        let mut all = samples_graph();
        all.extend(samples_syntax_and_nodes());
        all.extend(samples_arguments());
        all
    }

    fn samples_graph() -> Vec<Message> {
        vec![
            unknown_node("a", "b"),
            unreachable_node("a"),
            dead_end("a"),
            loop_never_ends(),
            missing_entry("Essay", "b"),
            second_route("a"),
            second_successor("a", "b"),
            route_after_edge("a", "b"),
            second_entry("b"),
            second_error_edge("a"),
            duplicate_edge("a", "b"),
            duplicate_arm("Verdict::Accept", "b"),
            empty_route("a"),
            edge_out_of_end("edge"),
            start_as_target(),
            start_routes(),
            start_to_end(),
            group_at_chain_end(),
            nested_node_edge("a", "is a branch of a fan-out: its output goes to the join"),
            nested_twice("a"),
            error_edge_from_unknown("a"),
            error_edge_to_non_node(),
            error_edge_from_non_node(),
            duplicate_node("a"),
            reserved_name("a"),
            alias_of_itself("a"),
            unused_alias("a"),
            type_named_like_hook(),
            interrupt_needs_durable("review"),
            interrupt_inside("review"),
            interrupt_error_edge("review"),
            interrupt_answer(),
            expected_flow(),
            expected_flow_name(),
            expected_flow_types(),
            flow_two_inputs(),
        ]
    }

    fn samples_syntax_and_nodes() -> Vec<Message> {
        vec![
            tokens_after_flow(),
            expected_statement(),
            expected_arrow(),
            expected_semicolon(),
            expected_endpoint(),
            expected_arm(),
            group_of_one(),
            route_in_branch("classify"),
            arm_with_fields("Verdict::Revise"),
            arm_field("draft"),
            expected_map(),
            expected_map_limit(),
            bad_map_limit(),
            flow_attr_not_on_graph(),
            graph_attribute(),
            node_not_fn(),
            node_not_async("a"),
            node_const(),
            node_extern(),
            node_unsafe(),
            node_variadic(),
            node_returns_impl_trait(),
            node_generic(),
            node_method(),
            node_mut_param(),
            node_impl_trait_param(),
            node_borrowed_input(),
            node_second_input(),
            expected_argument_name("`#[flow]`"),
            unknown_argument("`#[flow]`", "max_steps", "did you mean `x`?"),
            duplicate_argument("max_steps"),
            unknown_choice("max_steps", "a", "did you mean `x`?"),
            unknown_backoff("a", "did you mean `x`?"),
            retry_without_attempts(),
            breaker_incomplete(),
        ]
    }

    fn samples_arguments() -> Vec<Message> {
        vec![
            expected_list("retry(attempts = 3)"),
            not_a_whole_number("max_steps", "a string", "; write `max_steps = 3`"),
            number_suffix("max_steps", "u8"),
            number_too_large("max_steps"),
            not_a_number("max_steps", "a string"),
            not_a_string("max_steps", "a string"),
            duration_in_quotes("max_steps", "30s"),
            not_a_duration("max_steps", "a string", "`ms`, `s`, `m` or `h`"),
            duration_not_a_number("max_steps"),
            duration_too_long("max_steps"),
            not_a_choice("max_steps", "`none`, `full`"),
            not_a_backoff("`constant(1s)`"),
            backoff_arguments("a", "`constant(1s)`"),
            backoff_cap(),
            duration_without_unit("max_steps", "30", "`ms`, `s`, `m` or `h`"),
            unknown_unit("max_steps", "d", "`ms`, `s`, `m` or `h`"),
            below_minimum("max_steps", 1, 0),
            not_positive("max_steps"),
            zero_duration("max_steps"),
            shrinking_backoff(),
            backoff_cap_too_short(),
            cool_down_cap_too_short(),
            step_limit_too_low(3, 5),
            flow_named_like_node("Essay"),
            node_reference_input("&str", "String"),
            same_last_segment("write", "draft::write", "edit::write"),
            not_a_rate("a literal"),
            zero_rate(),
            merge_not_struct(),
            deps_not_struct(),
            two_strategies(),
        ]
    }

    fn root() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// Every message function is sampled (so the style checks below see it), and every
    /// code the macros report has at least one message.
    #[test]
    fn every_message_is_sampled_and_every_code_has_one() {
        let source = std::fs::read_to_string(
            Path::new(file!())
                .strip_prefix("flow-macros")
                .unwrap_or(Path::new(file!())),
        )
        .or_else(|_| std::fs::read_to_string(root().join("flow-macros/src/diag/catalogue.rs")))
        .expect("catalogue.rs");
        let functions = source
            .split("pub fn ")
            .skip(1)
            .filter(|f| {
                f.lines()
                    .next()
                    .is_some_and(|sig| sig.contains("-> Message"))
            })
            .count();
        assert_eq!(samples().len(), functions, "sample every message function");
        let sampled: Vec<Code> = samples().iter().map(|m| m.code).collect();
        for code in Code::ALL.iter().filter(|c| c.by_macros()) {
            assert!(
                sampled.contains(code),
                "no message has the code `{}`",
                code.name()
            );
        }
        for code in &sampled {
            assert!(
                code.by_macros(),
                "`{}` is reported by rustc, not by a message",
                code.name()
            );
        }
    }

    /// What is wrong, then how to fix it: lowercase, no trailing period, a fix after `;`
    /// or `:` (or a suggestion), and no name of the machinery.
    #[test]
    fn every_message_follows_the_style() {
        for m in samples() {
            let text = m.to_string();
            let first = text.chars().next().unwrap_or(' ');
            assert!(
                first.is_lowercase() || first == '`',
                "starts lowercase: {text}"
            );
            assert!(!text.ends_with('.'), "no trailing period: {text}");
            assert!(
                text.starts_with("expected ")
                    || text.starts_with("write ")
                    || text.contains("e.g. ")
                    || text.contains("; ")
                    || text.contains(": ")
                    || text.ends_with('?')
                    || text.contains(" takes "),
                "says how to fix it: {text}"
            );
            assert!(!text.contains("__"), "names no machinery: {text}");
        }
    }

    /// The catalogue, the compile-fail cases and the docs' error catalogue list the same codes.
    #[test]
    fn every_code_has_a_case_and_a_docs_entry() {
        let root = root();
        let docs = std::fs::read_to_string(root.join("docs/errors.md")).expect("docs/errors.md");
        for code in Code::ALL {
            let code = code.name();
            let case = root.join(format!("ui-tests/tests/fail/{code}.rs"));
            assert!(
                case.exists(),
                "no compile-fail case for `{code}`: {}",
                case.display()
            );
            assert!(
                case.with_extension("stderr").exists(),
                "no reviewed .stderr for `{code}`"
            );
            assert!(
                docs.contains(&format!("<a id=\"{code}\"></a>")),
                "docs/errors.md has no entry for `{code}`"
            );
        }
        let cases =
            std::fs::read_dir(root.join("ui-tests/tests/fail")).expect("ui-tests/tests/fail");
        for entry in cases.filter_map(Result::ok) {
            let file = entry.file_name().to_string_lossy().into_owned();
            if let Some(case) = file.strip_suffix(".rs") {
                assert!(
                    Code::ALL.iter().any(|c| c.name() == case),
                    "ui-tests/tests/fail/{file} is not a code of the catalogue"
                );
            }
        }
    }

    /// No stage builds an error from a bare string: every message comes from here.
    #[test]
    fn stages_report_only_catalogue_messages() {
        let src = root().join("flow-macros/src");
        let mut files = vec![src.clone()];
        let mut offenders = Vec::new();
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(
                    std::fs::read_dir(&path)
                        .expect("dir")
                        .filter_map(|e| e.ok().map(|e| e.path())),
                );
                continue;
            }
            let name = path.to_string_lossy().into_owned();
            if !name.ends_with(".rs")
                || name.ends_with("catalogue.rs")
                || name.ends_with("tests.rs")
            {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("source");
            for call in [
                ".error(",
                ".error_spanned(",
                "Error::new(",
                "Error::new_spanned(",
            ] {
                for (at, _) in text.match_indices(call) {
                    let args = call_args(&text[at + call.len()..]);
                    if args.contains('"') || args.contains("format!") {
                        offenders.push(format!("{name}: {call}{args})"));
                    }
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "messages outside the catalogue:\n{}",
            offenders.join("\n")
        );
    }

    /// The text of a call's arguments, up to its closing parenthesis.
    fn call_args(rest: &str) -> &str {
        let mut depth = 0usize;
        let mut in_str = false;
        let mut escaped = false;
        for (i, c) in rest.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if in_str => escaped = true,
                '"' => in_str = !in_str,
                '(' | '[' | '{' if !in_str => depth += 1,
                ')' | ']' | '}' if !in_str => {
                    if depth == 0 {
                        return &rest[..i];
                    }
                    depth -= 1;
                }
                _ => {}
            }
        }
        rest
    }
}
