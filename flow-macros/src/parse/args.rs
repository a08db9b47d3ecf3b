//! Arguments of `#[flow(..)]` (and the loop shared with `#[node(..)]`).
//!
//! Parsed with syn's `ParseNestedMeta`; every value is read into a syntax tree first and
//! then checked by `parse::value`, so a bad value is reported with our wording and the
//! next argument is still read.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Expr, LitStr, Type};

use crate::diag::{Diagnostics, catalogue as msg, did_you_mean};
use crate::parse::value::{DurationLit, read_delay, read_duration, read_str, read_u32};

/// The settings of a flow.
#[derive(Default)]
pub struct FlowArgs {
    pub name: Option<LitStr>,
    pub max_steps: Option<u32>,
    /// Where `max_steps` was written, for an error about its value.
    pub max_steps_span: Option<proc_macro2::Span>,
    pub timeout: Option<DurationLit>,
    pub deps: Option<Type>,
    /// `#[flow(local)]`: the run future need not be `Send`.
    pub local: bool,
    /// `#[flow(durable)]`: every value between steps is serializable, and runs can be
    /// checkpointed and resumed.
    pub durable: bool,
}

const FLOW_KEYS: &[&str] = &["name", "max_steps", "timeout", "deps", "local", "durable"];

/// Reads `#[flow(..)]` arguments into `args`.
pub fn parse_flow_args(cx: &mut Diagnostics, tokens: TokenStream, args: &mut FlowArgs) {
    parse_args(cx, "`#[flow]`", tokens, FLOW_KEYS, |cx, key, meta| {
        match key {
            "deps" => args.deps = Some(meta.value()?.parse::<Type>()?),
            "local" => args.local = true,
            "durable" => args.durable = true,
            _ => {
                let expr: Expr = meta.value()?.parse()?;
                match key {
                    "name" => args.name = read_str(cx, key, &expr),
                    "max_steps" => {
                        args.max_steps = read_u32(cx, key, &expr, 1);
                        args.max_steps_span = Some(expr.span());
                    }
                    "timeout" => args.timeout = read_duration(cx, key, &expr),
                    _ => {}
                }
            }
        }
        Ok(())
    });
}

/// Runs `f` on each `key = value` or `key(..)` of an argument list whose keys are `keys`,
/// reporting unknown and duplicate keys (with a suggestion) and skipping their values.
pub fn parse_args(
    cx: &mut Diagnostics,
    attr: &str,
    tokens: TokenStream,
    keys: &[&str],
    mut f: impl FnMut(&mut Diagnostics, &str, &ParseNestedMeta<'_>) -> syn::Result<()>,
) {
    let mut seen: Vec<String> = Vec::new();
    let parser = syn::meta::parser(|meta| {
        let Some(ident) = meta.path.get_ident() else {
            cx.error(meta.path.span(), msg::expected_argument_name(attr));
            return skip_value(&meta);
        };
        let key = ident.to_string();
        if !keys.contains(&key.as_str()) {
            let hint = match did_you_mean(&key, keys.iter().copied()) {
                Some(close) => format!("did you mean `{close}`?"),
                None if keys.is_empty() => format!("{attr} takes no arguments"),
                None => {
                    let expected = keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>();
                    format!("expected one of {}", expected.join(", "))
                }
            };
            cx.error(ident.span(), msg::unknown_argument(attr, &key, &hint));
            return skip_value(&meta);
        }
        if seen.contains(&key) {
            cx.error(ident.span(), msg::duplicate_argument(&key));
            return skip_value(&meta);
        }
        seen.push(key.clone());
        f(cx, &key, &meta)
    });
    if let Err(err) = parser.parse2(tokens) {
        cx.push(err);
    }
}

/// Consumes an argument's value, `= expr` or `(..)`, without reading it.
pub fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<TokenStream>()?;
    }
    Ok(())
}

/// The policies of a node.
#[derive(Default)]
pub struct NodeArgs {
    pub retry: Option<RetryArgs>,
    pub timeout: Option<DurationLit>,
    pub breaker: Option<BreakerArgs>,
    pub concurrency: Option<u32>,
    /// `rate_limit = 10/s`: at most 10 calls per second.
    pub rate_limit: Option<(u32, DurationLit)>,
}

impl NodeArgs {
    pub fn is_empty(&self) -> bool {
        self.retry.is_none()
            && self.timeout.is_none()
            && self.breaker.is_none()
            && self.concurrency.is_none()
            && self.rate_limit.is_none()
    }
}

/// `retry(attempts = N, backoff = .., jitter = .., max_elapsed = d, max_retry_after = d)`
pub struct RetryArgs {
    pub attempts: u32,
    pub backoff: Option<BackoffArg>,
    pub jitter: Option<syn::Ident>,
    pub max_elapsed: Option<DurationLit>,
    /// The longest retry-after hint waited for (zero: none is).
    pub max_retry_after: Option<DurationLit>,
}

/// `constant(d)`, `linear(d, step)` or `exponential(d, factor, max = d)`.
pub enum BackoffArg {
    Constant(DurationLit),
    Linear(DurationLit, DurationLit),
    Exponential(DurationLit, f64, DurationLit),
}

/// `circuit_breaker(failures = N, cool_down = d, max_cool_down = d)`
pub struct BreakerArgs {
    pub failures: u32,
    pub cool_down: DurationLit,
    pub max_cool_down: Option<DurationLit>,
}

const NODE_KEYS: &[&str] = &[
    "retry",
    "timeout",
    "circuit_breaker",
    "concurrency",
    "rate_limit",
];
const RETRY_KEYS: &[&str] = &[
    "attempts",
    "backoff",
    "jitter",
    "max_elapsed",
    "max_retry_after",
];
const BREAKER_KEYS: &[&str] = &["failures", "cool_down", "max_cool_down"];
const JITTERS: &[&str] = &["none", "full", "equal", "decorrelated"];

/// Reads `#[node(..)]` arguments.
pub fn parse_node_args(cx: &mut Diagnostics, tokens: TokenStream) -> NodeArgs {
    let mut args = NodeArgs::default();
    parse_args(cx, "`#[node]`", tokens, NODE_KEYS, |cx, key, meta| {
        match key {
            "retry" => args.retry = parse_retry(cx, meta)?,
            "circuit_breaker" => args.breaker = parse_breaker(cx, meta)?,
            _ => {
                let expr: Expr = meta.value()?.parse()?;
                match key {
                    "timeout" => args.timeout = read_duration(cx, key, &expr),
                    "rate_limit" => args.rate_limit = read_rate(cx, &expr),
                    _ => args.concurrency = read_u32(cx, key, &expr, 1),
                }
            }
        }
        Ok(())
    });
    args
}

fn require_list(cx: &mut Diagnostics, meta: &ParseNestedMeta<'_>, example: &str) -> bool {
    if meta.input.peek(syn::token::Paren) {
        return true;
    }
    cx.error(meta.path.span(), msg::expected_list(example));
    false
}

fn parse_retry(cx: &mut Diagnostics, meta: &ParseNestedMeta<'_>) -> syn::Result<Option<RetryArgs>> {
    if !require_list(cx, meta, "retry(attempts = 3)") {
        skip_value(meta)?;
        return Ok(None);
    }
    let content;
    syn::parenthesized!(content in meta.input);
    let tokens: TokenStream = content.parse()?;
    let (mut attempts, mut backoff, mut jitter) = (None, None, None);
    let (mut max_elapsed, mut max_retry_after) = (None, None);
    let mut seen_attempts = false;
    parse_args(cx, "`retry(..)`", tokens, RETRY_KEYS, |cx, key, meta| {
        let expr: Expr = meta.value()?.parse()?;
        match key {
            "attempts" => {
                seen_attempts = true;
                attempts = read_u32(cx, key, &expr, 1);
            }
            "backoff" => backoff = read_backoff(cx, &expr),
            "jitter" => jitter = read_choice(cx, key, &expr, JITTERS),
            // Zero: a retry-after hint is never waited for, it ends the call.
            "max_retry_after" => max_retry_after = read_delay(cx, key, &expr),
            _ => max_elapsed = read_duration(cx, key, &expr),
        }
        Ok(())
    });
    if !seen_attempts {
        cx.error(meta.path.span(), msg::retry_without_attempts());
    }
    Ok(attempts.map(|attempts| RetryArgs {
        attempts,
        backoff,
        jitter,
        max_elapsed,
        max_retry_after,
    }))
}

fn parse_breaker(
    cx: &mut Diagnostics,
    meta: &ParseNestedMeta<'_>,
) -> syn::Result<Option<BreakerArgs>> {
    if !require_list(cx, meta, "circuit_breaker(failures = 5, cool_down = 30s)") {
        skip_value(meta)?;
        return Ok(None);
    }
    let content;
    syn::parenthesized!(content in meta.input);
    let tokens: TokenStream = content.parse()?;
    let (mut failures, mut cool_down, mut max_cool_down) = (None, None, None);
    let (mut seen_failures, mut seen_cool_down) = (false, false);
    parse_args(
        cx,
        "`circuit_breaker(..)`",
        tokens,
        BREAKER_KEYS,
        |cx, key, meta| {
            let expr: Expr = meta.value()?.parse()?;
            match key {
                "failures" => {
                    seen_failures = true;
                    failures = read_u32(cx, key, &expr, 1);
                }
                "cool_down" => {
                    seen_cool_down = true;
                    cool_down = read_duration(cx, key, &expr);
                }
                _ => max_cool_down = read_duration(cx, key, &expr),
            }
            Ok(())
        },
    );
    if !seen_failures || !seen_cool_down {
        cx.error(meta.path.span(), msg::breaker_incomplete());
    }
    if let (Some(c), Some(m)) = (&cool_down, &max_cool_down)
        && m.as_nanos() < c.as_nanos()
    {
        {
            cx.error(m.span, msg::cool_down_cap_too_short());
            return Ok(None);
        }
    }
    Ok(match (failures, cool_down) {
        (Some(failures), Some(cool_down)) => Some(BreakerArgs {
            failures,
            cool_down,
            max_cool_down,
        }),
        _ => None,
    })
}

/// A rate: `10/s`, `100/m`, `1000/h`, `5/ms`, or a count per duration, `5/30s`.
fn read_rate(cx: &mut Diagnostics, expr: &Expr) -> Option<(u32, DurationLit)> {
    let Expr::Binary(b) = expr else {
        cx.error(expr.span(), msg::not_a_rate(kind_of_rate(expr)));
        return None;
    };
    if !matches!(b.op, syn::BinOp::Div(_)) {
        cx.error(expr.span(), msg::not_a_rate(kind_of_rate(expr)));
        return None;
    }
    let count = match &*b.left {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(n),
            ..
        }) => match n.base10_parse::<u32>() {
            Ok(0) => {
                cx.error(n.span(), msg::zero_rate());
                return None;
            }
            Ok(n) => n,
            Err(_) => {
                cx.error(n.span(), msg::number_too_large(RATE_LIMIT));
                return None;
            }
        },
        other => {
            cx.error(other.span(), msg::not_a_rate(kind_of_rate(other)));
            return None;
        }
    };
    let unit = |nanos: u64| {
        Some(DurationLit {
            secs: nanos / 1_000_000_000,
            nanos: (nanos % 1_000_000_000) as u32,
            span: b.right.span(),
        })
    };
    let per = match &*b.right {
        Expr::Path(p) if p.path.is_ident("ms") => unit(1_000_000),
        Expr::Path(p) if p.path.is_ident("s") => unit(1_000_000_000),
        Expr::Path(p) if p.path.is_ident("m") => unit(60_000_000_000),
        Expr::Path(p) if p.path.is_ident("h") => unit(3_600_000_000_000),
        Expr::Lit(_) => read_duration(cx, RATE_LIMIT, &b.right),
        other => {
            cx.error(other.span(), msg::not_a_rate(kind_of_rate(other)));
            None
        }
    }?;
    Some((count, per))
}

const RATE_LIMIT: &str = "rate_limit";

/// What was written where a rate, its count or its period was expected.
fn kind_of_rate(expr: &Expr) -> &'static str {
    match expr {
        Expr::Lit(_) => "a literal",
        Expr::Path(_) => "a name",
        Expr::Binary(_) => "another operation than `/`",
        _ => "an expression",
    }
}

/// One of a few names, e.g. `jitter = full`.
fn read_choice(
    cx: &mut Diagnostics,
    key: &str,
    expr: &Expr,
    choices: &[&str],
) -> Option<syn::Ident> {
    let listed = choices
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match expr {
        Expr::Path(p) if p.path.get_ident().is_some() => {
            let ident = p.path.get_ident()?.clone();
            let name = ident.to_string();
            if choices.contains(&name.as_str()) {
                return Some(ident);
            }
            let hint = match crate::diag::did_you_mean(&name, choices.iter().copied()) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("expected one of {listed}"),
            };
            cx.error(ident.span(), msg::unknown_choice(key, &name, &hint));
            None
        }
        _ => {
            cx.error(expr.span(), msg::not_a_choice(key, &listed));
            None
        }
    }
}

fn read_backoff(cx: &mut Diagnostics, expr: &Expr) -> Option<BackoffArg> {
    const SHAPES: &str =
        "`constant(1s)`, `linear(1s, 500ms)` or `exponential(200ms, 2.0, max = 5s)`";
    let Expr::Call(call) = expr else {
        cx.error(expr.span(), msg::not_a_backoff(SHAPES));
        return None;
    };
    let name = match &*call.func {
        Expr::Path(p) => p
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default(),
        _ => String::new(),
    };
    let args: Vec<&Expr> = call.args.iter().collect();
    match (name.as_str(), args.as_slice()) {
        ("constant", [d]) => Some(BackoffArg::Constant(read_delay(cx, "constant", d)?)),
        ("linear", [d, step]) => {
            let d = read_delay(cx, "linear", d);
            let step = read_delay(cx, "linear", step);
            Some(BackoffArg::Linear(d?, step?))
        }
        ("exponential", [d, factor, max]) => {
            let initial = read_delay(cx, "exponential", d);
            let factor_v = crate::parse::value::read_f64(cx, "the factor", factor);
            let max = match max {
                Expr::Assign(a) if matches!(&*a.left, Expr::Path(p) if p.path.is_ident("max")) => {
                    read_delay(cx, "max", &a.right)
                }
                other => {
                    cx.error(other.span(), msg::backoff_cap());
                    None
                }
            };
            let (initial, factor_v, max) = (initial?, factor_v?, max?);
            if factor_v < 1.0 {
                cx.error(factor.span(), msg::shrinking_backoff());
                return None;
            }
            if max.as_nanos() < initial.as_nanos() {
                cx.error(max.span, msg::backoff_cap_too_short());
                return None;
            }
            Some(BackoffArg::Exponential(initial, factor_v, max))
        }
        ("constant" | "linear" | "exponential", _) => {
            cx.error(call.span(), msg::backoff_arguments(&name, SHAPES));
            None
        }
        _ => {
            let hint = match crate::diag::did_you_mean(&name, ["constant", "linear", "exponential"])
            {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("write {SHAPES}"),
            };
            cx.error(call.func.span(), msg::unknown_backoff(&name, &hint));
            None
        }
    }
}
