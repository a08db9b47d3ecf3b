//! Values of attribute arguments: integers, floats, strings and `30s`-style durations.
//!
//! Every reader takes the argument's name for its message and reports through `cx`,
//! returning `None` on a bad value, so one bad argument does not hide the next.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit};

use crate::diag::{Diagnostics, catalogue as msg};

/// A duration literal such as `200ms`, `30s`, `5m`, `1h` or `1.5s`, kept with its span.
#[derive(Debug, Clone, Copy)]
pub struct DurationLit {
    pub secs: u64,
    pub nanos: u32,
    pub span: Span,
}

impl DurationLit {
    pub fn as_nanos(&self) -> u128 {
        u128::from(self.secs) * 1_000_000_000 + u128::from(self.nanos)
    }
}

impl quote::ToTokens for DurationLit {
    fn to_tokens(&self, tokens: &mut proc_macro2::TokenStream) {
        let (secs, nanos) = (self.secs, self.nanos);
        tokens.extend(quote::quote_spanned! {self.span=>
            ::typedflow::__private::Duration::new(#secs, #nanos)
        });
    }
}

fn kind_of(expr: &Expr) -> &'static str {
    match expr {
        Expr::Lit(ExprLit { lit, .. }) => match lit {
            Lit::Str(_) => "a string",
            Lit::Int(_) => "an integer",
            Lit::Float(_) => "a number with a fraction",
            Lit::Bool(_) => "a boolean",
            _ => "a literal",
        },
        Expr::Path(_) => "a name",
        Expr::Call(_) => "a call",
        _ => "an expression",
    }
}

/// A whole number within `min..=u32::MAX`, e.g. `max_steps = 50`.
pub fn read_u32(cx: &mut Diagnostics, key: &str, expr: &Expr, min: u32) -> Option<u32> {
    let example = format!("`{key} = {}`", min.max(3));
    let Expr::Lit(ExprLit {
        lit: Lit::Int(int), ..
    }) = expr
    else {
        let hint = match expr {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => {
                format!("; remove the quotes: `{key} = {}`", s.value())
            }
            _ => format!("; write {example}"),
        };
        cx.error(
            expr.span(),
            msg::not_a_whole_number(key, kind_of(expr), &hint),
        );
        return None;
    };
    if !int.suffix().is_empty() && int.suffix() != "u32" {
        cx.error(int.span(), msg::number_suffix(key, int.suffix()));
        return None;
    }
    match int.base10_parse::<u32>() {
        Ok(n) if n >= min => Some(n),
        Ok(n) => {
            cx.error(int.span(), msg::below_minimum(key, min, n));
            None
        }
        Err(_) => {
            cx.error(int.span(), msg::number_too_large(key));
            None
        }
    }
}

/// A number such as `2.0` or `2`, greater than zero, e.g. a backoff factor.
pub fn read_f64(cx: &mut Diagnostics, key: &str, expr: &Expr) -> Option<f64> {
    let value = match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Float(f), ..
        }) if f.suffix().is_empty() => f.base10_parse::<f64>().ok(),
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) if i.suffix().is_empty() => i.base10_parse::<f64>().ok(),
        _ => None,
    };
    match value {
        Some(v) if v.is_finite() && v > 0.0 => Some(v),
        Some(_) => {
            cx.error(expr.span(), msg::not_positive(key));
            None
        }
        None => {
            cx.error(expr.span(), msg::not_a_number(key, kind_of(expr)));
            None
        }
    }
}

/// A string literal, e.g. `name = "essay"`.
pub fn read_str(cx: &mut Diagnostics, key: &str, expr: &Expr) -> Option<syn::LitStr> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.clone()),
        _ => {
            cx.error(expr.span(), msg::not_a_string(key, kind_of(expr)));
            None
        }
    }
}

const UNITS: &str = "`ms`, `s`, `m` or `h`";

/// A duration literal greater than zero: `200ms`, `30s`, `5m`, `1h`, `1.5s`.
pub fn read_duration(cx: &mut Diagnostics, key: &str, expr: &Expr) -> Option<DurationLit> {
    read_time(cx, key, expr, false)
}

/// A delay of a backoff, which may be zero (`constant(0ms)`: retry at once, as tests and
/// fast local retries want).
pub fn read_delay(cx: &mut Diagnostics, key: &str, expr: &Expr) -> Option<DurationLit> {
    read_time(cx, key, expr, true)
}

fn read_time(cx: &mut Diagnostics, key: &str, expr: &Expr, zero: bool) -> Option<DurationLit> {
    let (digits, suffix, span) = match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => (
            i.base10_digits().to_owned(),
            i.suffix().to_owned(),
            i.span(),
        ),
        Expr::Lit(ExprLit {
            lit: Lit::Float(f), ..
        }) => (
            f.base10_digits().to_owned(),
            f.suffix().to_owned(),
            f.span(),
        ),
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => {
            cx.error(s.span(), msg::duration_in_quotes(key, &s.value()));
            return None;
        }
        _ => {
            cx.error(expr.span(), msg::not_a_duration(key, kind_of(expr), UNITS));
            return None;
        }
    };
    let unit_nanos: u128 = match suffix.as_str() {
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "" => {
            cx.error(span, msg::duration_without_unit(key, &digits, UNITS));
            return None;
        }
        other => {
            cx.error(span, msg::unknown_unit(key, other, UNITS));
            return None;
        }
    };
    let Ok(value) = digits.parse::<f64>() else {
        cx.error(span, msg::duration_not_a_number(key));
        return None;
    };
    let nanos = value * unit_nanos as f64;
    if nanos.is_nan() || (nanos < 1.0 && !(zero && nanos == 0.0)) {
        cx.error(span, msg::zero_duration(key));
        return None;
    }
    if nanos > (u64::MAX as f64) * 1e9 {
        cx.error(span, msg::duration_too_long(key));
        return None;
    }
    // Integers are exact; only a fractional literal goes through the float.
    let total: u128 = match digits.parse::<u128>() {
        Ok(whole) => whole * unit_nanos,
        Err(_) => nanos.round() as u128,
    };
    Some(DurationLit {
        secs: (total / 1_000_000_000) as u64,
        nanos: (total % 1_000_000_000) as u32,
        span,
    })
}
