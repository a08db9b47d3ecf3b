//! The flow of the `agent` example: a model that answers weather questions with two
//! tools, the agent loop written as a checked graph (the model node's [`Reply`] is
//! routed to the tool node or to the end, the tool node goes back to the model).
//!
//! Offline, [`scripted`] plays the model and really reads what it is sent: it asks for
//! the weather of every city the question names (the calls of one turn run at once),
//! converts the warmest temperature when the question asks for Fahrenheit, and answers
//! from the tools' results, or with what went wrong when a tool failed.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use typedflow::prelude::*;
use typedflow_providers::agent::{Answer, Conversation, Reply, ToolTurn};
use typedflow_providers::{
    ChatRequest, ConfigError, ProviderError, Role, ScriptedModel, ScriptedReply, ToolCall, Toolbox,
    tool,
};

use crate::llm::Llm;

/// What the model is told.
pub const SYSTEM: &str = "You answer questions about the weather. Call get_weather for \
                          each city you need, and convert_temperature for a temperature \
                          in another unit; then answer in one sentence.";

/// How the model node calls the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One request, one whole reply.
    Plain,
    /// A streamed reply, its text handed to the run's event stream as it comes.
    Streamed,
}

/// The flow's dependencies.
#[derive(Deps)]
pub struct AgentDeps {
    /// The model.
    pub llm: Llm,
    /// The tools the model may call.
    pub tools: Toolbox,
    /// Plain or streamed model calls.
    pub mode: Mode,
}

/// The arguments of `get_weather`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct City {
    /// The city's name, e.g. "Paris".
    pub city: String,
}

/// The weather in a city.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Weather {
    /// The city.
    pub city: String,
    /// The temperature, in °C.
    pub celsius: f64,
    /// The sky, in a word or two.
    pub sky: String,
}

/// The cities the weather service knows, with today's weather.
const STATIONS: &[(&str, f64, &str)] = &[
    ("Paris", 21.0, "cloudy"),
    ("Lyon", 24.5, "sunny"),
    ("Lille", 17.0, "rain"),
    ("Marseille", 27.0, "sunny"),
];

/// The current weather in a city: temperature in °C and sky.
///
/// # Errors
///
/// When the city has no station; the message names those that do.
#[tool]
pub async fn get_weather(args: City) -> Result<Weather, String> {
    // A real service takes a moment to answer.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let station = STATIONS
        .iter()
        .find(|(name, _, _)| name.eq_ignore_ascii_case(args.city.trim()));
    match station {
        Some(&(city, celsius, sky)) => Ok(Weather {
            city: city.to_owned(),
            celsius,
            sky: sky.to_owned(),
        }),
        None => {
            let known: Vec<&str> = STATIONS.iter().map(|s| s.0).collect();
            Err(format!(
                "no weather station in {:?}; stations: {}",
                args.city,
                known.join(", ")
            ))
        }
    }
}

/// A unit of temperature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// °F.
    Fahrenheit,
    /// K.
    Kelvin,
}

/// The arguments of `convert_temperature`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct Conversion {
    /// The temperature in °C.
    pub celsius: f64,
    /// The unit to convert to.
    pub to: Unit,
}

/// Converts a temperature from °C to Fahrenheit or Kelvin.
#[tool]
pub async fn convert_temperature(args: Conversion) -> f64 {
    let value = match args.to {
        Unit::Fahrenheit => args.celsius * 9.0 / 5.0 + 32.0,
        Unit::Kelvin => args.celsius + 273.15,
    };
    (value * 10.0).round() / 10.0
}

/// The tools, at most 4 calls at once, each cut off after 10 s.
///
/// # Errors
///
/// Never with these tools; [`Toolbox::with_tool`] refuses a duplicate or invalid name.
pub fn toolbox() -> Result<Toolbox, ConfigError> {
    Toolbox::new()
        .with_timeout(Duration::from_secs(10))?
        .with_concurrency(std::num::NonZeroUsize::MIN.saturating_add(3))
        .with_tool(GetWeather)?
        .with_tool(ConvertTemperature)
}

/// The start of a conversation: the system prompt, the question and the tools.
pub fn question(text: &str, tools: &Toolbox) -> Conversation {
    Conversation::new(
        ChatRequest::new()
            .system(SYSTEM)
            .user(text)
            .tools(tools.definitions())
            .temperature(0.0)
            .max_tokens(300),
    )
}

#[node(retry(attempts = 3, backoff = exponential(200ms, 2.0, max = 5s), jitter = full),
       timeout = 120s)]
async fn model(
    chat: Conversation,
    llm: &Llm,
    mode: &Mode,
    cx: &Context,
) -> Result<Reply, ProviderError> {
    match mode {
        Mode::Plain => chat.ask(llm.as_ref()).await,
        Mode::Streamed => chat.ask_streamed(llm.as_ref(), cx).await,
    }
}

#[node]
async fn tools(turn: ToolTurn, tools: &Toolbox, cx: &Context) -> Conversation {
    turn.run(tools, cx).await
}

#[flow(deps = AgentDeps, max_steps = 12, timeout = 5m)]
graph! {
    /// The model calls tools until it answers; at most six model turns.
    pub Agent(Conversation) -> Answer {
        START -> model;
        model => {
            Reply::Tools -> tools,
            Reply::Final -> END,
        }
        tools -> model;
    }
}

/// The offline model: see the module's docs.
pub fn scripted() -> ScriptedModel {
    ScriptedModel::from_fn(|request, turn| {
        let results = tool_results(request);
        if results.is_empty() {
            return first_turn(request, turn);
        }
        if let Some(error) = results.iter().find_map(|r| r.strip_prefix("error: ")) {
            return ScriptedReply::text(format!("I could not find out: {error}."));
        }
        let weathers: Vec<Weather> = results
            .iter()
            .filter_map(|r| serde_json::from_str(r).ok())
            .collect();
        let question = crate::llm::prompt_of(request).to_lowercase();
        let Some(warmest) = weathers
            .iter()
            .max_by(|a, b| a.celsius.total_cmp(&b.celsius))
        else {
            // The last results were a conversion: the answer.
            return ScriptedReply::text(final_answer(request, &results));
        };
        if question.contains("fahrenheit") {
            let call = ToolCall::new(
                format!("call_{turn}_0"),
                "convert_temperature",
                serde_json::json!({"celsius": warmest.celsius, "to": "fahrenheit"}),
            );
            return ScriptedReply::tool_calls([call]);
        }
        ScriptedReply::text(describe(&weathers, None))
    })
}

/// The first turn: a weather call per city the question names.
fn first_turn(request: &ChatRequest, turn: usize) -> ScriptedReply {
    let question = crate::llm::prompt_of(request);
    let calls: Vec<ToolCall> = question
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| word.chars().next().is_some_and(char::is_uppercase))
        .filter(|word| !matches!(*word, "Is" | "What" | "Which" | "Fahrenheit" | "How"))
        .enumerate()
        .map(|(i, city)| {
            ToolCall::new(
                format!("call_{turn}_{i}"),
                "get_weather",
                serde_json::json!({ "city": city }),
            )
        })
        .collect();
    if calls.is_empty() {
        return ScriptedReply::text("Which city do you mean?");
    }
    ScriptedReply::tool_calls(calls)
}

/// The contents of the tool results since the model's last turn.
fn tool_results(request: &ChatRequest) -> Vec<&str> {
    let after = request
        .messages
        .iter()
        .rposition(|m| m.role == Role::Assistant)
        .map_or(request.messages.len(), |i| i + 1);
    request.messages[after..]
        .iter()
        .filter(|m| m.role == Role::Tool)
        .map(|m| m.content.as_str())
        .collect()
}

/// The answer once the warmest temperature was converted: the weathers are further back
/// in the conversation.
fn final_answer(request: &ChatRequest, conversion: &[&str]) -> String {
    let weathers: Vec<Weather> = request
        .messages
        .iter()
        .filter(|m| m.role == Role::Tool)
        .filter_map(|m| serde_json::from_str(&m.content).ok())
        .collect();
    let fahrenheit = conversion.first().and_then(|c| c.parse::<f64>().ok());
    describe(&weathers, fahrenheit)
}

/// "Lyon is the warmest: 24.5 °C (76.1 °F), sunny; Paris: 21 °C, cloudy."
fn describe(weathers: &[Weather], fahrenheit: Option<f64>) -> String {
    let mut sorted: Vec<&Weather> = weathers.iter().collect();
    sorted.sort_by(|a, b| b.celsius.total_cmp(&a.celsius));
    let Some((warmest, others)) = sorted.split_first() else {
        return "I have no weather to report.".to_owned();
    };
    let converted = fahrenheit.map_or_else(String::new, |f| format!(" ({f} °F)"));
    let mut text = format!(
        "{} is the warmest: {} °C{converted}, {}",
        warmest.city, warmest.celsius, warmest.sky
    );
    for other in others {
        text.push_str(&format!(
            "; {}: {} °C, {}",
            other.city, other.celsius, other.sky
        ));
    }
    text.push('.');
    text
}
