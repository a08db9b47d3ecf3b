//! `#[derive(Merge)]`: merges the states of a merge join's branches against the state
//! before the fan-out, field by field: three ways by default, or with the strategy a
//! field's `#[merge(..)]` names.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::parse::derive::DeriveStruct;

pub fn expand_merge(input: &DeriveStruct) -> TokenStream {
    let fields = &input.fields;
    // The values of field k, one per branch, are gathered in `__flow_fk`.
    let lists: Vec<_> = (0..fields.len())
        .map(|k| format_ident!("__flow_f{}", k))
        .collect();
    let binds: Vec<_> = (0..fields.len())
        .map(|k| format_ident!("__flow_v{}", k))
        .collect();
    let accesses: Vec<_> = fields.iter().map(|f| &f.access).collect();
    let pattern = if input.named {
        quote!(Self { #(#accesses: #binds),* })
    } else {
        quote!(Self(#(#binds),*))
    };
    let merged = fields.iter().zip(&lists).map(|(field, list)| {
        let access = &field.access;
        let name = access.to_string();
        match &field.strategy {
            // The check is spanned on the field's type: a type that
            // cannot be compared is reported on the field, with the strategies to pick.
            None => quote_spanned! {field.ty.span()=>
                <::typedflow::checks::Graph as ::typedflow::checks::MergeField<_>>::merge(&base.#access, #list, #name)?
            },
            Some(strategy) => quote_spanned! {field.ty.span()=>
                ::typedflow::__private::merge_with(&base.#access, #list, #strategy)
            },
        }
    });
    let build = if input.named {
        quote!(Self { #(#accesses: #merged),* })
    } else {
        quote!(Self(#(#merged),*))
    };
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        impl #impl_generics ::typedflow::Merge for #ident #ty_generics #where_clause {
            fn merge(
                base: &Self,
                branches: ::std::vec::Vec<Self>,
            ) -> ::core::result::Result<Self, ::typedflow::MergeConflict> {
                #(let mut #lists = ::std::vec::Vec::with_capacity(branches.len());)*
                for #pattern in branches {
                    #(#lists.push(#binds);)*
                }
                ::core::result::Result::Ok(#build)
            }
        }
    }
}
