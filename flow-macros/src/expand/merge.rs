//! `#[derive(Merge)]`: merges a later branch's state into an earlier one, field by field,
//! with the strategy each field's `#[merge(..)]` names (overwrite when none).

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::parse::derive::DeriveStruct;

pub fn expand_merge(input: &DeriveStruct) -> TokenStream {
    let merges = input.fields.iter().map(|field| {
        let access = &field.access;
        let strategy = match &field.strategy {
            Some(strategy) => strategy.clone(),
            None => quote!(::typedflow::strategy::overwrite),
        };
        quote_spanned!(field.ty.span()=> #strategy(&mut self.#access, later.#access);)
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
