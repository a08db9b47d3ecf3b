//! Agent: a model answers a weather question with tools (a weather service and a unit
//! converter), calling them until it can answer: the loop of model, tools, model,
//! written as a checked graph.
//!
//! ```text
//! cargo run --example agent -- "Is it warmer in Paris or Lyon, in Fahrenheit?"
//! cargo run --example agent -- --plain "What is the weather in Lille?"
//! ```
//!
//! Offline by default: a scripted model reads the question and the tools' results. With
//! `OPENAI_API_KEY` or `OPENAI_BASE_URL` (any OpenAI-compatible server that calls tools),
//! or `ANTHROPIC_API_KEY`, a real model does; see docs/providers.md. The answer is
//! streamed unless `--plain` is given; each tool call and its result is shown as it
//! happens.

use std::io::Write as _;

use futures_util::StreamExt as _;
use typedflow::Report;
use typedflow::events::Event;
use typedflow_examples::agent::{self, Agent, AgentDeps, Mode};
use typedflow_examples::llm::model_from_env;
use typedflow_examples::progress::Progress;

/// Errors come out as sentences with their causes (`Report`), not as a `Debug` dump.
#[tokio::main]
async fn main() -> Result<(), Report> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let plain = args.iter().any(|a| a == "--plain");
    args.retain(|a| a != "--plain");
    let mut text = args.join(" ");
    if text.trim().is_empty() {
        text = "Is it warmer in Paris or Lyon, in Fahrenheit?".to_owned();
    }
    let (llm, which) = model_from_env(agent::scripted)?;
    println!("model: {which}");
    println!("question: {text}");

    let tools = agent::toolbox()?;
    let question = agent::question(&text, &tools);
    let mode = if plain { Mode::Plain } else { Mode::Streamed };
    let flow = Agent::new(AgentDeps { llm, tools, mode });

    let mut progress = Progress::stderr();
    let mut events = flow.run(question).stream();
    let mut streaming = false;
    while let Some(event) = events.next().await {
        match event {
            Event::NodeStarted { node, step } => {
                progress.update(&format!("agent: step {step}, {node}"));
            }
            Event::ToolCall {
                tool, arguments, ..
            } => progress.note(&format!("agent: calls {tool} {arguments}")),
            Event::ToolResult {
                tool,
                content,
                is_error,
                duration,
                ..
            } => {
                let what = if is_error { "failed" } else { "returned" };
                progress.note(&format!("agent: {tool} {what} {content} ({duration:?})"));
            }
            Event::RetryScheduled {
                node,
                attempt,
                delay,
                ..
            } => progress.note(&format!(
                "agent: `{node}` attempt {attempt} failed, next in {delay:?}"
            )),
            Event::Token { text, .. } => {
                if !streaming {
                    progress.clear();
                    print!("answer: ");
                    streaming = true;
                }
                print!("{text}");
                std::io::stdout().flush()?;
            }
            _ => {}
        }
    }
    progress.clear();
    let answer = events.output().await?;
    if streaming {
        println!();
    } else {
        println!("answer: {}", answer.text.trim());
    }
    println!("after {} model turn(s)", answer.conversation.turns());
    Ok(())
}
