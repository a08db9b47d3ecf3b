//! `#[tool]`: a typed tool a model can call, from an `async fn` of one argument.
//!
//! The stages of the other macros, small: read the signature, collecting every mistake
//! as an error on the user's token, then (only without errors) expand. The function is
//! always emitted as written, so a mistake in the signature does not hide the body from
//! the compiler or rust-analyzer.
//!
//! The expansion is a unit struct named after the function in UpperCamelCase
//! (`get_weather` -> `GetWeather`), implementing `typedflow_providers::Tool`: the name is
//! the function's, the description its doc comment, `Args` its argument's type (whose
//! JSON Schema the model sees) and `Output` what it returns. Unlike `#[node]`, whose type
//! lives only in the type namespace, a tool needs a value to hand to a `Toolbox`, and a
//! unit struct of the function's own name would clash with the function in the value
//! namespace: hence the second name, the one a Rust reader expects of a type.
//!
//! The messages are here rather than in `diag`'s catalogue: this macro belongs to
//! `typedflow-providers` (which re-exports it) and its compile-fail cases live there.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::{FnArg, GenericArgument, Ident, ItemFn, PathArguments, ReturnType, Type};

/// The longest name both APIs accept for a tool.
const MAX_NAME: usize = 64;

/// Every message `#[tool]` emits.
pub(crate) mod msg {
    pub fn not_fn() -> String {
        "`#[tool]` goes on an `async fn` whose one argument is what the model sends".into()
    }
    pub fn attribute_args() -> String {
        "`#[tool]` takes no arguments: the tool's name is the function's, its description the function's doc comment".into()
    }
    pub fn not_async(name: &str) -> String {
        format!("a tool is an `async fn`; write `async fn {name}`")
    }
    pub fn qualifier(which: &str) -> String {
        format!("a tool cannot be `{which}`; write a plain `async fn`")
    }
    pub fn generic() -> String {
        "a tool cannot be generic: the model is shown the JSON Schema of one concrete argument type; name the types".into()
    }
    pub fn method() -> String {
        "`#[tool]` goes on a free function, not a method; for a tool with state, implement `Tool` for your type".into()
    }
    pub fn several_args(name: &str) -> String {
        format!(
            "a tool takes one argument, the arguments the model sends as one JSON object; put the parameters of `{name}` in one struct deriving `Deserialize` and `JsonSchema`"
        )
    }
    pub fn borrowed_arg() -> String {
        "a tool's argument is deserialized from the model's JSON, so it is taken by value: remove the `&`".into()
    }
    pub fn impl_trait_arg() -> String {
        "a tool's argument must be a concrete type deriving `Deserialize` and `JsonSchema`, not `impl Trait`".into()
    }
    pub fn impl_trait_output() -> String {
        "a tool returns a concrete type that implements `Serialize` (or a `Result` of one), not `impl Trait`".into()
    }
    pub fn no_doc(name: &str) -> String {
        format!(
            "document `{name}`: its doc comment is the tool's description, which the model reads to decide when to call it"
        )
    }
    pub fn bad_name(name: &str) -> String {
        format!(
            "the tool name `{name}` is not accepted by the model APIs (ASCII letters, digits and `_`, at most 64 characters); rename the function"
        )
    }
}

/// The function, read: what the expansion needs.
struct ToolSig {
    vis: syn::Visibility,
    ident: Ident,
    name: String,
    description: String,
    /// The argument's type; `None` for a tool without arguments.
    arg: Option<Type>,
    output: Output,
}

enum Output {
    /// `-> T` or nothing: the tool cannot fail.
    Value(Option<Type>),
    /// `-> Result<T, E>`: both written out.
    Result(Box<Type>, Box<Type>),
    /// `-> anyhow::Result<T>` and other aliases named `Result`.
    Alias(Type),
}

/// `#[tool]`'s entry: the errors, the function as written, and the tool beside it.
pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Vec::new();
    if !args.is_empty() {
        errors.push(syn::Error::new_spanned(&args, msg::attribute_args()));
    }
    let generated = match syn::parse2::<ItemFn>(item.clone()) {
        Ok(func) => read(&mut errors, &func)
            .filter(|_| errors.is_empty())
            .map(|sig| expand_tool(&sig)),
        Err(_) => {
            errors.push(syn::Error::new(Span::call_site(), msg::not_fn()));
            None
        }
    };
    let errors = errors.iter().map(syn::Error::to_compile_error);
    quote!(#(#errors)* #item #generated)
}

/// Reads the signature and the doc comment, reporting every mistake into `errors`.
fn read(errors: &mut Vec<syn::Error>, func: &ItemFn) -> Option<ToolSig> {
    let sig = &func.sig;
    let ident = &sig.ident;
    let name = ident.to_string().trim_start_matches("r#").to_owned();
    let mut error = |tokens: &dyn ToTokens, message: String| {
        errors.push(syn::Error::new_spanned(tokens, message));
    };
    if sig.asyncness.is_none() {
        error(&sig.fn_token, msg::not_async(&name));
    }
    if let Some(c) = &sig.constness {
        error(c, msg::qualifier("const"));
    }
    if let syn::Safety::Unsafe(u) = &sig.safety {
        error(u, msg::qualifier("unsafe"));
    }
    if let Some(abi) = &sig.abi {
        error(abi, msg::qualifier("extern"));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        error(&sig.generics, msg::generic());
    }
    if let Some(v) = &sig.variadic {
        error(v, msg::several_args(&name));
    }
    let valid_name =
        name.len() <= MAX_NAME && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid_name {
        error(ident, msg::bad_name(&name));
    }

    let mut arg = None;
    let mut typed = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(recv) => error(recv, msg::method()),
            FnArg::Typed(pat_ty) => typed.push(pat_ty),
        }
    }
    if let Some(first) = typed.first() {
        match &*first.ty {
            Type::Reference(r) => error(&r.and_token, msg::borrowed_arg()),
            Type::ImplTrait(t) => error(t, msg::impl_trait_arg()),
            ty => arg = Some(ty.clone()),
        }
    }
    if typed.len() > 1 {
        let rest = &typed[1..];
        error(&quote!(#(#rest),*), msg::several_args(&name));
    }

    let output = match &sig.output {
        ReturnType::Default => Some(Output::Value(None)),
        ReturnType::Type(_, ty) => match &**ty {
            Type::ImplTrait(t) => {
                error(t, msg::impl_trait_output());
                None
            }
            ty => Some(output_of(ty)),
        },
    };

    let description = description(&func.attrs);
    if description.is_empty() {
        error(ident, msg::no_doc(&name));
    }
    Some(ToolSig {
        vis: func.vis.clone(),
        ident: ident.clone(),
        name,
        description,
        arg,
        output: output?,
    })
}

/// `Result<T, E>` with both written, an alias named `Result`, or any other value.
fn output_of(ty: &Type) -> Output {
    let Type::Path(p) = ty else {
        return Output::Value(Some(ty.clone()));
    };
    let Some(last) = p.path.segments.last() else {
        return Output::Value(Some(ty.clone()));
    };
    if p.qself.is_some() || last.ident != "Result" {
        return Output::Value(Some(ty.clone()));
    }
    if let PathArguments::AngleBracketed(args) = &last.arguments {
        let types: Vec<&Type> = args
            .args
            .iter()
            .filter_map(|a| match a {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect();
        if let [ok, err] = types[..] {
            return Output::Result(Box::new(ok.clone()), Box::new(err.clone()));
        }
    }
    Output::Alias(ty.clone())
}

/// The doc comment up to its first heading (`# Errors`, `# Examples`: written for Rust
/// readers, not for the model), each line without the one space `///` leaves.
fn description(attrs: &[syn::Attribute]) -> String {
    let mut lines = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        let syn::Meta::NameValue(nv) = &attr.meta else {
            continue;
        };
        let syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) = &nv.value
        else {
            continue;
        };
        for line in s.value().split('\n') {
            lines.push(line.strip_prefix(' ').unwrap_or(line).trim_end().to_owned());
        }
    }
    let end = lines
        .iter()
        .position(|l| l.starts_with("# "))
        .unwrap_or(lines.len());
    lines[..end].join("\n").trim().to_owned()
}

/// `get_weather` -> `GetWeather`.
fn type_name(ident: &Ident, name: &str) -> Ident {
    let camel: String = name
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect::<String>()
            })
        })
        .collect();
    format_ident!("{}", camel, span = ident.span())
}

fn expand_tool(sig: &ToolSig) -> TokenStream {
    let ToolSig {
        vis,
        ident,
        name,
        description,
        arg,
        output,
    } = sig;
    let ty = type_name(ident, name);
    let (args_ty, call) = match arg {
        Some(arg) => (quote!(#arg), quote!(#ident(__flow_args))),
        None => (
            quote!(::typedflow_providers::NoArgs),
            quote!({
                let ::typedflow_providers::NoArgs {} = __flow_args;
                #ident()
            }),
        ),
    };
    let (output_ty, error_ty, body) = match output {
        Output::Value(ty) => {
            let ty = ty.as_ref().map_or_else(|| quote!(()), |t| quote!(#t));
            // On the function's name: a future that is not `Send` is reported there.
            let body = quote_spanned! {ident.span()=>
                async move {
                    ::core::result::Result::Ok::<_, ::core::convert::Infallible>(#call.await)
                }
            };
            (ty, quote!(::core::convert::Infallible), body)
        }
        Output::Result(ok, err) => (quote!(#ok), quote!(#err), call.clone()),
        Output::Alias(ty) => (
            quote!(<#ty as ::typedflow_providers::__private::ToolOutcome>::Output),
            quote!(<#ty as ::typedflow_providers::__private::ToolOutcome>::Error),
            call.clone(),
        ),
    };
    let doc = format!(
        "The tool of [`{name}()`](fn@{name}), generated by `#[tool]`: add it to a `Toolbox` (`.with_tool({ty})`); the model calls it `{name}`."
    );
    // Spanned at the attribute, not on the function: with the function's span, lints
    // (clippy's `manual_async_fn`) would take this method for the user's code.
    let call_fn = quote! {
        fn call(
            &self,
            __flow_args: Self::Args,
        ) -> impl ::core::future::Future<
            Output = ::core::result::Result<Self::Output, Self::Error>,
        > + ::core::marker::Send {
            #body
        }
    };
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, Copy, Default)]
        #vis struct #ty;

        const _: () = {
            impl ::typedflow_providers::Tool for #ty {
                type Args = #args_ty;
                type Output = #output_ty;
                type Error = #error_ty;

                fn name(&self) -> &str {
                    #name
                }

                fn description(&self) -> &str {
                    #description
                }

                #call_fn
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages of an invocation, in order.
    fn messages(args: TokenStream, item: TokenStream) -> Vec<String> {
        let mut errors = Vec::new();
        if !args.is_empty() {
            errors.push(msg::attribute_args());
        }
        match syn::parse2::<ItemFn>(item) {
            Ok(func) => {
                let mut found = Vec::new();
                let _ = read(&mut found, &func);
                errors.extend(found.iter().map(ToString::to_string));
            }
            Err(_) => errors.push(msg::not_fn()),
        }
        errors
    }

    fn pretty(tokens: TokenStream) -> String {
        let file: syn::File = syn::parse2(tokens).expect("the expansion parses as a file");
        prettyplease::unparse(&file)
    }

    #[test]
    fn a_valid_tool_has_no_messages() {
        let msgs = messages(
            quote!(),
            quote! {
                /// The weather in a city.
                async fn get_weather(args: Weather) -> Result<Forecast, String> { todo() }
            },
        );
        assert_eq!(msgs, Vec::<String>::new());
    }

    #[test]
    fn every_mistake_of_a_signature_is_reported() {
        let msgs = messages(
            quote!(name = "x"),
            quote! {
                const unsafe extern "C" fn bad<T>(&self, a: &A, b: B, c: C) -> impl Serialize {}
            },
        );
        assert_eq!(
            msgs,
            [
                msg::attribute_args(),
                msg::not_async("bad"),
                msg::qualifier("const"),
                msg::qualifier("unsafe"),
                msg::qualifier("extern"),
                msg::generic(),
                msg::method(),
                msg::borrowed_arg(),
                msg::several_args("bad"),
                msg::impl_trait_output(),
                msg::no_doc("bad"),
            ]
        );
    }

    #[test]
    fn a_name_the_apis_refuse_is_an_error() {
        let long = format_ident!("{}", "a".repeat(65));
        let msgs = messages(
            quote!(),
            quote!(/// Too long.
        async fn #long(x: X) {}),
        );
        assert_eq!(msgs, [msg::bad_name(&"a".repeat(65))]);
        let msgs = messages(
            quote!(),
            quote!(
                /// Not ASCII.
                async fn café(x: X) {}
            ),
        );
        assert_eq!(msgs, [msg::bad_name("café")]);
    }

    #[test]
    fn not_a_function_is_one_error() {
        assert_eq!(
            messages(
                quote!(),
                quote!(
                    struct S;
                )
            ),
            [msg::not_fn()],
            "on a struct"
        );
        let out = expand(
            quote!(),
            quote!(
                struct S;
            ),
        )
        .to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("struct S"), "the item is kept: {out}");
    }

    #[test]
    fn the_description_stops_at_the_first_heading() {
        let attrs: Vec<syn::Attribute> = vec![
            syn::parse_quote!(#[doc = " The weather in a city,"]),
            syn::parse_quote!(#[doc = "  now (indented)."]),
            syn::parse_quote!(#[doc = ""]),
            syn::parse_quote!(#[doc = " # Errors"]),
            syn::parse_quote!(#[doc = " When the station is down."]),
        ];
        assert_eq!(
            description(&attrs),
            "The weather in a city,\n now (indented)."
        );
    }

    #[test]
    fn type_names_are_upper_camel_case() {
        let name = |s: &str| type_name(&format_ident!("{}", s), s).to_string();
        assert_eq!(name("get_weather"), "GetWeather");
        assert_eq!(name("search"), "Search");
        assert_eq!(name("to_utc_2"), "ToUtc2");
        assert_eq!(name("_private_thing"), "PrivateThing");
    }

    #[test]
    fn with_errors_the_function_alone_is_emitted() {
        let out = expand(
            quote!(),
            quote!(
                fn sync_tool(x: X) -> u32 {
                    1
                }
            ),
        )
        .to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("fn sync_tool"), "{out}");
        assert!(!out.contains("impl"), "no tool type: {out}");
    }

    #[test]
    fn tool_expansions() {
        let fallible = expand(
            quote!(),
            quote! {
                /// The weather in a city, now.
                ///
                /// # Errors
                ///
                /// When the city has no station.
                pub async fn get_weather(args: Weather) -> Result<Forecast, NoStation> {
                    forecast(args).await
                }
            },
        );
        let infallible = expand(
            quote!(),
            quote! {
                /// Adds two numbers.
                async fn add(args: Pair) -> i64 { args.a + args.b }
            },
        );
        let alias = expand(
            quote!(),
            quote! {
                /// The time in UTC.
                pub(crate) async fn now() -> anyhow::Result<String> { Ok(clock()) }
            },
        );
        insta::assert_snapshot!(format!(
            "{}\n// ----\n{}\n// ----\n{}",
            pretty(fallible),
            pretty(infallible),
            pretty(alias)
        ));
    }
}
