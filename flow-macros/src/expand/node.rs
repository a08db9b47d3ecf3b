//! `#[node]`: the node type beside the function, and its `Node`/`NodeFn` impls.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::parse::args::{BackoffArg, NodeArgs, RetryArgs};
use crate::parse::node::{NodeSig, Output, Param};

/// `match $e { Ok(v) => v, Err(_) => panic!(..) }` for a policy builder evaluated in a
/// `const`: the arguments were checked by the macro, so the panic cannot happen, and if
/// it did it would be a compile error (const evaluation), never a run-time panic.
fn const_ok(e: TokenStream, what: &str) -> TokenStream {
    let msg = format!("invalid {what}");
    quote! {
        match #e {
            ::core::result::Result::Ok(__flow_v) => __flow_v,
            ::core::result::Result::Err(_) => ::core::panic!(#msg),
        }
    }
}

/// The builder chain of a node's `NodePolicies`, from its checked arguments. Each policy
/// is built in a `const`, so a value the macro let through but the runtime refuses would
/// be a compile error, never a run-time panic.
fn policies(args: &NodeArgs, name: &str) -> TokenStream {
    let mut chain = quote!(::typedflow::policy::NodePolicies::new(#name).with_observer(::typedflow::StepObserver));
    let mut with = |method: &str, ty: &str, value: TokenStream| {
        let (method, ty) = (format_ident!("{}", method), format_ident!("{}", ty));
        chain = quote! {
            #chain.#method({
                const __FLOW_POLICY: ::typedflow::policy::#ty = #value;
                __FLOW_POLICY
            })
        };
    };
    if let Some(retry) = &args.retry {
        with("with_retry", "RetryPolicy", retry_policy(retry));
    }
    if let Some(d) = &args.timeout {
        let t = quote!(::typedflow::policy::TimeoutPolicy::new(#d));
        with("with_timeout", "TimeoutPolicy", const_ok(t, "timeout"));
    }
    if let Some(b) = &args.breaker {
        let (failures, cool_down) = (b.failures, &b.cool_down);
        let mut p = const_ok(
            quote!(::typedflow::policy::BreakerPolicy::new(#failures, #cool_down)),
            "circuit breaker",
        );
        if let Some(max) = &b.max_cool_down {
            p = const_ok(quote!(#p.with_max_cool_down(#max)), "max_cool_down");
        }
        with("with_breaker", "BreakerPolicy", p);
    }
    if let Some((count, per)) = &args.rate_limit {
        let r = quote!(::typedflow::policy::RateLimit::new(#count, #per));
        with("with_rate_limit", "RateLimit", const_ok(r, "rate limit"));
    }
    if let Some(n) = args.concurrency {
        let n = n as usize;
        let l = quote!(::typedflow::policy::ConcurrencyLimit::new(#n));
        with(
            "with_concurrency",
            "ConcurrencyLimit",
            const_ok(l, "concurrency"),
        );
    }
    chain
}

/// The `RetryPolicy` of `retry(..)`.
fn retry_policy(retry: &RetryArgs) -> TokenStream {
    let attempts = retry.attempts;
    let mut p = const_ok(
        quote!(::typedflow::policy::RetryPolicy::new(#attempts)),
        "retry policy",
    );
    if let Some(b) = &retry.backoff {
        let backoff = match b {
            BackoffArg::Constant(d) => quote!(::typedflow::policy::Backoff::constant(#d)),
            BackoffArg::Linear(d, step) => quote!(::typedflow::policy::Backoff::linear(#d, #step)),
            BackoffArg::Exponential(d, factor, max) => const_ok(
                quote!(::typedflow::policy::Backoff::exponential(#d, #factor, #max)),
                "backoff",
            ),
        };
        p = quote!(#p.with_backoff(#backoff));
    }
    if let Some(j) = &retry.jitter {
        let variant = match j.to_string().as_str() {
            "full" => quote!(Full),
            "equal" => quote!(Equal),
            "decorrelated" => quote!(Decorrelated),
            _ => quote!(None),
        };
        p = quote!(#p.with_jitter(::typedflow::policy::Jitter::#variant));
    }
    if let Some(d) = &retry.max_elapsed {
        p = const_ok(quote!(#p.with_max_elapsed(#d)), "max_elapsed");
    }
    if let Some(d) = &retry.max_retry_after {
        p = quote!(#p.with_max_retry_after(#d));
    }
    p
}

/// What the `Node` impl says beyond the node's input and output, and the body of
/// `NodeFn::call`: with policies the state is the node's `NodePolicies`, its error a
/// `PolicyError`, and every call goes through them, the function called once per attempt.
struct Policed {
    error_ty: TokenStream,
    state_ty: TokenStream,
    state_fn: TokenStream,
    items: TokenStream,
    body: TokenStream,
}

/// The output and error types of a node's `Node` impl, and whether it can fail.
fn result_types(output: &Output) -> (TokenStream, TokenStream, bool) {
    match output {
        Output::Value(None) => (quote!(()), quote!(::core::convert::Infallible), false),
        Output::Value(Some(ty)) => (quote!(#ty), quote!(::core::convert::Infallible), false),
        Output::Result(ty) => (
            quote!(<#ty as ::typedflow::__private::NodeResult>::Ok),
            quote!(<#ty as ::typedflow::__private::NodeResult>::Err),
            true,
        ),
    }
}

/// The future of one call of the function, as a `Result`, and the `NodeFn` impl's
/// bounds: each dependency is a bound spanned on the parameter's type, so a flow whose
/// dependencies lack it is told which parameter needs what.
fn call_future(sig: &NodeSig, fallible: bool) -> (TokenStream, Vec<TokenStream>) {
    let ident = &sig.ident;
    // Each dependency through `checks::Dependency`, so a flow lacking one is told which
    // node takes it, and not which other types the flow's dependencies provide.
    let dependency = |ty: &syn::Type| {
        quote_spanned! {ty.span()=>
            ::typedflow::checks::Graph: ::typedflow::checks::Dependency<#ident, AnyDeps, #ty>
        }
    };
    let args = sig.params.iter().map(|p| match p {
        Param::Input => quote!(__flow_input),
        Param::Context => quote!(__flow_cx),
        Param::Dep(ty) => quote_spanned! {ty.span()=>
            <::typedflow::checks::Graph as ::typedflow::checks::Dependency<#ident, AnyDeps, #ty>>::provide(__flow_deps)
        },
    });
    let bounds = sig
        .params
        .iter()
        .filter_map(|p| match p {
            Param::Dep(ty) => {
                let bound = dependency(ty);
                Some(quote!(#bound,))
            }
            _ => None,
        })
        .collect();
    let call = quote!(#ident(#(#args),*));
    let future = if fallible {
        call
    } else {
        quote!(::typedflow::__private::infallible(#call))
    };
    (future, bounds)
}

/// The parts of the `Node` impl and the call body that depend on the node's policies.
fn policed(
    policy_args: &NodeArgs,
    node: &syn::Ident,
    name: &str,
    input_ty: &TokenStream,
    error_ty: TokenStream,
    future: TokenStream,
    unit_input: bool,
) -> Policed {
    let unused_input = unit_input.then(|| quote!(let () = __flow_input;));
    if policy_args.is_empty() {
        return Policed {
            error_ty,
            state_ty: quote!(()),
            state_fn: quote!(),
            items: quote!(),
            body: quote!(#unused_input #future),
        };
    }
    let retry = if policy_args.retry.is_some() {
        quote!(::typedflow::policy::RetryPolicy)
    } else {
        quote!(::typedflow::policy::NoRetry)
    };
    Policed {
        error_ty: quote!(::typedflow::policy::PolicyError<#error_ty>),
        state_ty: quote!(::typedflow::policy::NodePolicies<#retry, ::typedflow::StepObserver>),
        state_fn: policies(policy_args, name),
        items: quote! {
            const HAS_POLICIES: bool = true;

            // Under an alias in a graph, the policies' events and errors name the alias.
            fn state_named(name: &'static str) -> Self::State {
                <Self as ::typedflow::Node>::state().named(name)
            }

            #[inline]
            fn attempts(error: &Self::Error) -> u32 {
                error.attempts()
            }

            #[inline]
            fn error_kind(error: &Self::Error) -> ::typedflow::ErrorKind {
                error.kind()
            }
        },
        body: {
            let f = quote! {
                move |__flow_input: #input_ty| {
                    #unused_input
                    #future
                }
            };
            // With `retry(..)`, through `checks::RetriedError`: an error type that cannot
            // say what to retry is one error, with no note into the policies' code.
            if policy_args.retry.is_some() {
                quote! {
                    <::typedflow::checks::Graph as ::typedflow::checks::RetriedError<#node, _>>::call(
                        __flow_state,
                        __flow_input,
                        #f,
                    )
                }
            } else {
                quote!(__flow_state.call(__flow_input, #f))
            }
        },
    }
}

/// `impl NodeFn<D> for node` with `where` clauses `bounds`, the call's `body` and any
/// `more` items: for a `#[node]` and for a flow used as a node.
pub fn node_fn_impl(
    node: &TokenStream,
    bounds: &TokenStream,
    attrs: &TokenStream,
    body: &TokenStream,
    more: &TokenStream,
) -> TokenStream {
    node_fn_impl_at(Span::call_site(), node, bounds, attrs, body, more)
}

/// [`node_fn_impl`], its own tokens spanned at `at`: for a `#[node]`, the function's
/// name, so that rustc's notes about the impl (a dependency the flow lacks) quote the
/// function's signature, with its `&T` parameter, and not the attribute.
fn node_fn_impl_at(
    at: Span,
    node: &TokenStream,
    bounds: &TokenStream,
    attrs: &TokenStream,
    body: &TokenStream,
    more: &TokenStream,
) -> TokenStream {
    // The items keep the macro's span: the future `call` returns is checked where the
    // run loop names it, and at `at` too its check of the node's policies would be a
    // second error.
    let items = quote! {
        #attrs
        fn call<'__flow>(
            __flow_deps: &'__flow AnyDeps,
            __flow_state: &'__flow Self::State,
            __flow_cx: &'__flow ::typedflow::Context,
            __flow_input: Self::Input,
        ) -> impl ::core::future::Future<
            Output = ::core::result::Result<Self::Output, Self::Error>,
        > + '__flow {
            #body
        }

        #more
    };
    // The dependencies' parameter is named in rustc's notes on a missing dependency
    // ("the trait `NodeFn<AnyDeps>` is implemented for `write`"), so it reads as words,
    // with no `__`; a dependency type of the user's by that very name would be shadowed
    // inside the impl, and its node fail to compile there.
    quote_spanned! {at=>
        impl<AnyDeps: ?::core::marker::Sized> ::typedflow::NodeFn<AnyDeps> for #node
        where
            #bounds
        {
            #items
        }
    }
}

/// The node type of a rejected `#[node]` (see `expand::fallback`): its types, and a call
/// that never completes, since it is never made.
pub fn expand_stand_in(sig: &NodeSig) -> TokenStream {
    let ident = &sig.ident;
    let input_ty = match &sig.input {
        Some(ty) => quote!(#ty),
        None => quote!(()),
    };
    let (output_ty, error_ty, _) = result_types(&sig.output);
    let node_fn = node_fn_impl(
        &quote!(#ident),
        &quote!(),
        &quote!(#[allow(unused_variables)]),
        &quote!(::core::future::pending()),
        &quote!(),
    );
    let vis = &sig.vis;
    let name = ident.to_string().trim_start_matches("r#").to_owned();
    quote! {
        #[allow(non_camel_case_types, dead_code)]
        #vis enum #ident {}

        const _: () = {
            impl ::typedflow::Node for #ident {
            type Input = #input_ty;
            type Output = #output_ty;
            type Error = #error_ty;
            type State = ();
            const NAME: &'static str = #name;
            fn state() -> Self::State {}
        }

        #node_fn
        };
    }
}

pub fn expand_node(sig: &NodeSig, policy_args: &NodeArgs) -> TokenStream {
    let NodeSig {
        vis, ident, input, ..
    } = sig;
    let name = ident.to_string().trim_start_matches("r#").to_owned();
    let input_ty = match input {
        Some(ty) => quote!(#ty),
        None => quote!(()),
    };
    let (output_ty, error_ty, fallible) = result_types(&sig.output);
    let (future, bounds) = call_future(sig, fallible);
    let Policed {
        error_ty,
        state_ty,
        state_fn,
        items,
        body,
    } = policed(
        policy_args,
        ident,
        &name,
        &input_ty,
        error_ty,
        future,
        input.is_none(),
    );
    let doc = format!(
        "The node of the function [`{name}()`](fn@{name}), generated by `#[node]`: use `{name}` in `graph!`."
    );
    let attrs = quote!(#[inline(always)] #[allow(unused_variables)]);
    // A function without a `&Context` cannot read the step (`Node::READS_STEP`).
    let reads_step = (!sig.params.iter().any(|p| matches!(p, Param::Context))).then(|| {
        quote!(
            const READS_STEP: bool = false;
        )
    });
    let node_fn = node_fn_impl_at(
        ident.span(),
        &quote!(#ident),
        &quote!(#(#bounds)*),
        &attrs,
        &body,
        &quote!(),
    );
    // The impls beside the enum, not inside a `const _: () = { .. };`: that block is one
    // more item with a body for rustc to lower, hash and check (2% of a 100-node chain's
    // `cargo check`, `scripts/compile-time.sh`), and the impls need no scope of their own.
    // The enum at the function's name: rustc shows a node's definition under some errors
    // about it (a dead end), and there it quotes the function, not the attribute.
    let node_ty = quote_spanned! {ident.span()=>
        #[doc = #doc]
        #[allow(non_camel_case_types, dead_code)]
        #vis enum #ident {}
    };
    quote! {
        #node_ty

        impl ::typedflow::Node for #ident {
            type Input = #input_ty;
            type Output = #output_ty;
            type Error = #error_ty;
            type State = #state_ty;
            const NAME: &'static str = #name;
            #reads_step

            #[inline(always)]
            fn state() -> Self::State {
                #state_fn
            }

            #items
        }

        #node_fn
    }
}
