#!/usr/bin/env python3
"""Regenerates docs/errors.md from the compile-fail cases and their reviewed .stderr files.

Run from the repository root after adding a code to the `codes!` list of
flow-macros/src/diag/catalogue.rs,
its ui-tests/tests/fail/<code>.rs case and .stderr, and its entry in FIXES below:

    python3 scripts/gen-error-docs.py

The wrong code and the messages come from the case and its .stderr, so they cannot drift;
what each mistake is and how to fix it is written here.
"""
import re
FIXES = {
"unknown_node": ("An edge names a node that is not in the graph, and a node with a similar name is.", "Correct the name: `START -> outline -> review;`."),
"node_not_in_scope": ("An edge names something that is not defined or imported at all; rustc reports it, with similar names in scope.", "Write the node (`#[node] async fn summarize(..)`), import it with `use`, or fix the name."),
"not_a_node": ("A name in the graph is a type, but not a node. rustc reports it once, on the name, and lists the nodes in scope.", "Put `#[node]` on an `async fn` of that name, or use the node you meant."),
"edge_type_mismatch": ("`a -> b`, but `b`'s input type is not what `a` returns.", "Make the types agree: change `count` to take `String`, or put a node between them that converts."),
"route_missing_variant": ("A route block does not handle every variant of the enum its node returns; rustc names the missing ones, on the route block (the check is rustc's exhaustiveness check, whose text no library can set, so the arm to add is written here, not in the message).", "Add an arm per missing variant: `Verdict::Reject -> log,`."),
"route_arm_type_mismatch": ("A route arm sends a variant's payload to a node that takes another type.", "Make the target take the payload type, or route the variant elsewhere."),
"route_not_enum": ("A node is routed with `=>` but returns a type that is not the enum whose variants the arms name; the error names the type it returns.", "Route only nodes that return an enum, with that enum's variants; use `->` for a node with one successor."),
"route_unknown_variant": ("A route arm names a variant the enum does not have; rustc suggests the closest one.", "Fix the variant's name."),
"unreachable_node": ("No path from `START` leads to a node: it would never run.", "Add an edge into it (`a -> c;`) or remove it. Only the first node of an unreachable part is reported."),
"dead_end": ("A node has no edge, no route and no edge to `END`: a run reaching it would have nowhere to go.", "Add `c -> END;`, an edge to another node, or a route."),
"ambiguous_edge": ("A node has two plain successors (or an edge and a route, or two routes, or two `START` edges).", "Keep one edge; to choose a successor at run time, return an enum and route it."),
"duplicate_edge": ("The same edge (or the same route arm) is written twice.", "Remove one of them."),
"loop_never_ends": ("A cycle in which no node leads to `END`: every run that enters it would spin until the step limit.", "Give a node in the loop a way out, e.g. return an enum and route one variant to `END`."),
"flow_input_mismatch": ("The flow's input type is not the input type of its entry node.", "Change the flow's input type in the header, or start at a node that takes it."),
"flow_output_mismatch": ("A node sends a value to `END` whose type is not the flow's output type.", "Change the output type in the header, or route that node to a node that converts its value."),
"node_not_async": ("`#[node]` is on a plain `fn`.", "Write `async fn`."),
"node_method": ("`#[node]` is on a method that takes `self`.", "Make it a free `async fn` and take what `self` held as a `&T` dependency of the flow."),
"node_unsupported_param": ("A node takes `&mut T` or `impl Trait`.", "Dependencies are shared by concurrent runs: take `&T` and use a `Mutex` or atomics. Replace `impl Trait` by a concrete type."),
"node_two_inputs": ("A node takes two values by value; a node has one input, the value its predecessor returns.", "Put the values in a struct or tuple, or take shared values as `&T` dependencies."),
"node_generic": ("A node has generic parameters; the graph needs one concrete input and output type per node.", "Write one node per type, or take an enum."),
"bad_argument_type": ("An argument of `#[flow(..)]` or of a node's policies in `#[node(..)]` has a value of the wrong kind.", "Write the value as the message shows: `max_steps = 50`, `name = \"essay\"`, `attempts = 3`, `concurrency = 2`."),
"duration_without_unit": ("A duration argument, of the flow or of a node's policies, is a bare number or has a unit that does not exist.", "Add a unit: `30s`, `200ms`, `5m` or `1h`; `constant(200ms)`."),
"unknown_argument": ("An attribute argument, a policy, a setting of a policy or a jitter mode is not one the macro knows (or is given twice); the closest known one is suggested.", "Fix the name: `max_steps`, `deps`, `retry`, `backoff`, `jitter = full`."),
"step_limit_too_low": ("The flow's `max_steps` is below the number of steps of its shortest path from `START` to `END`, so every run would stop at the limit.", "Raise `max_steps` to at least the number the message names, or shorten the path."),
"flow_named_like_node": ("The flow has the name of one of its nodes; both are types, so they would clash.", "Rename the flow (`SummaryFlow`), or the node."),
"node_reference_input": ("A node takes a reference to an unsized type (`&str`, `&[T]`, `&Path`, `&dyn Trait`), which reads as a dependency; a node takes its input by value.", "Take the owned type: `String`, `Vec<T>`, `PathBuf`, `Box<dyn Trait>`."),
"missing_argument": ("A policy lacks a setting it cannot do without: `retry` needs `attempts`, `circuit_breaker` needs `failures` and `cool_down`.", "Add it: `retry(attempts = 3)`, `circuit_breaker(failures = 5, cool_down = 30s)`."),
"misplaced_start": ("`START` is used other than as the beginning of the one entry edge: as a target, as the source of a route, or straight to `END`.", "Write `START -> first_node;` once, and leave `START` out of other edges."),
"bad_error_edge": ("An error edge (`node !-> handler;`) starts at something that is not a node of the graph, or leads to `END`, `START`, a group or a map.", "Lead it from a node of the graph to a handler node that takes `Failed<Input, Error>`: `fetch !-> fallback;`."),
"bad_alias": ("A node declaration (`node name = path;`) is unused, names a node by its own name, or takes the name `START` or `END`.", "Use the declared name in an edge, or remove the declaration."),
"graph_syntax": ("`graph!` cannot read its input: the header (`Name(Input) -> Output { .. }`), a statement, a fan-out group or a map is not written as the DSL expects.", "Write it as the message shows; each statement ends with `;`, and `=>` starts a route block: `review => { Verdict::Accept -> END }`."),
"misplaced_attribute": ("`#[flow(..)]` is not on a `graph!` invocation, or `graph!` carries an attribute other than doc comments and `#[flow(..)]`.", "Put `#[flow(..)]` on the `graph!` invocation (or inside it, above the header) and other attributes elsewhere."),
"node_signature": ("A node is an `unsafe`, `const`, `extern` or variadic function, or returns `impl Trait`.", "Make it a plain `async fn` returning a named type; keep `unsafe` blocks inside its body."),
"derive_not_struct": ("`#[derive(Merge)]` or `#[derive(Deps)]` is on an enum or a union.", "Derive it on a struct; for an enum, implement `Merge` by hand."),
"duplicate_node": ("Two `node name = path;` declarations use the same name. Two nodes named by paths with the same last segment, `START -> draft::write -> edit::write -> END;`, are the same mistake (a node's name in the graph is its path's last segment): \"two nodes are named `write` here, `draft::write` and `edit::write`; give one its own name: `node write2 = edit::write;`\" (case `tests/fail/shapes/node_paths_same_name.rs`).", "Give each node its own name; for nodes named by paths, declare an alias: `node write2 = edit::write;`."),
"missing_entry": ("The flow has no `START ->` edge, so no run could begin.", "Add `START -> first_node;`."),
"edge_out_of_end": ("An edge leaves `END` (or `START` is a target, or `START -> END`, or an alias is named `START`/`END`).", "Remove the edge: a run stops at `END`, and begins at `START` only."),
"missing_dependency": ("A node takes `&T`, and the flow's dependencies type does not provide a `T`. The error is on the node in the graph; a note quotes the node's function with its `&T` parameter labelled.", "Add a field of type `T` to the dependencies struct with `#[derive(Deps)]`, or implement `Provides<T>` for it."),
"empty_route": ("A route block has no arms.", "Add one arm per variant of the node's output enum."),
"join_type_mismatch": ("The node after a fan-out group does not take the tuple of the branches' outputs, in the order the branches are written.", "Make the join take `(A, B, ..)`, the outputs of the branches in order: here `(u32, String)`."),
"error_handler_type_mismatch": ("The handler of an error edge does not take `Failed<Input, Error>` of the failing node.", "Make the handler take `typedflow::Failed<String, ParseIntError>`: the input the node failed on, and its error."),
"fan_value_not_clone": ("A value fanned out to several branches is cloned for each, and its type is not `Clone`.", "Derive `Clone` on the type, or wrap it in an `Arc`."),
"error_edge_input_not_clone": ("A node with an error edge keeps a copy of its input for the handler, and the input type is not `Clone`.", "Derive `Clone` on the input type, or remove the error edge."),
"map_not_collection": ("The node before a map `[worker; N]` does not return a collection of the worker's input.", "Return a `Vec` (or any `IntoIterator`) of the worker's input type."),
"nested_node_edges": ("A node inside a fan-out group or a map has edges of its own; its output goes to the join or the collected results.", "Remove the edge, or give the other use its own name: `node double2 = double;`."),
"handler_output_mismatch": ("The handler of a branch's or a mapped node's error edge takes its place, so it must return what that node returns.", "Make the handler return the failed node's output type (here `u32`)."),
"subgraph_type_mismatch": ("A flow used as a node of another flow is typed like any node: its input type is the flow's input type.", "Make the node before it return the inner flow's input type (here `String`)."),
"merge_state_not_merge": ("Branches joined with `{a, b}` are merged into one state, and the state type does not implement `Merge`.", "Derive it: `#[derive(Merge)]`, with a `#[merge(..)]` strategy on fields that should not simply be overwritten; or join with `(a, b)` and take the tuple."),
"merge_field_not_comparable": ("A field of a `#[derive(Merge)]` state names no strategy, so it is merged three ways against the state before the fan-out, and its type cannot be compared (`PartialEq`) to tell which branch changed it.", "Give the field a strategy (`#[merge(overwrite)]`, `#[merge(append)]`, ..) or implement `PartialEq` for its type."),
"merge_unknown_strategy": ("A `#[merge(..)]` attribute names a strategy that does not exist, or more than one.", "Use one of `overwrite`, `keep_first`, `append`, `max`, `min`, `with = path`."),
"policy_contradiction": ("Settings that cannot work together: no attempts at all, a backoff that shrinks, a cap below the first delay, a longest cool-down below the first.", "`attempts` of at least 1, an exponential factor of at least 1.0, `max` at least the first delay, `max_cool_down` at least `cool_down`."),
"retry_error_not_retryable": ("A node with `retry(..)` returns an error type that does not say whether to retry.", "Implement `typedflow::Retryable` for the error (the defaults retry every error; override `is_retryable` and `retry_after` to be precise), or remove `retry(..)`."),
"misplaced_group": ("A fan-out group or a map ends (or starts) a chain: it needs a node before it and the node that takes its results after it.", "Write it in the middle of a chain: `split -> (a, b) -> join;`, `split -> [work; 4] -> collect;`."),
"route_on_value": ("A route block matches values (`true -> a`) instead of the variants of an enum the node returns; the error, on the first value, names the type the node returns.", "Return an enum from the node (`enum Check { Pass(String), Fail(String) }`) and route its variants: `Check::Pass -> publish,`."),
"route_unit_variant": ("A route arm names a unit variant (one without fields) as it names a variant with one field, `Verdict::Done -> END`. The arm's pattern is chosen when the macro expands, and only rustc knows the variant's shape, so rustc reports it, and its suggestion, to write the path alone, changes nothing in a graph.", "Write the variant with empty braces: `Verdict::Done {} -> END,`; it hands `()` on, so the target is `END` of a flow returning `()` or a node taking `()`."),
"route_struct_variant": ("A route arm names a variant with named fields without writing them, `Verdict::Revise -> revise`; rustc reports it (the macro cannot know the variant's shape).", "Write the fields to hand on in braces: `Verdict::Revise { draft } -> revise,` (several go on as a tuple). rustc's suggestion, `Verdict::Revise { draft: _ }`, is also accepted, and hands on no field."),
"route_arm_fields": ("A route arm writes the variant's payload in parentheses (`Verdict::Revise(draft)`), as in a `match`; an arm names the variant, and its one field goes to the target node. Binding a named field to another name, `Verdict::Revise { draft: d }`, is the same mistake: \"a field in a route arm is handed on by its name (`draft`) or left out (`draft: _`, or `..` for all others); its value goes to the node, so it is not bound to another name\".", "Write `Verdict::Revise -> revise,`. For a variant with named fields, write the fields in braces: `Verdict::Revise { draft } -> revise,` (several fields go on as a tuple; `Verdict::Done {} -> END,` for a unit variant)."),
"node_not_send": ("A node holds a value that is not `Send` (an `Rc`, a `RefCell` borrow, a std `MutexGuard`) across an `.await`, so the flow's run could not move between threads; a flow's run is `Send` unless declared `#[flow(local)]`. rustc's note under the error points at the value and the `.await` in the node.", "Drop the value before the `.await`, or use a `Send` type (`Arc`, tokio's `Mutex`); for a flow run on one thread only, write `#[flow(local)]` on its `graph!`."),
}
# The texts written in docs/errors.md are kept (they may have been edited there since);
# FIXES gives those of codes not yet documented.
def documented():
    found = {}
    try:
        doc = open('docs/errors.md').read()
    except FileNotFoundError:
        return found
    for part in doc.split('<a id="')[1:]:
        code = part.split('"', 1)[0]
        paras = part.split('\n\n')
        fix = [p for p in paras if p.startswith('**Fix:** ')]
        if len(paras) > 1 and fix:
            found[code] = (paras[1], fix[0][len('**Fix:** '):].rstrip())
    return found
DOCUMENTED = documented()
s=open('flow-macros/src/diag/catalogue.rs').read()
i=s.index('codes! {')
cat = re.findall(r'= "([a-z_]+)",', s[i:].split('\n}\n')[0])
out = ["# Compile errors", "",
"Every mistake the macros catch: the wrong code, what the compiler says, and the fix.",
"Structural mistakes are reported by the macros, all of them at once, in the same build as",
"any name rustc cannot find; each reads `error[E0277]: <what is wrong>`, with the fix under",
"your token and a help line naming the rule by its code (\"the trait `NoDeadEnd` is not",
"implemented for `c`\", with the node's function). Type mistakes are reported by rustc, through checks placed on",
"your tokens. Below, `^` starts the text under the token. Each entry is a compile-fail case in",
"`ui-tests/tests/fail/` whose full output is checked in beside it (`<name>.stderr`), and",
"each example below is compiled as a doctest that must fail.",
""]
for code in cat:
    what, fix = DOCUMENTED.get(code) or FIXES[code]
    src = open(f'ui-tests/tests/fail/{code}.rs').read().rstrip()
    err = open(f'ui-tests/tests/fail/{code}.stderr').read()
    msgs = []
    label = False
    for line in err.splitlines():
        m = re.match(r'^error(\[E\d+\])?: (.*)$', line)
        if m:
            label = m.group(2) not in msgs
            if label:
                msgs.append(m.group(2))
            continue
        # The first label under the headline: where a mistake of ours says how to fix it.
        m = re.match(r'^\s*\d*\s*\|\s*\^+ (.*)$', line)
        if m and label:
            msgs.append('^ ' + m.group(1))
            label = False
    out += [f'<a id="{code}"></a>', f'## `{code}`', "", what, "", "```compile_fail", src, "```", "",
            "The compiler says:", "", "```text", *msgs, "```", "", f"**Fix:** {fix}", ""]
open('docs/errors.md','w').write("\n".join(out))
print(len(cat), "entries")
