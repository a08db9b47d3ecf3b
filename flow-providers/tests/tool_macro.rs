//! `#[tool]`: the tool it makes of each kind of function (fallible, an alias of
//! `Result`, infallible, without arguments, returning nothing), as a toolbox and a model
//! see it; the function itself stays callable.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly; helpers outside #[test] fns unwrap too"
)]

use serde_json::json;
use typedflow_providers::{NoArgs, Tool, ToolCall, Toolbox, tool};

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct Weather {
    /// The city, e.g. "Paris".
    city: String,
    /// The unit: `C` or `F`.
    #[serde(default)]
    unit: Option<String>,
}

#[derive(Debug, serde::Serialize)]
struct Forecast {
    city: String,
    degrees: i32,
}

/// The weather in a city, now.
///
/// Ask for it before answering questions about the weather.
///
/// # Errors
///
/// When the city has no station.
#[tool]
async fn get_weather(args: Weather) -> Result<Forecast, String> {
    let degrees = match args.city.as_str() {
        "Paris" => 21,
        other => return Err(format!("no station in {other}")),
    };
    let degrees = match args.unit.as_deref() {
        Some("F") => degrees * 9 / 5 + 32,
        _ => degrees,
    };
    Ok(Forecast {
        city: args.city,
        degrees,
    })
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Path {
    path: String,
}

/// The size of a file, in bytes.
#[tool]
async fn file_size(args: Path) -> std::io::Result<u64> {
    if args.path.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "empty path",
        ));
    }
    Ok(args.path.len() as u64)
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Pair {
    a: i64,
    b: i64,
}

/// Adds two integers.
#[tool]
async fn add(Pair { a, b }: Pair) -> i64 {
    a + b
}

/// The time, UTC.
#[tool]
async fn now() -> String {
    "12:00".to_owned()
}

/// Forgets everything.
#[tool]
async fn forget(_: NoArgs) {}

fn tools() -> Toolbox {
    Toolbox::new()
        .with_tool(GetWeather)
        .unwrap()
        .with_tool(FileSize)
        .unwrap()
        .with_tool(Add)
        .unwrap()
        .with_tool(Now)
        .unwrap()
        .with_tool(Forget)
        .unwrap()
}

#[test]
fn name_description_and_schema_come_from_the_function() {
    assert_eq!(GetWeather.name(), "get_weather");
    assert_eq!(
        GetWeather.description(),
        "The weather in a city, now.\n\nAsk for it before answering questions about the weather."
    );
    let definitions = tools().definitions();
    let names: Vec<&str> = definitions.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["get_weather", "file_size", "add", "now", "forget"]);

    let weather = &definitions[0].parameters;
    assert_eq!(weather["type"], "object");
    assert_eq!(weather["required"], json!(["city"]));
    assert_eq!(
        weather["properties"]["city"]["description"],
        "The city, e.g. \"Paris\"."
    );
    // No arguments: an empty object, which both APIs accept.
    assert_eq!(definitions[3].parameters["type"], "object");
    assert_eq!(definitions[3].parameters["properties"], json!({}));
    assert_eq!(definitions[4].parameters, definitions[3].parameters);
}

#[tokio::test]
async fn each_kind_of_function_answers_the_model() {
    let tools = tools();
    let call = |name: &str, args: serde_json::Value| ToolCall::new("call", name, args);

    let ok = tools
        .call(&call("get_weather", json!({"city": "Paris", "unit": "F"})))
        .await;
    assert_eq!(
        (ok.is_error, ok.content.as_str()),
        (false, r#"{"city":"Paris","degrees":69}"#)
    );
    let failed = tools
        .call(&call("get_weather", json!({"city": "Lyon"})))
        .await;
    assert!(failed.is_error);
    assert_eq!(
        failed.content,
        "error: `get_weather` failed: no station in Lyon"
    );

    assert_eq!(
        tools
            .call(&call("file_size", json!({"path": "abc"})))
            .await
            .content,
        "3"
    );
    let io = tools.call(&call("file_size", json!({"path": ""}))).await;
    assert_eq!(io.content, "error: `file_size` failed: empty path");

    let sum = tools.call(&call("add", json!({"a": 2, "b": 40}))).await;
    assert_eq!(sum.content, "42");
    let bad = tools.call(&call("add", json!({"a": 2}))).await;
    assert!(bad.is_error);
    assert!(bad.content.contains("missing field `b`"), "{}", bad.content);

    // A string is sent as itself; extra arguments to a tool without any are ignored.
    let time = tools.call(&call("now", json!({"zone": "UTC"}))).await;
    assert_eq!((time.is_error, time.content.as_str()), (false, "12:00"));
    let nothing = tools.call(&ToolCall::from_raw("call", "forget", "")).await;
    assert_eq!(
        (nothing.is_error, nothing.content.as_str()),
        (false, "null")
    );
}

#[tokio::test]
async fn the_functions_stay_callable() {
    let forecast = get_weather(Weather {
        city: "Paris".into(),
        unit: None,
    })
    .await
    .unwrap();
    assert_eq!(forecast.degrees, 21);
    assert_eq!(add(Pair { a: 1, b: 2 }).await, 3);
    assert_eq!(now().await, "12:00");
    forget(NoArgs {}).await;
}

#[test]
fn the_tool_types_are_plain_values() {
    fn assert_tool<T: Tool + Copy + Default + std::fmt::Debug>(_: T) {}
    assert_tool(GetWeather);
    assert_tool(<FileSize as Default>::default());
    assert_eq!(format!("{Add:?}"), "Add");
}
