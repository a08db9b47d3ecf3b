//! The agent loop as a graph (`typedflow_providers::agent`): the model's tool calls run
//! and their results go back to it until it answers, plain and streamed; the run's
//! event stream shows the calls and results; the step limit ends a model that never
//! answers; a turn's calls run concurrently within the toolbox's bound.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly; helpers outside #[test] fns unwrap too"
)]

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use serde_json::json;
use typedflow::FlowError;
use typedflow::events::Event;
use typedflow::prelude::*;
use typedflow_providers::agent::{Answer, Conversation, Reply, ToolTurn};
use typedflow_providers::{
    ChatModel, ChatRequest, ProviderError, Role, ScriptedModel, ScriptedReply, ToolCall, Toolbox,
    tool,
};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct City {
    city: String,
}

/// The temperature in a city, in °C.
#[tool]
async fn temperature(args: City) -> Result<i32, String> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    match args.city.as_str() {
        "Paris" => Ok(21),
        "Lyon" => Ok(24),
        other => Err(format!("no station in {other}")),
    }
}

#[derive(Deps)]
struct AgentDeps {
    llm: Arc<dyn ChatModel>,
    tools: Toolbox,
}

#[node]
async fn model(chat: Conversation, llm: &Arc<dyn ChatModel>) -> Result<Reply, ProviderError> {
    chat.ask(llm.as_ref()).await
}

#[node]
async fn streamed_model(
    chat: Conversation,
    llm: &Arc<dyn ChatModel>,
    cx: &Context,
) -> Result<Reply, ProviderError> {
    chat.ask_streamed(llm.as_ref(), cx).await
}

#[node]
async fn tools(turn: ToolTurn, tools: &Toolbox, cx: &Context) -> Conversation {
    turn.run(tools, cx).await
}

#[flow(deps = AgentDeps, max_steps = 9)]
graph! {
    Agent(Conversation) -> Answer {
        START -> model;
        model => {
            Reply::Tools -> tools,
            Reply::Final -> END,
        }
        tools -> model;
    }
}

#[flow(deps = AgentDeps, max_steps = 9)]
graph! {
    StreamedAgent(Conversation) -> Answer {
        START -> streamed_model;
        streamed_model => {
            Reply::Tools -> tools,
            Reply::Final -> END,
        }
        tools -> streamed_model;
    }
}

#[flow(durable, deps = AgentDeps, max_steps = 9)]
graph! {
    DurableAgent(Conversation) -> Answer {
        START -> model;
        model => {
            Reply::Tools -> tools,
            Reply::Final -> END,
        }
        tools -> model;
    }
}

fn toolbox() -> Toolbox {
    Toolbox::new().with_tool(Temperature).unwrap()
}

fn question(tools: &Toolbox) -> Conversation {
    Conversation::new(
        ChatRequest::new()
            .system("answer with the tools' help")
            .user("Is Lyon warmer than Paris?")
            .tools(tools.definitions()),
    )
}

/// Two calls in one turn (one with arguments that do not fit), then the answer.
fn script() -> ScriptedModel {
    ScriptedModel::new([
        ScriptedReply::tool_calls([
            ToolCall::new("call_1", "temperature", json!({"city": "Paris"})),
            ToolCall::new("call_2", "temperature", json!({"town": "Lyon"})),
        ]),
        ScriptedReply::tool_calls([ToolCall::new(
            "call_3",
            "temperature",
            json!({"city": "Lyon"}),
        )]),
        ScriptedReply::chunks(["Yes: ", "24 °C against 21."]),
    ])
}

#[tokio::test(start_paused = true)]
async fn tool_results_go_back_to_the_model_until_it_answers() {
    let llm = Arc::new(script());
    let tools = toolbox();
    let chat = question(&tools);
    let agent = Agent::new(AgentDeps {
        llm: llm.clone(),
        tools,
    });

    let answer = agent.run(chat).await.unwrap();

    assert_eq!(answer.text, "Yes: 24 °C against 21.");
    assert_eq!(answer.conversation.turns(), 3);
    let requests = llm.requests();
    assert_eq!(requests.len(), 3);
    // Every request offers the tool.
    assert!(requests.iter().all(|r| r.tools.len() == 1));
    // The second request: the question, the model's two calls, both results in order.
    let second = &requests[1].messages;
    let roles: Vec<Role> = second.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Assistant, Role::Tool, Role::Tool]);
    assert_eq!(second[1].tool_calls.len(), 2);
    assert_eq!(second[2].tool_call_id.as_deref(), Some("call_1"));
    assert_eq!(
        (second[2].content.as_str(), second[2].is_error),
        ("21", false)
    );
    assert_eq!(second[3].tool_call_id.as_deref(), Some("call_2"));
    assert!(second[3].is_error);
    assert!(
        second[3].content.contains("missing field `city`"),
        "{}",
        second[3].content
    );
    // The answer closes the conversation.
    let last = answer.conversation.request().messages.last().unwrap();
    assert_eq!(
        (last.role, last.content.as_str()),
        (Role::Assistant, "Yes: 24 °C against 21.")
    );
}

#[tokio::test(start_paused = true)]
async fn a_streamed_run_shows_tokens_tool_calls_and_results() {
    let tools = toolbox();
    let chat = question(&tools);
    let agent = StreamedAgent::new(AgentDeps {
        llm: Arc::new(script()),
        tools,
    });

    let mut stream = agent.run(chat).stream();
    let events: Vec<Event> = stream.by_ref().collect().await;
    let result = stream.output().await;

    let lines: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::NodeStarted { node, step } => Some(format!("{step} {node}")),
            Event::ToolCall {
                step,
                id,
                tool,
                arguments,
                ..
            } => Some(format!("{step}   call {id} {tool} {arguments}")),
            Event::ToolResult {
                step,
                id,
                content,
                is_error,
                duration,
                ..
            } => Some(format!(
                "{step}   result {id} error={is_error} {duration:?} {}",
                content.split(';').next().unwrap_or_default()
            )),
            Event::Token { step, text, .. } => Some(format!("{step}   token {text:?}")),
            Event::RunFinished { .. } => Some(format!(
                "end {:?}",
                result
                    .as_ref()
                    .map(|a| a.text.as_str())
                    .map_err(|e| e.to_string())
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        lines,
        [
            "1 streamed_model",
            "2 tools",
            r#"2   call call_1 temperature {"city":"Paris"}"#,
            r#"2   call call_2 temperature {"town":"Lyon"}"#,
            // The bad call fails at once; the good one takes its second.
            "2   result call_2 error=true 0ns error: the arguments of `temperature` do not match its schema at `.`: missing field `city`",
            "2   result call_1 error=false 1s 21",
            "3 streamed_model",
            "4 tools",
            r#"4   call call_3 temperature {"city":"Lyon"}"#,
            "4   result call_3 error=false 1s 24",
            "5 streamed_model",
            r#"5   token "Yes: ""#,
            r#"5   token "24 °C against 21.""#,
            r#"end Ok("Yes: 24 °C against 21.")"#,
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn the_step_limit_ends_a_model_that_never_answers() {
    let llm = Arc::new(ScriptedModel::from_fn(|_, i| {
        ScriptedReply::tool_calls([ToolCall::new(
            format!("call_{i}"),
            "temperature",
            json!({"city": "Paris"}),
        )])
    }));
    let tools = toolbox();
    let chat = question(&tools);
    let agent = Agent::new(AgentDeps {
        llm: llm.clone(),
        tools,
    });

    let err = agent.run(chat).await.unwrap_err();

    assert!(matches!(err, FlowError::StepLimit { .. }), "{err}");
    // Nine steps: five model turns and four tool turns.
    assert_eq!(llm.calls(), 5);
}

#[tokio::test(start_paused = true)]
async fn a_turns_calls_run_at_most_the_toolbox_bound_at_once() {
    let calls: Vec<ToolCall> = ["Paris", "Lyon", "Paris", "Lyon", "Paris"]
        .iter()
        .enumerate()
        .map(|(i, city)| ToolCall::new(format!("call_{i}"), "temperature", json!({"city": city})))
        .collect();
    let llm = Arc::new(ScriptedModel::new([
        ScriptedReply::tool_calls(calls),
        ScriptedReply::text("done"),
    ]));
    let tools = toolbox().with_concurrency(NonZeroUsize::new(2).unwrap());
    let chat = question(&tools);
    let agent = Agent::new(AgentDeps { llm, tools });

    let started = tokio::time::Instant::now();
    let answer = agent.run(chat).await.unwrap();

    // Five one-second calls, two at a time: three seconds, not one and not five.
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    let results: Vec<&str> = answer
        .conversation
        .request()
        .messages
        .iter()
        .filter(|m| m.role == Role::Tool)
        .map(|m| m.content.as_str())
        .collect();
    assert_eq!(results, ["21", "24", "21", "24", "21"]);
}

#[tokio::test]
async fn a_failed_model_call_fails_the_run_at_the_model_node() {
    use typedflow_providers::ApiError;

    let llm = Arc::new(ScriptedModel::new([ScriptedReply::error(
        ProviderError::from_api(ApiError::new("scripted", 401, "bad key"), "scripted"),
    )]));
    let tools = toolbox();
    let chat = question(&tools);
    let agent = Agent::new(AgentDeps { llm, tools });

    let err = agent.run(chat).await.unwrap_err();
    assert_eq!(err.node(), Some("model"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_durable_agent_cut_while_its_tools_run_resumes_without_asking_the_model_again() {
    let llm = Arc::new(script());
    let tools = toolbox();
    let chat = question(&tools);
    let agent = DurableAgent::new(AgentDeps {
        llm: llm.clone(),
        tools,
    });
    let store = typedflow::checkpoint::MemoryStore::new();
    let run = RunId::from_u64(1);

    // The tool takes a second: the run is cut inside the first `tools` step, after the
    // model's first turn was saved.
    let cut = tokio::time::timeout(
        Duration::from_millis(500),
        agent.run(chat).checkpoint(&store).run_id(run).into_future(),
    );
    assert!(cut.await.is_err(), "the run was cut");
    assert_eq!(llm.requests().len(), 1);
    let saved = typedflow::checkpoint::Checkpointer::latest(&store, run)
        .await
        .unwrap();
    assert_eq!(saved.node, "tools");

    let answer = agent.resume(&store, run).await.unwrap();
    assert_eq!(answer.text, "Yes: 24 °C against 21.");
    assert_eq!(answer.conversation.turns(), 3);
    // The first turn was not asked again: three requests in all, as in a run never cut.
    let requests = llm.requests();
    assert_eq!(requests.len(), 3);
    let roles: Vec<Role> = requests[1].messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Assistant, Role::Tool, Role::Tool]);
}

#[test]
fn a_conversation_with_every_field_set_reads_back_as_it_was_saved() {
    let request = question(&toolbox())
        .into_request()
        .model("small")
        .temperature(0.5)
        .max_tokens(64)
        .stop("\n")
        .seed(7)
        .tool_choice(typedflow_providers::ToolChoice::Required)
        .parallel_tool_calls(false)
        .message(typedflow_providers::Message::assistant("thinking"));
    let mut request = request;
    request.response_format = Some(typedflow_providers::ResponseFormat::JsonSchema {
        name: "verdict".into(),
        schema: json!({"type": "boolean"}),
        strict: true,
    });
    let chat = Conversation::new(request);
    let text = serde_json::to_string(&chat).unwrap();
    assert_eq!(serde_json::from_str::<Conversation>(&text).unwrap(), chat);
}
