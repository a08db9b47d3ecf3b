//! The toolbox: dispatch by name, every way a call can go wrong turned into an error
//! result for the model, and per-tool timeouts on tokio's paused clock.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly; helpers outside #[test] fns unwrap too"
)]

use std::num::NonZeroUsize;
use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;
use typedflow_providers::{ConfigError, Tool, ToolCall, ToolError, ToolResult, Toolbox};

/// Arguments of `get_weather`.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Weather {
    /// The city.
    city: String,
    /// How many days ahead.
    #[serde(default)]
    days: u8,
}

#[derive(serde::Serialize)]
struct Forecast {
    city: String,
    celsius: Vec<i32>,
}

struct GetWeather;

impl Tool for GetWeather {
    type Args = Weather;
    type Output = Forecast;
    type Error = String;
    fn name(&self) -> &str {
        "get_weather"
    }
    fn description(&self) -> &str {
        "the weather in a city"
    }
    async fn call(&self, args: Weather) -> Result<Forecast, String> {
        if args.city == "Atlantis" {
            return Err("no station in Atlantis".into());
        }
        Ok(Forecast {
            city: args.city,
            celsius: (0..=i32::from(args.days)).map(|d| 20 + d).collect(),
        })
    }
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Nap {
    seconds: u64,
}

/// Sleeps on tokio's clock, then answers in text.
struct Sleep(&'static str);

impl Tool for Sleep {
    type Args = Nap;
    type Output = String;
    type Error = std::convert::Infallible;
    fn name(&self) -> &str {
        self.0
    }
    fn description(&self) -> &str {
        "sleeps"
    }
    async fn call(&self, args: Nap) -> Result<String, Self::Error> {
        tokio::time::sleep(Duration::from_secs(args.seconds)).await;
        Ok(format!("slept {}s", args.seconds))
    }
}

struct Crash;

impl Tool for Crash {
    type Args = Nap;
    type Output = ();
    type Error = String;
    fn name(&self) -> &str {
        "crash"
    }
    fn description(&self) -> &str {
        "panics"
    }
    async fn call(&self, _args: Nap) -> Result<(), String> {
        panic!("the tool's bug")
    }
}

fn toolbox() -> Toolbox {
    Toolbox::new()
        .with_tool(GetWeather)
        .unwrap()
        .with_tool(Sleep("sleep"))
        .unwrap()
        .with_tool(Crash)
        .unwrap()
}

fn call(name: &str, arguments: &str) -> ToolCall {
    ToolCall::from_raw("call_1", name, arguments)
}

#[test]
fn definitions_carry_each_tools_schema_in_order() {
    let defs = toolbox().definitions();
    let names: Vec<_> = defs.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["get_weather", "sleep", "crash"]);
    assert_eq!(defs[0].description, "the weather in a city");
    assert_eq!(defs[0].parameters["required"], json!(["city"]));
    assert_eq!(
        defs[0].parameters["properties"]["city"],
        json!({"description": "The city.", "type": "string"})
    );
}

#[tokio::test]
async fn a_call_runs_its_tool_and_serializes_the_output() {
    let tools = toolbox();
    let result = tools
        .call(&call("get_weather", r#"{"city": "Paris", "days": 2}"#))
        .await;
    assert_eq!(
        result,
        ToolResult::ok("call_1", r#"{"city":"Paris","celsius":[20,21,22]}"#)
    );
    // A string output is sent as itself, not as a JSON string.
    let result = tools.call(&call("sleep", r#"{"seconds": 0}"#)).await;
    assert_eq!(result, ToolResult::ok("call_1", "slept 0s"));
}

#[tokio::test]
async fn the_models_mistakes_become_error_results_naming_them() {
    let tools = toolbox();
    let cases = [
        (
            call("get_wether", r#"{"city": "Paris"}"#),
            "unknown_tool",
            "error: unknown tool `get_wether`; the tools are: get_weather, sleep, crash",
        ),
        (
            call("get_weather", r#"{"city": "Par"#),
            "arguments_not_json",
            "error: the arguments of `get_weather` are not valid JSON (EOF while parsing a string at line 1 column 13); send one JSON object",
        ),
        (
            call("get_weather", r#"{"town": "Paris"}"#),
            "invalid_arguments",
            "error: the arguments of `get_weather` do not match its schema at `.`: missing field `city`; call it again with arguments valid for the schema",
        ),
        (
            call("get_weather", r#"{"city": "Paris", "days": "two"}"#),
            "invalid_arguments",
            "error: the arguments of `get_weather` do not match its schema at `days`: invalid type: string \"two\", expected u8; call it again with arguments valid for the schema",
        ),
        (
            call("get_weather", "[1, 2]"),
            "invalid_arguments",
            "error: the arguments of `get_weather` do not match its schema at `.`: expected a JSON object, found an array; call it again with arguments valid for the schema",
        ),
    ];
    for (call, class, message) in cases {
        let err = tools.dispatch(&call).await.unwrap_err();
        assert_eq!(err.as_str(), class, "{err}");
        assert!(err.is_model_mistake());
        assert_eq!(
            tools.call(&call).await,
            ToolResult::error("call_1", message)
        );
    }
}

#[tokio::test]
async fn a_tools_own_failure_and_its_panic_become_error_results() {
    let tools = toolbox();
    let failed = call("get_weather", r#"{"city": "Atlantis"}"#);
    assert_eq!(
        tools.dispatch(&failed).await,
        Err(ToolError::Failed {
            tool: "get_weather".into(),
            message: "no station in Atlantis".into()
        })
    );
    assert_eq!(
        tools.call(&failed).await,
        ToolResult::error(
            "call_1",
            "error: `get_weather` failed: no station in Atlantis"
        )
    );
    let crashed = call("crash", r#"{"seconds": 1}"#);
    let err = tools.dispatch(&crashed).await.unwrap_err();
    assert_eq!(
        err,
        ToolError::Panicked {
            tool: "crash".into()
        }
    );
    assert!(!err.is_model_mistake());
    // The toolbox is still usable after a tool panicked.
    assert!(
        !tools
            .call(&call("sleep", r#"{"seconds": 0}"#))
            .await
            .is_error
    );
}

#[tokio::test(start_paused = true)]
async fn each_tool_has_its_own_timeout_on_tokios_clock() {
    let tools = Toolbox::new()
        .with_timeout(Duration::from_secs(10))
        .unwrap()
        .with_tool(Sleep("patient"))
        .unwrap()
        .with_tool_timeout(Sleep("hasty"), Duration::from_secs(2))
        .unwrap();

    let start = Instant::now();
    let result = tools.call(&call("hasty", r#"{"seconds": 5}"#)).await;
    assert_eq!(
        result,
        ToolResult::error("call_1", "error: `hasty` did not finish within 2s")
    );
    assert_eq!(start.elapsed(), Duration::from_secs(2));

    let start = Instant::now();
    let result = tools.call(&call("patient", r#"{"seconds": 5}"#)).await;
    assert_eq!(result, ToolResult::ok("call_1", "slept 5s"));
    assert_eq!(start.elapsed(), Duration::from_secs(5));

    let start = Instant::now();
    let err = tools
        .dispatch(&call("patient", r#"{"seconds": 11}"#))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ToolError::TimedOut {
            tool: "patient".into(),
            timeout: Duration::from_secs(10)
        }
    );
    assert_eq!(start.elapsed(), Duration::from_secs(10));
}

#[tokio::test(start_paused = true)]
async fn call_all_runs_the_calls_concurrently_in_order() {
    let tools = toolbox();
    let calls = [
        ToolCall::from_raw("a", "sleep", r#"{"seconds": 3}"#),
        ToolCall::from_raw("b", "nope", "{}"),
        ToolCall::from_raw("c", "sleep", r#"{"seconds": 1}"#),
    ];
    let start = Instant::now();
    let results = tools.call_all(&calls).await;
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    let ids: Vec<_> = results.iter().map(|r| r.call_id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    assert_eq!(results[0].content, "slept 3s");
    assert!(results[1].is_error);
    assert_eq!(results[2].content, "slept 1s");
}

#[tokio::test(start_paused = true)]
async fn call_all_runs_at_most_the_concurrency_limit_at_once() {
    let tools = toolbox().with_concurrency(NonZeroUsize::new(2).unwrap());
    let calls: Vec<_> = (1..=5)
        .map(|i| ToolCall::from_raw(format!("c{i}"), "sleep", r#"{"seconds": 1}"#))
        .collect();
    let start = Instant::now();
    let results = tools.call_all(&calls).await;
    // Five one-second calls, two at a time: three rounds.
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    let ids: Vec<_> = results.iter().map(|r| r.call_id.as_str()).collect();
    assert_eq!(ids, ["c1", "c2", "c3", "c4", "c5"]);
    assert!(tools.call_all(&[]).await.is_empty());
}

#[test]
fn building_refuses_duplicate_names_and_bad_timeouts() {
    let err = Toolbox::new()
        .with_tool(Sleep("x"))
        .unwrap()
        .with_tool(Sleep("x"))
        .unwrap_err();
    assert!(matches!(&err, ConfigError::DuplicateTool { name } if name == "x"));
    assert_eq!(
        err.to_string(),
        "a tool named `x` is already in the toolbox: give each tool its own name"
    );
    for bad in ["", "get weather", "météo", &"x".repeat(65)] {
        let name: &'static str = Box::leak(bad.to_owned().into_boxed_str());
        let err = Toolbox::new().with_tool(Sleep(name)).unwrap_err();
        assert!(
            matches!(&err, ConfigError::InvalidToolName { name } if name == bad),
            "{err}"
        );
    }
    assert!(Toolbox::new().with_tool(Sleep("get-weather_2")).is_ok());
    assert!(matches!(
        Toolbox::new().with_tool_timeout(Sleep("x"), Duration::ZERO),
        Err(ConfigError::InvalidTimeout { .. })
    ));
    assert!(matches!(
        Toolbox::new().with_timeout(Duration::MAX),
        Err(ConfigError::InvalidTimeout { .. })
    ));
}
