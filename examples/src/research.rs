//! The flow of the `research` example: a model turns a question into search terms, three
//! searches run at once over three sources (this project's guides on getting started,
//! policies and observability), a typed join receives the three results as a tuple, and
//! the model writes a short answer citing what was found.
//!
//! The searches are local (the guides are compiled in), so the example needs no search
//! API. Offline, [`scripted`] picks the terms from the question's own words and answers
//! by quoting the best passage of each source.

use schemars::JsonSchema;
use serde::Deserialize;
use typedflow::prelude::*;
use typedflow_providers::{
    ChatModel as _, ChatModelExt as _, ChatRequest, ErrorKind, ProviderError, ScriptedModel,
    ScriptedReply,
};

use crate::llm::{Llm, prompt_of, system_of};

const PLANNER: &str = "You turn a question into search terms. Reply with JSON only: up to \
                       five single lowercase words that the answer's text would contain.";
const WRITER: &str = "You answer a question from the passages given, in at most four \
                      sentences, citing each source you use in brackets, e.g. [policies].";

/// How many passages each search returns at most.
pub const HITS_PER_SOURCE: usize = 2;

/// The flow's dependencies.
#[derive(Deps)]
pub struct ResearchDeps {
    /// The model that plans and writes.
    pub llm: Llm,
}

/// The question with the words to search for.
#[derive(Debug, Clone)]
pub struct Queries {
    /// What was asked.
    pub question: String,
    /// The search terms, lowercase.
    pub terms: Vec<String>,
}

/// The model's search plan, parsed from its structured output.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Plan {
    /// Single lowercase words; bounded, so that a small model cannot repeat itself until
    /// the reply's limit cuts its JSON.
    #[schemars(length(max = 5), inner(length(max = 30)))]
    pub terms: Vec<String>,
}

/// What one search found.
#[derive(Debug, Clone)]
pub struct Hits {
    /// The source's name.
    pub source: &'static str,
    /// The question, carried to the join.
    pub question: String,
    /// The best passages, best first.
    pub passages: Vec<String>,
}

/// The answer and where it came from.
#[derive(Debug, Clone)]
pub struct Report {
    /// What was asked.
    pub question: String,
    /// The model's answer.
    pub answer: String,
    /// Every passage it was given, with its source.
    pub evidence: Vec<(&'static str, String)>,
}

#[node(retry(attempts = 3, backoff = exponential(500ms, 2.0, max = 5s), jitter = full),
       timeout = 60s)]
async fn plan(question: String, llm: &Llm) -> Result<Queries, ProviderError> {
    let request = ChatRequest::new()
        .system(PLANNER)
        .user(question.clone())
        .temperature(0.0)
        .max_tokens(200);
    let terms = match llm.structured::<Plan>(&request).await {
        Ok(plan) => plan
            .terms
            .into_iter()
            .map(|term| term.trim().to_lowercase())
            .filter(|term| !term.is_empty())
            .collect(),
        // A plan that does not parse (a small model's reply cut short) is no reason to
        // give up: search for the question's own words. Other errors go to the policies.
        Err(err) if err.kind() == ErrorKind::InvalidOutput => terms_of(&question),
        Err(err) => return Err(err),
    };
    Ok(Queries { question, terms })
}

/// The question's words worth searching for: up to five, lowercase, without the most
/// common ones.
pub fn terms_of(question: &str) -> Vec<String> {
    question
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.len() > 2 && !STOP_WORDS.contains(&w.as_str()))
        .take(5)
        .collect()
}

/// The paragraphs of the Markdown `text` with the most of the search terms as words (a
/// plural counts), then the most mentions of them; at least one; best first.
pub fn search(source: &'static str, text: &str, queries: &Queries) -> Hits {
    let mut scored: Vec<((usize, usize), String)> = prose(text)
        .into_iter()
        .filter_map(|paragraph| {
            let lower = paragraph.to_lowercase();
            let words: Vec<&str> = lower
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect();
            let mentions = |term: &str| {
                words
                    .iter()
                    .filter(|w| w.strip_suffix('s').unwrap_or(w) == term.trim_end_matches('s'))
                    .count()
            };
            let counts: Vec<usize> = queries.terms.iter().map(|t| mentions(t)).collect();
            let distinct = counts.iter().filter(|&&n| n > 0).count();
            (distinct > 0).then(|| ((distinct, counts.iter().sum()), paragraph))
        })
        .collect();
    // Stable: equal scores keep the document's order.
    scored.sort_by_key(|(score, _)| std::cmp::Reverse(*score));
    Hits {
        source,
        question: queries.question.clone(),
        passages: scored
            .into_iter()
            .take(HITS_PER_SOURCE)
            .map(|(_, p)| p)
            .collect(),
    }
}

/// The prose paragraphs of a Markdown text, each on one line: code blocks, headings and
/// tables say little out of context and are left out, list markers are dropped.
fn prose(text: &str) -> Vec<String> {
    let mut paragraphs = Vec::new();
    let mut current = String::new();
    let mut in_code = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        let skipped = in_code || line.starts_with(['#', '|']);
        if line.is_empty() || skipped || line.starts_with("- ") {
            if !current.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
            if skipped || line.is_empty() {
                continue;
            }
        }
        let words = line.strip_prefix("- ").unwrap_or(line).split_whitespace();
        for word in words {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    paragraphs
}

#[node]
async fn search_guide(queries: Queries) -> Hits {
    search(
        "getting-started",
        include_str!("../../docs/getting-started.md"),
        &queries,
    )
}

#[node]
async fn search_policies(queries: Queries) -> Hits {
    search("policies", include_str!("../../docs/policies.md"), &queries)
}

#[node]
async fn search_observability(queries: Queries) -> Hits {
    search(
        "observability",
        include_str!("../../docs/observability.md"),
        &queries,
    )
}

#[node(retry(attempts = 3, backoff = exponential(500ms, 2.0, max = 5s), jitter = full),
       timeout = 60s)]
async fn summarize(found: (Hits, Hits, Hits), llm: &Llm) -> Result<Report, ProviderError> {
    let (guide, policies, observability) = found;
    let question = guide.question.clone();
    let evidence: Vec<(&'static str, String)> = [guide, policies, observability]
        .into_iter()
        .flat_map(|hits| hits.passages.into_iter().map(move |p| (hits.source, p)))
        .collect();
    // Each passage at most 300 characters in the prompt: six of them, the question and
    // the answer fit a small local model's context.
    let passages: String = evidence
        .iter()
        .map(|(source, passage)| {
            let short: String = passage.chars().take(300).collect();
            format!("[{source}] {short}\n")
        })
        .collect();
    let request = ChatRequest::new()
        .system(WRITER)
        .user(format!("Question: {question}\n\nPassages:\n{passages}"))
        .temperature(0.2)
        .max_tokens(200);
    let answer = llm.chat(&request).await?.text.trim().to_owned();
    Ok(Report {
        question,
        answer,
        evidence,
    })
}

#[flow(deps = ResearchDeps, timeout = 3m)]
graph! {
    /// Plans the search terms, searches three guides at once, and answers from the hits.
    pub Research(String) -> Report {
        START -> plan -> (search_guide, search_policies, search_observability) -> summarize;
        summarize -> END;
    }
}

/// Words too common to search for.
const STOP_WORDS: [&str; 24] = [
    "a", "an", "and", "are", "can", "do", "does", "for", "from", "how", "i", "in", "is", "it",
    "my", "of", "on", "the", "to", "what", "when", "which", "why", "with",
];

/// The offline model: plans with the question's own words ([`terms_of`]), and answers with the first
/// sentence of the best passage of each source that found one.
pub fn scripted() -> ScriptedModel {
    ScriptedModel::from_fn(|request, _| {
        let prompt = prompt_of(request);
        ScriptedReply::text(match system_of(request) {
            PLANNER => serde_json::json!({ "terms": terms_of(prompt) }).to_string(),
            WRITER => scripted_answer(prompt),
            other => format!("(no scripted answer for the system prompt {other:?})"),
        })
    })
}

fn scripted_answer(prompt: &str) -> String {
    let mut cited = Vec::new();
    let mut sentences = Vec::new();
    for line in prompt.lines().filter(|l| l.starts_with('[')) {
        let Some((source, passage)) = line[1..].split_once("] ") else {
            continue;
        };
        if cited.contains(&source) {
            continue;
        }
        cited.push(source);
        let first = passage
            .split_inclusive(". ")
            .next()
            .unwrap_or(passage)
            .trim();
        sentences.push(format!("{first} [{source}]"));
    }
    if sentences.is_empty() {
        "The guides say nothing about this.".to_owned()
    } else {
        sentences.join(" ")
    }
}
