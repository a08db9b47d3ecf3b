//! `#[derive(Merge)]`: merges a later branch's state into an earlier one, field by field,
//! with the strategy each field's `#[merge(..)]` names (overwrite when none).

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Expr, Fields, Index};

use crate::diag::{Diagnostics, catalogue as msg};
use crate::parse::args::parse_args;

const STRATEGIES: &[&str] = &["overwrite", "keep_first", "append", "max", "min", "with"];

pub fn expand_merge(cx: &mut Diagnostics, input: &DeriveInput) -> TokenStream {
    let Data::Struct(data) = &input.data else {
        cx.error(input.ident.span(), msg::merge_not_struct());
        return TokenStream::new();
    };
    let fields = match &data.fields {
        Fields::Named(f) => f.named.iter().collect::<Vec<_>>(),
        Fields::Unnamed(f) => f.unnamed.iter().collect(),
        Fields::Unit => Vec::new(),
    };
    let merges = fields.iter().enumerate().map(|(i, field)| {
        let access = match &field.ident {
            Some(name) => quote!(#name),
            None => {
                let index = Index::from(i);
                quote!(#index)
            }
        };
        let mut strategy: Option<TokenStream> = None;
        for attr in field.attrs.iter().filter(|a| a.path().is_ident("merge")) {
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
                    return crate::parse::args::skip_value(meta);
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
        let strategy = strategy.unwrap_or_else(|| quote!(::typedflow::strategy::overwrite));
        let span = field.ty.span();
        quote_spanned!(span=> #strategy(&mut self.#access, later.#access);)
    });
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        impl #impl_generics ::typedflow::Merge for #ident #ty_generics #where_clause {
            fn merge(&mut self, later: Self) {
                #(#merges)*
            }
        }
    }
}
