//! Unit tests of the stages: every expected message and their count, no panic on odd
//! input, and snapshots of the expansions (parsed back with syn, so invalid output fails).

use proc_macro2::TokenStream;
use quote::quote;

use crate::diag::Diagnostics;
use crate::parse::args::FlowArgs;

/// Runs parse -> resolve -> validate and returns every message.
fn messages(tokens: TokenStream) -> Vec<String> {
    let mut cx = Diagnostics::default();
    match crate::parse::graph::parse_graph(&mut cx, tokens) {
        Ok(input) => {
            let graph = crate::model::resolve(&mut cx, input, FlowArgs::default());
            crate::validate::all(&mut cx, &graph);
        }
        Err(err) => cx.push(err),
    }
    cx.messages()
}

fn pretty(tokens: TokenStream) -> String {
    let file: syn::File = syn::parse2(tokens).expect("the expansion parses as a file");
    prettyplease::unparse(&file)
}

#[test]
fn a_valid_graph_has_no_messages() {
    let msgs = messages(quote! {
        Essay(Topic) -> Draft {
            START -> outline -> write -> review;
            review => { Verdict::Revise -> write, Verdict::Accept -> END }
        }
    });
    assert_eq!(msgs, Vec::<String>::new());
}

#[test]
fn structural_errors_are_collected_together() {
    let msgs = messages(quote! {
        Broken(u32) -> u32 {
            START -> a -> b;
            a -> c;
            d -> END;
            e -> f;
            f -> e;
            END -> g;
        }
    });
    assert_eq!(
        msgs,
        [
            "`END` has no successors: a run stops there; remove this edge",
            "ambiguous edge: `a` already goes to `b`; a node has one successor, so to choose at run time return an enum and route it: `a => { .. }`",
            "node `d` is unreachable: no path from `START` leads to it; add an edge to it or remove it",
            "node `e` is unreachable: no path from `START` leads to it; add an edge to it or remove it",
            "node `b` has no way on; add an edge from it (`b -> next;` or `b -> END;`) or a route (`b => { .. }`)",
            "node `c` has no way on; add an edge from it (`c -> next;` or `c -> END;`) or a route (`c => { .. }`)",
        ]
    );
}

#[test]
fn a_typo_is_one_error_and_the_graph_reads_on() {
    let msgs = messages(quote! {
        Essay(Topic) -> Draft {
            START -> outline -> reviw;
            review => { Verdict::Revise -> outline, Verdict::Accept -> END }
        }
    });
    assert_eq!(msgs, ["unknown node `reviw`; did you mean `review`?"]);
}

#[test]
fn loops_without_exit_are_reported_on_the_back_edge() {
    let msgs = messages(quote! {
        Spin(u32) -> u32 {
            START -> a -> b -> c;
            c -> a;
        }
    });
    assert_eq!(
        msgs,
        [
            "this loop never ends: no node in it leads to `END`; give one of its nodes a way out, e.g. a route arm to `END`"
        ]
    );
    // A loop with a way out is fine.
    assert!(
        messages(quote! {
            Spin(u32) -> u32 {
                START -> a -> b;
                b => { Next::More -> a, Next::Done -> END }
            }
        })
        .is_empty()
    );
}

#[test]
fn entry_rules() {
    assert_eq!(
        messages(quote!(F(u32) -> u32 { a -> END; })),
        ["flow `F` has no entry; add `START -> a;` to say which node runs first"]
    );
    assert_eq!(
        messages(quote!(F(u32) -> u32 { START -> a -> END; START -> b -> END; })).len(),
        1
    );
    assert_eq!(
        messages(quote!(F(u32) -> u32 { START -> END; })),
        [
            "`START -> END` runs no node; `START` must lead to the first node",
            "flow `F` has no entry; add `START -> first_node;` to say which node runs first"
        ]
    );
}

#[test]
fn syntax_errors_do_not_hide_later_statements() {
    let msgs = messages(quote! {
        F(u32) -> u32 {
            START -> a -> ;
            START -> b -> END;
            c -> END;
        }
    });
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert_eq!(msgs[0], "expected a node name, `START` or `END`");
    assert!(msgs[1].starts_with("node `c` is unreachable"), "{msgs:?}");
}

#[test]
fn flow_arguments_report_every_bad_value() {
    let mut cx = Diagnostics::default();
    let mut args = FlowArgs::default();
    crate::parse::args::parse_flow_args(
        &mut cx,
        quote!(max_steps = 0, timeout = 30, timeout = 1s, name = "x", nme = "y", deps = Vec<u8>),
        &mut args,
    );
    assert_eq!(
        cx.messages(),
        [
            "`max_steps` must be at least 1, found 0; write `max_steps = 1` or more",
            "`timeout` needs a unit: write `30s` or `30ms` (units: `ms`, `s`, `m` or `h`)",
            "duplicate argument `timeout`; remove one of them",
            "unknown argument `nme` of `#[flow]`; did you mean `name`?",
        ]
    );
    assert_eq!(args.name.map(|n| n.value()).as_deref(), Some("x"));
    assert!(args.deps.is_some());
}

#[test]
fn durations() {
    let read = |tokens: TokenStream| {
        let mut cx = Diagnostics::default();
        let expr: syn::Expr = syn::parse2(tokens).unwrap();
        let d = crate::parse::value::read_duration(&mut cx, "timeout", &expr);
        (d.map(|d| (d.secs, d.nanos)), cx.messages())
    };
    assert_eq!(read(quote!(200ms)), (Some((0, 200_000_000)), vec![]));
    assert_eq!(read(quote!(30s)), (Some((30, 0)), vec![]));
    assert_eq!(read(quote!(5m)), (Some((300, 0)), vec![]));
    assert_eq!(read(quote!(2h)), (Some((7200, 0)), vec![]));
    assert_eq!(read(quote!(1.5s)), (Some((1, 500_000_000)), vec![]));
    assert_eq!(
        read(quote!(0s)).1,
        ["`timeout` must be greater than zero; write a duration such as `30s`"]
    );
    assert_eq!(
        read(quote!(3days)).1,
        ["unknown unit `days` in `timeout`; use `ms`, `s`, `m` or `h`"]
    );
    assert_eq!(
        read(quote!("30s")).1,
        ["`timeout` takes a duration literal, not a string; remove the quotes: `timeout = 30s`"]
    );
    // A backoff's delays may be zero: retry at once.
    let mut cx = Diagnostics::default();
    let zero: syn::Expr = syn::parse2(quote!(0ms)).unwrap();
    let d = crate::parse::value::read_delay(&mut cx, "constant", &zero);
    assert_eq!(
        (d.map(|d| (d.secs, d.nanos)), cx.messages()),
        (Some((0, 0)), vec![])
    );
    let mut cx = Diagnostics::default();
    let args = crate::parse::args::parse_node_args(
        &mut cx,
        quote!(retry(attempts = 3, backoff = linear(0ms, 0s)), timeout = 1s),
    );
    assert_eq!(cx.messages(), Vec::<String>::new());
    assert!(args.retry.is_some());
    // `max_retry_after` may be zero too: no hint is waited for.
    let mut cx = Diagnostics::default();
    let args = crate::parse::args::parse_node_args(
        &mut cx,
        quote!(retry(attempts = 2, max_retry_after = 0s, max_elapsed = 1m)),
    );
    assert_eq!(cx.messages(), Vec::<String>::new());
    let retry = args.retry.expect("a retry policy");
    assert_eq!(
        retry.max_retry_after.map(|d| (d.secs, d.nanos)),
        Some((0, 0))
    );
    assert_eq!(retry.max_elapsed.map(|d| d.secs), Some(60));
}

#[test]
fn odd_input_never_panics() {
    for tokens in [
        quote!(),
        quote!(F),
        quote!(F(u32)),
        quote!(F(u32) -> u32),
        quote!(F(u32, u64) -> u32 {}),
        quote!(F(u32) -> u32 {}),
        quote!(F(u32) -> u32 { => }),
        quote!(F(u32) -> u32 { a => { } }),
        quote!(F(u32) -> u32 { a => { X -> } }),
        quote!(F(u32) -> u32 { node = ; }),
        quote!(F(u32) -> u32 { node x = ; START -> x -> END; }),
        quote!(F(u32) -> u32 { START -> START; END -> END; }),
        quote!(F(u32) -> u32 { START -> a -> a; }),
        quote!(F(u32) -> u32 { START -> a; } trailing),
        quote!(#[derive(Debug)] F(u32) -> u32 { START -> a -> END; }),
    ] {
        let _ = messages(tokens.clone());
        let _ = crate::graph_impl(FlowArgs::default(), tokens);
    }
    for item in [
        quote!(),
        quote!(
            struct S;
        ),
        quote!(
            fn f(self) {}
        ),
        quote!(async fn f(..) {}),
    ] {
        let _ = crate::node_impl(quote!(), item);
    }
    let _ = crate::node_impl(
        quote!(retry = 3),
        quote!(
            async fn f() {}
        ),
    );
}

#[test]
fn node_expansion() {
    let out = crate::node_impl(
        quote!(),
        quote! {
            pub async fn write(outline: Outline, llm: &Llm, cx: &Context) -> Result<Draft, LlmError> {
                llm.write(outline, cx.step()).await
            }
        },
    );
    insta::assert_snapshot!(pretty(out));
}

#[test]
fn graph_expansion() {
    let out = crate::graph_impl(
        FlowArgs::default(),
        quote! {
            #[flow(max_steps = 50, timeout = 5m, deps = AppDeps)]
            pub Essay(Topic) -> Draft {
                START -> outline -> write -> review;
                review => {
                    Verdict::Revise -> write,
                    Verdict::Accept -> END,
                }
            }
        },
    );
    insta::assert_snapshot!(pretty(out));
}

#[test]
fn steps_always_reached_after_as_many_steps_are_numbered_in_advance() {
    let expand = |graph| crate::graph_impl(FlowArgs::default(), graph).to_string();
    // `h` follows `b`'s failure, as step 3, as `c` follows its success.
    let chain = expand(quote!(Chain(u32) -> u32 {
        START -> a -> b -> c -> END;
        b !-> h;
        h -> d -> END;
    }));
    assert!(!chain.contains("advance"), "{chain}");
    for (node, number) in [("a", 1), ("b", 2), ("c", 3), ("h", 3), ("d", 4)] {
        let to_step =
            format!("step_to :: < {node} , _ > (& mut __flow_cx , & __flow_hook , {number})");
        assert!(chain.contains(&to_step), "{to_step} in {chain}");
    }
    // `c` is step 2 or 3: counted. So is a handler that leads back to the chain.
    let back = expand(quote!(Back(u32) -> u32 {
        START -> a -> b -> END;
        a !-> h;
        h -> b;
    }));
    assert!(back.contains("advance (& mut __flow_cx)"), "{back}");
    let paths = expand(quote!(Paths(u32) -> u32 {
        START -> a;
        a => {
            Way::Short -> c,
            Way::Long -> b,
        }
        b -> c -> END;
    }));
    assert!(paths.contains("advance (& mut __flow_cx)"), "{paths}");
    assert!(!paths.contains("step_to"), "{paths}");
}

#[test]
fn errors_come_with_a_fallback_flow_type() {
    let out = crate::graph_impl(
        FlowArgs::default(),
        quote!(Essay(Topic) -> Draft { START -> a -> b; }),
    );
    let text = out.to_string();
    // The error is a failing type check (see `diag`), not a `compile_error!`, so rustc
    // also reports names not in scope, which the uses of each node's name make it check.
    assert!(!text.contains("compile_error"), "{text}");
    assert!(
        text.contains("message = \"node `b` has no way on\""),
        "{text}"
    );
    assert!(text.contains("< b as NoDeadEnd >"), "{text}");
    assert!(text.contains("Named < a >"), "{text}");
    assert!(text.contains("struct Essay"), "{text}");
    assert!(text.contains("fn run"), "{text}");
}

/// An unreadable header leaves no flow type to stand in: the error is a
/// `compile_error!`, which also keeps rustc from reporting each use of the missing type.
#[test]
fn an_unreadable_graph_is_a_compile_error() {
    let out = crate::graph_impl(FlowArgs::default(), quote!(Essay -> { }));
    let text = out.to_string();
    assert!(text.contains("compile_error"), "{text}");
    assert!(!text.contains("struct Essay"), "{text}");
}

#[test]
fn a_typo_in_an_error_edge_is_one_error() {
    let msgs = messages(quote! {
        Fetch(String) -> String {
            START -> fetch -> END;
            fetcj !-> fallback;
            fallback -> END;
        }
    });
    assert_eq!(msgs, ["unknown node `fetcj`; did you mean `fetch`?"]);
}

/// Runs `#[derive(Merge)]`'s parser and returns every message.
fn merge_messages(input: TokenStream) -> Vec<String> {
    let mut cx = Diagnostics::default();
    let input: syn::DeriveInput = syn::parse2(input).expect("a derive input");
    let _ = crate::parse::derive::parse_merge(&mut cx, &input);
    cx.messages()
}

#[test]
fn merge_attributes_report_every_bad_strategy() {
    let msgs = merge_messages(quote! {
        struct State {
            #[merge(maxx)]
            a: u32,
            #[merge(append, max)]
            b: Vec<u32>,
            #[merge(min)]
            c: u32,
            d: u32,
        }
    });
    assert_eq!(
        msgs,
        [
            "unknown argument `maxx` of `#[merge]`; did you mean `max`?",
            "a field has one merge strategy; remove all but one",
        ]
    );
    let msgs = merge_messages(quote! { enum State { A(u32) } });
    assert_eq!(
        msgs,
        ["`#[derive(Merge)]` needs a struct; for an enum, implement `Merge` by hand"]
    );
}

#[test]
fn nodes_by_path_and_limits_and_names() {
    // A node named by its path is that node; two paths ending alike need a name.
    let msgs = messages(quote! {
        Essay(Topic) -> Draft {
            START -> steps::outline -> steps::write -> END;
        }
    });
    assert_eq!(msgs, Vec::<String>::new());
    let msgs = messages(quote! {
        Essay(Topic) -> Draft {
            START -> draft::write -> edit::write -> END;
        }
    });
    assert_eq!(
        msgs,
        [
            "two nodes are named `write` here, `draft::write` and `edit::write`; give one its own name: `node write2 = edit::write;`"
        ]
    );
}

#[test]
fn rate_limits() {
    let parse = |tokens: TokenStream| {
        let mut cx = Diagnostics::default();
        let args = crate::parse::args::parse_node_args(&mut cx, tokens);
        let rate = args.rate_limit.map(|(n, d)| (n, d.secs, d.nanos));
        (rate, cx.messages())
    };
    assert_eq!(
        parse(quote!(rate_limit = 10 / s)),
        (Some((10, 1, 0)), vec![])
    );
    assert_eq!(
        parse(quote!(rate_limit = 100 / m)),
        (Some((100, 60, 0)), vec![])
    );
    assert_eq!(
        parse(quote!(rate_limit = 5 / 30s)),
        (Some((5, 30, 0)), vec![])
    );
    assert_eq!(
        parse(quote!(rate_limit = 2 / ms)),
        (Some((2, 0, 1_000_000)), vec![])
    );
    assert_eq!(
        parse(quote!(rate_limit = 0 / s)).1,
        [
            "a `rate_limit` of 0 calls would let no call through; allow at least 1, e.g. `rate_limit = 1/s`"
        ]
    );
    assert_eq!(
        parse(quote!(rate_limit = 10)).1,
        ["`rate_limit` takes a rate such as `10/s`, `100/m` or `5/30s`, found a literal"]
    );
    assert_eq!(
        parse(quote!(rate_limit = 10 / 30)).1,
        ["`rate_limit` needs a unit: write `30s` or `30ms` (units: `ms`, `s`, `m` or `h`)"]
    );
}

#[test]
fn node_with_policies_expansion() {
    let out = crate::node_impl(
        quote!(
            retry(
                attempts = 3,
                backoff = exponential(100ms, 2.0, max = 1s),
                jitter = full
            ),
            timeout = 5s,
            circuit_breaker(failures = 5, cool_down = 30s),
            rate_limit = 10 / s,
            concurrency = 4,
        ),
        quote! {
            async fn fetch(url: Url, http: &Http) -> Result<Page, HttpError> {
                http.get(url).await
            }
        },
    );
    insta::assert_snapshot!(pretty(out));
}

#[test]
fn fan_out_path_and_merge_join_expansion() {
    let out = crate::graph_impl(
        FlowArgs::default(),
        quote! {
            Research(Question) -> Answer {
                START -> plan -> (search -> rank, recall) -> combine -> {draft, critique} -> answer -> END;
            }
        },
    );
    insta::assert_snapshot!(pretty(out));
}

#[test]
fn map_and_error_edges_expansion() {
    let out = crate::graph_impl(
        FlowArgs::default(),
        quote! {
            Batch(Vec<Item>) -> Report {
                START -> [check; 4] -> tally -> END;
                check !-> set_aside;
                tally !-> give_up;
                give_up -> END;
            }
        },
    );
    insta::assert_snapshot!(pretty(out));
}

#[test]
fn map_as_branch_expansion() {
    let out = crate::graph_impl(
        FlowArgs::default(),
        quote! {
            Digest(Vec<Url>) -> Report {
                START -> ([fetch; 4], count) -> report -> END;
                fetch !-> skip;
            }
        },
    );
    insta::assert_snapshot!(pretty(out));
}

#[test]
fn map_inside_a_branch_path_expansion() {
    let out = crate::graph_impl(
        FlowArgs::default(),
        quote! {
            Digest(Topic) -> Report {
                START -> plan -> (search -> [fetch] -> rank, count) -> report -> END;
            }
        },
    );
    insta::assert_snapshot!(pretty(out));
}

#[test]
fn only_nodes_named_like_types_are_handed_the_hook() {
    let text = |tokens: TokenStream| {
        let out = crate::graph_impl(FlowArgs::default(), tokens).to_string();
        out.split_whitespace().collect::<String>()
    };
    // A subgraph (a type) gets the hook and its share of the nested nodes.
    let sub = text(quote! {
        Pipeline(u32) -> String {
            START -> load -> Summarize -> END;
        }
    });
    assert!(
        sub.contains(
            "<<Summarizeas::typedflow::checks::NodeOf>::Nodeas__FlowNodeFn<()>>::call_hooked("
        ),
        "{sub}"
    );
    assert!(sub.contains("__FLOW_NESTED_OF[1usize]"), "{sub}");
    assert!(sub.contains("<loadas__FlowNodeFn<()>>::call("), "{sub}");
    // A flow of `#[node]`s (functions) makes no call generic over the hook.
    let plain = text(quote! {
        Chain(u32) -> u32 {
            START -> load -> save -> END;
        }
    });
    assert!(!plain.contains("call_hooked("), "{plain}");
    assert!(!plain.contains("__FLOW_NESTED_OF"), "{plain}");
}
