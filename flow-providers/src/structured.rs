//! Structured output: a JSON Schema from a Rust type goes with the request, and the
//! reply is parsed into that type, with an error that names the JSON path that failed.

use std::future::Future;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::error::{ProviderError, truncate_chars};
use crate::model::ChatModel;
use crate::types::{ChatRequest, ResponseFormat};

/// Generic helpers for every [`ChatModel`], kept apart so `ChatModel` stays object-safe.
///
/// Implemented for every `ChatModel`, including `Arc<dyn ChatModel>`.
pub trait ChatModelExt: ChatModel {
    /// Asks for a reply shaped as `T` and parses it into `T`.
    ///
    /// The JSON Schema of `T` is sent with the request ([`ResponseFormat::JsonSchema`]):
    /// OpenAI-compatible servers constrain the output to it; the Anthropic client puts
    /// it in the system prompt. The reply is then deserialized into `T` (leniently: a
    /// Markdown code fence or prose around the JSON is skipped).
    ///
    /// ```
    /// use typedflow_providers::{ChatModelExt as _, ChatRequest, ScriptedModel, ScriptedReply};
    ///
    /// #[derive(serde::Deserialize, schemars::JsonSchema, Debug, PartialEq)]
    /// struct City {
    ///     name: String,
    ///     population: u64,
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let model = ScriptedModel::new([
    ///     ScriptedReply::text(r#"{"name": "Paris", "population": 2102650}"#),
    ///     ScriptedReply::text(r#"{"name": "Paris", "population": "many"}"#),
    /// ]);
    /// let request = ChatRequest::new().user("the largest city of France");
    /// let city: City = model.structured(&request).await?;
    /// assert_eq!(city.population, 2_102_650);
    ///
    /// // The schema went with the request.
    /// assert!(model.requests()[0].response_format.is_some());
    ///
    /// // A reply that does not fit says where.
    /// let err = model.structured::<City>(&request).await.unwrap_err();
    /// assert!(err.to_string().contains("at `population`"), "{err}");
    /// # Ok::<(), typedflow_providers::ProviderError>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// Any error of [`chat`](ChatModel::chat), or [`ProviderError::InvalidOutput`] when
    /// the reply does not parse into `T`.
    fn structured<T>(
        &self,
        request: &ChatRequest,
    ) -> impl Future<Output = Result<T, ProviderError>> + Send
    where
        T: DeserializeOwned + JsonSchema + Send;
}

impl<M: ChatModel + ?Sized> ChatModelExt for M {
    async fn structured<T>(&self, request: &ChatRequest) -> Result<T, ProviderError>
    where
        T: DeserializeOwned + JsonSchema + Send,
    {
        let request = request.clone().response_format(response_format_for::<T>());
        let reply = self.chat(&request).await?;
        parse_structured(&reply.text)
    }
}

/// The [`ResponseFormat`] asking for a `T`: its JSON Schema, named after the type.
///
/// ```
/// use typedflow_providers::{ResponseFormat, response_format_for};
///
/// #[derive(schemars::JsonSchema)]
/// struct Answer { yes: bool }
///
/// let ResponseFormat::JsonSchema { name, schema, .. } = response_format_for::<Answer>() else {
///     unreachable!()
/// };
/// assert_eq!(name, "Answer");
/// assert_eq!(schema["properties"]["yes"]["type"], "boolean");
/// ```
pub fn response_format_for<T: JsonSchema>() -> ResponseFormat {
    let mut schema = schemars::SchemaGenerator::default()
        .into_root_schema_for::<T>()
        .to_value();
    if let Some(object) = schema.as_object_mut() {
        // The dialect marker is noise to servers that turn the schema into a grammar.
        object.remove("$schema");
    }
    let name: String = T::schema_name()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    ResponseFormat::JsonSchema {
        name,
        schema,
        strict: false,
    }
}

/// Parses a model's text into `T`.
///
/// Accepts the JSON alone, inside a Markdown code fence, or surrounded by prose (the
/// outermost `{..}` or `[..]` is taken).
///
/// ```
/// #[derive(serde::Deserialize, Debug)]
/// struct Score { value: u8 }
///
/// let s: Score = typedflow_providers::parse_structured("```json\n{\"value\": 7}\n```").unwrap();
/// assert_eq!(s.value, 7);
/// let err = typedflow_providers::parse_structured::<Score>("{\"value\": 700}").unwrap_err();
/// assert!(err.to_string().contains("at `value`"));
/// ```
///
/// # Errors
///
/// [`ProviderError::InvalidOutput`] naming the JSON path that failed.
pub fn parse_structured<T: DeserializeOwned>(text: &str) -> Result<T, ProviderError> {
    let invalid = |path: String, message: String| ProviderError::InvalidOutput {
        type_name: std::any::type_name::<T>(),
        path,
        message,
        output: truncate_chars(text.to_owned(), 500),
    };
    let mut de = serde_json::Deserializer::from_str(json_candidate(text));
    let value: T = serde_path_to_error::deserialize(&mut de)
        .map_err(|err| invalid(err.path().to_string(), err.into_inner().to_string()))?;
    // Anything after the value (a second object, stray text) is an error too.
    de.end()
        .map_err(|err| invalid(".".to_owned(), err.to_string()))?;
    Ok(value)
}

/// The part of `text` most likely to be the JSON value.
fn json_candidate(text: &str) -> &str {
    let trimmed = text.trim();
    if let Some(inner) = fenced(trimmed) {
        return inner.trim();
    }
    if trimmed.starts_with(['{', '[', '"']) || trimmed.parse::<f64>().is_ok() {
        return trimmed;
    }
    let open = trimmed.find(['{', '[']);
    let close = trimmed.rfind(['}', ']']);
    match (open, close) {
        (Some(open), Some(close)) if open < close => &trimmed[open..=close],
        _ => trimmed,
    }
}

/// The body of a Markdown code fence wrapping the whole text, if any.
fn fenced(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("```")?;
    let rest = rest.strip_suffix("```")?;
    // Skip the info string (`json`) up to the end of the opening line.
    let body_start = rest.find('\n')?;
    Some(&rest[body_start + 1..])
}

/// The instruction that asks for schema-shaped output where the API cannot enforce it.
#[cfg(feature = "anthropic")]
pub(crate) fn schema_instruction(schema: &serde_json::Value) -> String {
    format!(
        "Reply with a single JSON value and nothing else (no prose, no code fence). \
         It must be valid for this JSON Schema:\n{schema}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Point {
        x: i32,
        tags: Vec<String>,
    }

    #[test]
    fn accepts_bare_fenced_and_embedded_json() {
        let want = Point {
            x: 1,
            tags: vec!["a".into()],
        };
        for text in [
            r#"{"x":1,"tags":["a"]}"#,
            "```json\n{\"x\":1,\"tags\":[\"a\"]}\n```",
            "```\n{\"x\":1,\"tags\":[\"a\"]}\n```",
            "Sure! Here it is: {\"x\":1,\"tags\":[\"a\"]} Hope that helps.",
        ] {
            assert_eq!(parse_structured::<Point>(text).unwrap(), want, "{text}");
        }
    }

    #[test]
    fn names_the_failing_path() {
        let err = parse_structured::<Point>(r#"{"x":1,"tags":["a",2]}"#).unwrap_err();
        match err {
            ProviderError::InvalidOutput {
                path, type_name, ..
            } => {
                assert_eq!(path, "tags[1]");
                assert!(type_name.ends_with("Point"));
            }
            other => panic!("unexpected {other:?}"),
        }
        let err = parse_structured::<Point>(r#"{"x":1}"#).unwrap_err();
        assert!(err.to_string().contains("missing field `tags`"), "{err}");
        let err = parse_structured::<Point>("not json at all").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidOutput);
        let err = parse_structured::<Point>(r#"{"x":1,"tags":[]} {"x":2}"#).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidOutput);
    }

    #[test]
    fn schema_names_are_sanitized() {
        let ResponseFormat::JsonSchema { name, schema, .. } = response_format_for::<Vec<u8>>();
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "{name}"
        );
        assert!(schema.get("$schema").is_none());
    }
}
