//! Structured output: a JSON Schema from a Rust type goes with the request, and the
//! reply is parsed into that type, with an error that names the JSON path that failed.

use std::future::Future;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::error::ProviderError;
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
/// Accepts the JSON alone, inside a Markdown code fence, or surrounded by prose: the
/// JSON values in the text are tried in order (the fenced body or the whole text first,
/// then each `{..}` or `[..]` that parses as JSON) and the first that deserializes into
/// `T` is taken, so brackets or braces in the prose before or after it do no harm.
///
/// ```
/// #[derive(serde::Deserialize, Debug)]
/// struct Score { value: u8 }
///
/// let s: Score = typedflow_providers::parse_structured("```json\n{\"value\": 7}\n```").unwrap();
/// assert_eq!(s.value, 7);
/// let s: Score = typedflow_providers::parse_structured("[draft] {\"value\": 8} (out of {max})").unwrap();
/// assert_eq!(s.value, 8);
/// let err = typedflow_providers::parse_structured::<Score>("{\"value\": 700}").unwrap_err();
/// assert!(err.to_string().contains("at `value`"));
/// ```
///
/// # Errors
///
/// [`ProviderError::InvalidOutput`] when no JSON value in the text fits `T`: it names the
/// JSON path that failed in the first JSON value found (or says that none was found),
/// and keeps at most the first KiB of the text and of the message, with the total
/// length.
pub fn parse_structured<T: DeserializeOwned>(text: &str) -> Result<T, ProviderError> {
    let invalid = |path: String, message: String| ProviderError::InvalidOutput {
        type_name: std::any::type_name::<T>(),
        path,
        message: excerpt(&message),
        output: excerpt(text),
    };
    let mut first_mismatch = None;
    for candidate in candidates(text) {
        match serde_path_to_error::deserialize::<_, T>(candidate) {
            Ok(value) => return Ok(value),
            Err(err) => {
                first_mismatch
                    .get_or_insert_with(|| (err.path().to_string(), err.into_inner().to_string()));
            }
        }
    }
    let (path, message) = first_mismatch.unwrap_or_else(|| {
        (
            ".".to_owned(),
            syntax_error(text).unwrap_or_else(|| "the text holds no json value".to_owned()),
        )
    });
    Err(invalid(path, message))
}

/// The most JSON values looked at in one text: the search stays linear in practice,
/// however many brackets the prose has.
const MAX_CANDIDATES: usize = 32;

/// The JSON values in `text`, in order: the fenced body or the whole text if it is one
/// value, then each `{..}` or `[..]` starting in the text that parses as JSON (values
/// inside a value are not looked at apart from it).
fn candidates(text: &str) -> impl Iterator<Item = serde_json::Value> + '_ {
    let trimmed = text.trim();
    let whole = fenced(trimmed).map_or(trimmed, str::trim);
    let first = serde_json::from_str::<serde_json::Value>(whole).ok();
    // A text that is one value holds no other: inner values are parts of it.
    let mut looked = if first.is_some() { MAX_CANDIDATES } else { 0 };
    let mut at = 0;
    let embedded = std::iter::from_fn(move || {
        while looked < MAX_CANDIDATES {
            let start = at + trimmed.get(at..)?.find(['{', '['])?;
            looked += 1;
            let mut values = serde_json::Deserializer::from_str(&trimmed[start..])
                .into_iter::<serde_json::Value>();
            match values.next() {
                Some(Ok(value)) => {
                    at = start + values.byte_offset();
                    return Some(value);
                }
                // Not JSON here: look from the next character.
                _ => at = start + 1,
            }
        }
        None
    });
    first.into_iter().chain(embedded)
}

/// Why the text as a whole is not JSON, when it looks like it was meant to be.
fn syntax_error(text: &str) -> Option<String> {
    let trimmed = text.trim();
    let whole = fenced(trimmed).map_or(trimmed, str::trim);
    if !whole.starts_with(['{', '[', '"']) {
        return None;
    }
    serde_json::from_str::<serde::de::IgnoredAny>(whole)
        .err()
        .map(|err| err.to_string())
}

/// At most [`MAX_ECHO`] bytes of `text` (cut on a character boundary), saying how long
/// the whole was when it is cut.
fn excerpt(text: &str) -> String {
    if text.len() <= MAX_ECHO {
        return text.to_owned();
    }
    let mut cut = MAX_ECHO;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..cut], text.len())
}

/// The body of a Markdown code fence wrapping the whole text, if any.
fn fenced(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("```")?;
    let rest = rest.strip_suffix("```")?;
    // Skip the info string (`json`) up to the end of the opening line.
    let body_start = rest.find('\n')?;
    Some(&rest[body_start + 1..])
}

/// The most bytes of the model's text (or of a message quoting it) an error keeps.
const MAX_ECHO: usize = 1024;

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
    fn skips_brackets_and_braces_in_the_prose_around_the_value() {
        let want = Point {
            x: 1,
            tags: vec!["a".into()],
        };
        for text in [
            "Options [a, b] considered. Answer: {\"x\":1,\"tags\":[\"a\"]}",
            "Answer: {\"x\":1,\"tags\":[\"a\"]} (format: {x, tags})",
            "[draft] {\"y\": 2} then {\"x\":1,\"tags\":[\"a\"]} and [1, 2]",
            "{\"x\":1,\"tags\":[\"a\"]} {\"x\":2,\"tags\":[]}",
        ] {
            assert_eq!(parse_structured::<Point>(text).unwrap(), want, "{text}");
        }
        // A value that is JSON but not a `Point` still names the path that failed.
        let err =
            parse_structured::<Point>("Here: [note] {\"x\": \"one\", \"tags\": []}").unwrap_err();
        assert!(
            matches!(&err, ProviderError::InvalidOutput { path, .. } if path == "x"),
            "{err:?}"
        );
    }

    #[test]
    fn a_huge_bad_value_is_not_echoed_whole() {
        let huge = "v".repeat(10 * 1024 * 1024);
        let text = format!("{{\"x\": \"{huge}\", \"tags\": []}}");
        let err = parse_structured::<Point>(&text).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(shown.len() < 8 * 1024, "{} bytes shown", shown.len());
        let ProviderError::InvalidOutput {
            output, message, ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert!(output.len() <= MAX_ECHO + 64, "{}", output.len());
        assert!(
            output.contains(&format!("{} bytes in all", text.len())),
            "{output}"
        );
        assert!(message.len() <= MAX_ECHO + 64, "{}", message.len());
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
        let err = parse_structured::<Point>("{\"x\":1, \"tags\": [").unwrap_err();
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
