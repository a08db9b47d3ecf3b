//! The `agent` example's flow, offline: the scripted model asks for the weather of each
//! city (one turn, calls run at once), converts the warmest, and answers from what the
//! tools returned; a tool's failure reaches the model, which says so.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use typedflow::events::Event;
use typedflow_examples::agent::{self, Agent, AgentDeps, Mode};
use typedflow_providers::{Role, ScriptedModel};

fn agent(model: &Arc<ScriptedModel>, mode: Mode) -> Agent {
    let tools = agent::toolbox().expect("valid tools");
    Agent::new(AgentDeps {
        llm: model.clone(),
        tools,
        mode,
    })
}

fn question(text: &str) -> typedflow_providers::agent::Conversation {
    agent::question(text, &agent::toolbox().expect("valid tools"))
}

#[tokio::test(start_paused = true)]
async fn the_agent_calls_tools_until_it_can_answer() {
    let model = Arc::new(agent::scripted());
    let flow = agent(&model, Mode::Plain);

    let started = tokio::time::Instant::now();
    let answer = flow
        .run(question("Is it warmer in Paris or Lyon, in Fahrenheit?"))
        .await
        .expect("the agent answers");

    assert_eq!(
        answer.text,
        "Lyon is the warmest: 24.5 °C (76.1 °F), sunny; Paris: 21 °C, cloudy."
    );
    assert_eq!(answer.conversation.turns(), 3);
    // Both weather calls of the first turn ran at once: 200 ms, not 400.
    assert_eq!(started.elapsed(), Duration::from_millis(200));
    let requests = model.requests();
    assert_eq!(requests.len(), 3);
    let first_results: Vec<&str> = requests[1]
        .messages
        .iter()
        .filter(|m| m.role == Role::Tool)
        .map(|m| m.content.as_str())
        .collect();
    assert_eq!(
        first_results,
        [
            r#"{"city":"Paris","celsius":21.0,"sky":"cloudy"}"#,
            r#"{"city":"Lyon","celsius":24.5,"sky":"sunny"}"#,
        ]
    );
    assert_eq!(
        requests[2].messages.last().map(|m| m.content.as_str()),
        Some("76.1")
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_tool_is_reported_to_the_model_which_says_so() {
    let model = Arc::new(agent::scripted());
    let answer = agent(&model, Mode::Plain)
        .run(question("What is the weather in Atlantis?"))
        .await
        .expect("the agent answers");

    assert_eq!(
        answer.text,
        "I could not find out: `get_weather` failed: no weather station in \"Atlantis\"; \
         stations: Paris, Lyon, Lille, Marseille."
    );
    assert_eq!(model.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn streamed_the_run_shows_the_calls_results_and_answer() {
    let model = Arc::new(agent::scripted());
    let flow = agent(&model, Mode::Streamed);

    let mut stream = flow.run(question("What is the weather in Lille?")).stream();
    let events: Vec<Event> = stream.by_ref().collect().await;
    let answer = stream.output().await.unwrap();

    let shown: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::NodeStarted { node, step } => Some(format!("{step} {node}")),
            Event::ToolCall {
                tool, arguments, ..
            } => Some(format!("  call {tool} {arguments}")),
            Event::ToolResult {
                content, is_error, ..
            } => Some(format!("  result error={is_error} {content}")),
            Event::Token { text, .. } => Some(format!("  token {text}")),
            Event::RunFinished { error: None, .. } => Some(format!("answer {}", answer.text)),
            _ => None,
        })
        .collect();
    assert_eq!(
        shown,
        [
            "1 model",
            "2 tools",
            r#"  call get_weather {"city":"Lille"}"#,
            r#"  result error=false {"city":"Lille","celsius":17.0,"sky":"rain"}"#,
            "3 model",
            "  token Lille is the warmest: 17 °C, rain.",
            "answer Lille is the warmest: 17 °C, rain.",
        ]
    );
}
