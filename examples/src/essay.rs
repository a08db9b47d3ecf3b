//! The flow of the `essay` example: outline a topic, write a draft, have it reviewed, and
//! revise it until the reviewer accepts. Writing and revising retry what a model server
//! says is worth retrying (rate limits, overloads) and cut each attempt after a timeout.
//!
//! Offline, [`scripted`] plays every role and really reads what it is sent: its first
//! draft leaves out the last point of the outline and has no conclusion, its reviewer
//! says what is missing, and its reviser adds exactly that.

use std::time::Duration;

use typedflow::prelude::*;
use typedflow_providers::{
    ApiError, ChatModel as _, ChatRequest, ProviderError, ScriptedModel, ScriptedReply,
};

use crate::llm::{Llm, prompt_of, system_of};

/// After this many revisions the reviewer's word is taken as an accept, so a model that
/// never approves cannot loop until the step limit.
pub const MAX_REVISIONS: u32 = 3;

const OUTLINER: &str = "You outline short essays. Reply with exactly three lines, one \
                        point per line, nothing else.";
const WRITER: &str = "You write short essays: one paragraph per point of the outline, in \
                      order, starting with the point's words.";
const REVIEWER: &str = "You review essays against their outline. Reply ACCEPT when every \
                        point is covered and the essay ends with a paragraph starting \
                        'In conclusion'; otherwise reply REVISE: and what to change.";
const REVISER: &str = "You revise essays. Apply the reviewer's notes and reply with the \
                       whole essay.";

/// The flow's dependencies.
#[derive(Deps)]
pub struct EssayDeps {
    /// The model every node calls.
    pub llm: Llm,
}

/// The points an essay must cover.
#[derive(Debug, Clone)]
pub struct Outline {
    /// The essay's topic.
    pub topic: String,
    /// One line each.
    pub points: Vec<String>,
}

/// An essay in progress.
#[derive(Debug, Clone)]
pub struct Draft {
    /// What it must cover.
    pub outline: Outline,
    /// The text so far.
    pub text: String,
    /// How many times it was revised.
    pub revisions: u32,
}

/// A draft with the reviewer's notes.
#[derive(Debug, Clone)]
pub struct Notes {
    /// The draft reviewed.
    pub draft: Draft,
    /// What to change.
    pub notes: String,
}

/// The reviewer's verdict: each variant goes to its own node.
#[derive(Debug)]
pub enum Review {
    /// Not yet: revise along the notes.
    Revise(Notes),
    /// Done.
    Accept(Draft),
}

/// One model call: `system` sets the role, the reply is at most `max_tokens` long.
///
/// The limits keep prompt and reply within a small local model's context (llama.cpp's
/// server splits its context between its parallel slots): a revision sends the whole
/// essay back.
async fn ask(
    llm: &Llm,
    system: &str,
    prompt: String,
    max_tokens: u32,
) -> Result<String, ProviderError> {
    let request = ChatRequest::new()
        .system(system)
        .user(prompt)
        .temperature(0.3)
        .max_tokens(max_tokens);
    Ok(llm.chat(&request).await?.text.trim().to_owned())
}

#[node]
async fn outline(topic: String, llm: &Llm) -> Result<Outline, ProviderError> {
    let reply = ask(llm, OUTLINER, format!("Topic: {topic}"), 120).await?;
    let points = reply
        .lines()
        .map(strip_list_marker)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(Outline { topic, points })
}

/// A line without the list marker a model may put before it: `- `, `* `, `1. `, `2) `.
fn strip_list_marker(line: &str) -> &str {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix(['-', '*']) {
        return rest.trim_start();
    }
    let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    match line[digits..].strip_prefix(['.', ')']) {
        Some(rest) if digits > 0 => rest.trim_start(),
        _ => line,
    }
}

#[node(retry(attempts = 4, backoff = exponential(200ms, 2.0, max = 5s), jitter = full),
       timeout = 60s)]
async fn write(outline: Outline, llm: &Llm) -> Result<Draft, ProviderError> {
    let prompt = format!(
        "Topic: {}\nOutline:\n{}",
        outline.topic,
        outline.points.join("\n")
    );
    let text = ask(llm, WRITER, prompt, 250).await?;
    Ok(Draft {
        outline,
        text,
        revisions: 0,
    })
}

#[node]
async fn review(draft: Draft, llm: &Llm) -> Result<Review, ProviderError> {
    let prompt = format!(
        "Outline:\n{}\n\nEssay:\n{}",
        draft.outline.points.join("\n"),
        draft.text
    );
    let verdict = ask(llm, REVIEWER, prompt, 120).await?;
    Ok(match verdict.strip_prefix("REVISE:") {
        Some(notes) if draft.revisions < MAX_REVISIONS => Review::Revise(Notes {
            draft,
            notes: notes.trim().to_owned(),
        }),
        _ => Review::Accept(draft),
    })
}

#[node(retry(attempts = 4, backoff = exponential(200ms, 2.0, max = 5s), jitter = full),
       timeout = 60s)]
async fn revise(notes: Notes, llm: &Llm) -> Result<Draft, ProviderError> {
    let Notes { draft, notes } = notes;
    let prompt = format!("Notes: {notes}\n\nEssay:\n{}", draft.text);
    let text = ask(llm, REVISER, prompt, 250).await?;
    Ok(Draft {
        text,
        revisions: draft.revisions + 1,
        ..draft
    })
}

#[flow(deps = EssayDeps, max_steps = 20, timeout = 5m)]
graph! {
    /// Outlines, writes, then revises until the reviewer accepts.
    pub Essay(String) -> Draft {
        START -> outline -> write -> review;
        review => {
            Review::Revise -> revise,
            Review::Accept -> END,
        }
        revise -> review;
    }
}

/// The offline model: it plays outliner, writer, reviewer and reviser by the system
/// prompt, answers from what each request says, and refuses the first writing request
/// with a rate limit, as a busy server does, so the retry shows.
pub fn scripted() -> ScriptedModel {
    let mut rate_limited = false;
    ScriptedModel::from_fn(move |request, _| {
        let system = system_of(request);
        let prompt = prompt_of(request);
        if system == WRITER && !rate_limited {
            rate_limited = true;
            let api = ApiError::new("scripted", 429, "too many requests, slow down")
                .with_type("rate_limit_error")
                .with_retry_after(Duration::from_millis(300));
            return ScriptedReply::error(ProviderError::from_api(api, "scripted"));
        }
        ScriptedReply::text(match system {
            OUTLINER => scripted_outline(prompt),
            WRITER => scripted_draft(prompt),
            REVIEWER => scripted_review(prompt),
            REVISER => scripted_revision(prompt),
            _ => format!("(no scripted answer for the system prompt {system:?})"),
        })
    })
}

fn scripted_outline(prompt: &str) -> String {
    let topic = prompt.strip_prefix("Topic: ").unwrap_or(prompt).trim();
    format!("What {topic} is\nWhy {topic} matters\nWhere {topic} falls short")
}

fn paragraph(point: &str) -> String {
    format!("{point}: a paragraph that develops this point with an example.")
}

/// A first draft that covers every point but the last, and has no conclusion.
fn scripted_draft(prompt: &str) -> String {
    let points: Vec<&str> = prompt
        .split_once("Outline:\n")
        .map_or(Vec::new(), |(_, outline)| outline.lines().collect());
    let covered = points.len().saturating_sub(1);
    points[..covered]
        .iter()
        .map(|point| paragraph(point))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Notes on the first point the essay does not cover, else on a missing conclusion.
fn scripted_review(prompt: &str) -> String {
    let (outline, essay) = prompt
        .strip_prefix("Outline:\n")
        .and_then(|rest| rest.split_once("\n\nEssay:\n"))
        .unwrap_or(("", prompt));
    if let Some(missing) = outline.lines().find(|point| !essay.contains(point)) {
        return format!("REVISE: cover the point \"{missing}\"");
    }
    if !essay.contains("In conclusion") {
        return "REVISE: end with a conclusion".to_owned();
    }
    "ACCEPT".to_owned()
}

/// The essay with what the notes ask for added.
fn scripted_revision(prompt: &str) -> String {
    let (notes, essay) = prompt
        .strip_prefix("Notes: ")
        .and_then(|rest| rest.split_once("\n\nEssay:\n"))
        .unwrap_or(("", prompt));
    let addition = match notes.split('"').nth(1) {
        Some(point) => paragraph(point),
        None if notes.contains("conclusion") => {
            "In conclusion, each point above holds, with the limits the last one names.".to_owned()
        }
        None => format!("(a change along: {notes})"),
    };
    format!("{essay}\n\n{addition}")
}
