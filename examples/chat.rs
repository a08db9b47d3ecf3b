//! Chat: a two-node flow that streams a model's answer and then grades it with
//! structured output.
//!
//! ```text
//! cargo run --example chat -- "Why is the sky blue?"
//! ```
//!
//! Offline by default: a scripted model answers, so no network and no key are needed.
//! With a real endpoint:
//!
//! - `OPENAI_API_KEY` and/or `OPENAI_BASE_URL` (and optionally `OPENAI_MODEL`, default
//!   `gpt-4o-mini`): OpenAI or any compatible server, e.g. a local llama.cpp server with
//!   `OPENAI_BASE_URL=http://127.0.0.1:8080/v1 OPENAI_MODEL=smollm2`;
//! - otherwise `ANTHROPIC_API_KEY` (and optionally `ANTHROPIC_BASE_URL`,
//!   `ANTHROPIC_MODEL`, default `claude-haiku-4-5`): Anthropic.

use std::io::Write as _;
use std::sync::Arc;

use typedflow::prelude::*;
use typedflow_examples::llm::model_from_env;
use typedflow_providers::{
    ChatModel, ChatModelExt as _, ChatRequest, ProviderError, Report, ScriptedModel, ScriptedReply,
};

/// The model every node calls, shared by all runs of the flow.
pub type Llm = Arc<dyn ChatModel>;

/// The flow's dependencies.
#[derive(Deps)]
pub struct AppDeps {
    /// The chat model.
    pub llm: Llm,
}

/// A question and the model's answer to it.
#[derive(Debug, Clone)]
pub struct Answer {
    /// What was asked.
    pub question: String,
    /// What the model said.
    pub text: String,
}

/// The grader's verdict, parsed from the model's structured output.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct Grade {
    /// From 1 (useless) to 10 (excellent).
    pub score: u8,
    /// Whether the answer addresses the question.
    pub on_topic: bool,
}

/// Streams the answer to the terminal as it is written, and keeps the whole text.
#[node]
async fn answer(question: String, llm: &Llm) -> Result<Answer, ProviderError> {
    let request = ChatRequest::new()
        .system("Answer in at most three sentences.")
        .user(question.clone())
        .temperature(0.2)
        .max_tokens(200);
    let stream = llm.chat_stream(&request).await?;
    let reply = stream
        .for_each_delta(|delta| {
            print!("{delta}");
            // Best effort: a closed stdout only loses the live echo.
            let _ = std::io::stdout().flush();
        })
        .await?;
    println!();
    Ok(Answer {
        question,
        text: reply.text,
    })
}

/// Grades the answer; transient failures (rate limits, overloads, cut replies) are
/// retried by the node's retry policy, which waits as long as a server asks (up to the
/// policy's `max_retry_after`, 60 s by default).
#[node(retry(attempts = 3, backoff = exponential(500ms, 2.0, max = 10s), jitter = full))]
async fn grade(answer: Answer, llm: &Llm) -> Result<Grade, ProviderError> {
    let request = ChatRequest::new()
        .system("You grade answers. Reply with JSON only.")
        .user(format!(
            "Question: {}\nAnswer: {}",
            answer.question, answer.text
        ))
        .temperature(0.0)
        .max_tokens(60);
    llm.structured::<Grade>(&request).await
}

#[flow(deps = AppDeps, timeout = 120s)]
graph! {
    /// Answers a question, then grades the answer.
    pub Chat(String) -> Grade {
        START -> answer -> grade -> END;
    }
}

/// What the scripted model answers offline: the answer, streamed, then the grade.
fn scripted() -> ScriptedModel {
    let answer = "Sunlight scatters off air molecules, and blue light, with its shorter \
                  wavelength, scatters the most.";
    ScriptedModel::new([
        ScriptedReply::chunks(answer.split_inclusive(' ')),
        ScriptedReply::text(r#"{"score": 8, "on_topic": true}"#),
    ])
}

/// Errors come out as sentences with their causes (`Report`), not as a `Debug` dump.
#[tokio::main]
async fn main() -> Result<(), Report> {
    let question = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "Why is the sky blue?".to_owned());
    let (llm, source) = model_from_env(scripted)?;
    println!(
        "model: {} via {source}\nquestion: {question}\n",
        llm.model()
    );

    let chat = Chat::new(AppDeps { llm });
    let grade = chat.run(question).await?;
    println!("\ngrade: {}/10, on topic: {}", grade.score, grade.on_topic);
    Ok(())
}
