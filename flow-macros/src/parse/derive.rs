//! The inputs of `#[derive(Deps)]` and `#[derive(Merge)]`.
//!
//! darling reads the shape of the derive input: the struct, its fields, their types and
//! the `#[merge(..)]` attributes forwarded to each field. The *values* of `#[merge(..)]`
//! are read by our `parse_args`, as those of `#[node(..)]` and `#[flow(..)]` are: darling
//! would report an unknown strategy as "Unknown field: `maxx`. Did you mean `max`?",
//! which calls a strategy a field and does not follow the catalogue's style.

use darling::ast::Data;
use darling::util::Ignored;
use darling::{FromDeriveInput, FromField};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, DeriveInput, Expr, Generics, Ident, Index, Type};

use crate::diag::{Diagnostics, Message, catalogue as msg};
use crate::parse::args::{parse_args, skip_value};

#[derive(FromDeriveInput)]
struct Input {
    ident: Ident,
    generics: Generics,
    data: Data<Ignored, Field>,
}

#[derive(FromField)]
#[darling(forward_attrs(merge))]
struct Field {
    ident: Option<Ident>,
    ty: Type,
    attrs: Vec<Attribute>,
}

/// A struct whose fields a derive reads.
pub struct DeriveStruct {
    pub ident: Ident,
    pub generics: Generics,
    /// Fields with names (`{ a, b }`), else a tuple struct or a unit struct.
    pub named: bool,
    pub fields: Vec<DeriveField>,
}

/// A field: how to reach it (`name` or `0`), its type and, for `Merge`, its strategy.
pub struct DeriveField {
    pub access: TokenStream,
    pub ty: Type,
    pub strategy: Option<TokenStream>,
}

/// The struct of a derive input, each field read by `field`; an enum or a union is
/// reported with `not_struct`.
fn parse_struct(
    cx: &mut Diagnostics,
    input: &DeriveInput,
    not_struct: fn() -> Message,
    mut strategy: impl FnMut(&mut Diagnostics, &Field) -> Option<TokenStream>,
) -> Option<DeriveStruct> {
    let parsed = match Input::from_derive_input(input) {
        Ok(parsed) => parsed,
        Err(err) => {
            cx.push(err.into());
            return None;
        }
    };
    let (Some(fields), syn::Data::Struct(_)) = (parsed.data.take_struct(), &input.data) else {
        cx.error(input.ident.span(), not_struct());
        return None;
    };
    let named = fields.style.is_struct();
    let fields = fields
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| DeriveField {
            access: match &f.ident {
                Some(name) => quote!(#name),
                None => {
                    let index = Index::from(i);
                    quote!(#index)
                }
            },
            ty: f.ty.clone(),
            strategy: strategy(cx, f),
        })
        .collect();
    Some(DeriveStruct {
        ident: parsed.ident,
        generics: parsed.generics,
        named,
        fields,
    })
}

/// `#[derive(Deps)]`: a struct whose fields are the dependencies.
pub fn parse_deps(cx: &mut Diagnostics, input: &DeriveInput) -> Option<DeriveStruct> {
    parse_struct(cx, input, msg::deps_not_struct, |_, _| None)
}

const STRATEGIES: &[&str] = &["overwrite", "keep_first", "append", "max", "min", "with"];

/// `#[derive(Merge)]`: a struct, each field with at most one `#[merge(strategy)]`.
pub fn parse_merge(cx: &mut Diagnostics, input: &DeriveInput) -> Option<DeriveStruct> {
    parse_struct(cx, input, msg::merge_not_struct, |cx, f| {
        merge_strategy(cx, &f.attrs)
    })
}

/// The strategy a field names: `typedflow::strategy::<name>` or the path given with
/// `with = path`, a function `fn(&mut T, T)`; `None` for the default, three-way merge.
fn merge_strategy(cx: &mut Diagnostics, attrs: &[Attribute]) -> Option<TokenStream> {
    let mut strategy: Option<TokenStream> = None;
    for attr in attrs {
        let tokens = match attr.meta.require_list() {
            Ok(list) => list.tokens.clone(),
            Err(err) => {
                cx.push(err);
                continue;
            }
        };
        parse_args(cx, "`#[merge]`", tokens, STRATEGIES, |cx, key, meta| {
            if strategy.is_some() {
                cx.error(meta.path.span(), msg::two_strategies());
                return skip_value(meta);
            }
            strategy = Some(match key {
                "with" => {
                    let f: Expr = meta.value()?.parse()?;
                    quote_spanned!(f.span()=> #f)
                }
                _ => {
                    let name = quote::format_ident!("{}", key, span = meta.path.span());
                    quote!(::typedflow::strategy::#name)
                }
            });
            Ok(())
        });
    }
    strategy
}
