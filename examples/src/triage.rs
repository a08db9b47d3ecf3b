//! The flow of the `triage` example: a model classifies a support ticket (structured
//! output into a Rust type), and the flow routes it by the enum that comes out: bugs to
//! the tracker, billing to the billing team, questions to a drafted answer.
//!
//! Offline, [`scripted`] classifies by the words of the ticket and drafts its answer from
//! the ticket's own summary.

use schemars::JsonSchema;
use serde::Deserialize;
use typedflow::prelude::*;
use typedflow_providers::{
    ChatModel as _, ChatModelExt as _, ChatRequest, ProviderError, ScriptedModel, ScriptedReply,
};

use crate::llm::{Llm, prompt_of, system_of};

const CLASSIFIER: &str = "You triage support tickets. Reply with JSON only: the category \
                          (bug, billing or question), whether it is urgent (production \
                          down, data lost, a deadline today), and a one-line summary.";
const ANSWERER: &str = "You answer customers' questions in two friendly sentences.";

/// The flow's dependencies.
#[derive(Deps)]
pub struct TriageDeps {
    /// The model that classifies and answers.
    pub llm: Llm,
}

/// A support ticket.
#[derive(Debug, Clone)]
pub struct Ticket {
    /// Its number.
    pub id: u32,
    /// What the customer wrote.
    pub text: String,
}

/// What kind of ticket it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// Something is broken.
    Bug,
    /// Money: charges, refunds, invoices.
    Billing,
    /// Anything else.
    Question,
}

/// The model's reading of a ticket, parsed from its structured output.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct Classification {
    /// The kind of ticket.
    pub category: Category,
    /// Whether it cannot wait.
    pub urgent: bool,
    /// One line (bounded, so that a small model cannot ramble past the reply's limit).
    #[schemars(length(max = 120))]
    pub summary: String,
}

/// A ticket with its classification.
#[derive(Debug, Clone)]
pub struct Classified {
    /// The ticket.
    pub ticket: Ticket,
    /// Whether it cannot wait.
    pub urgent: bool,
    /// The model's one-line summary.
    pub summary: String,
}

/// Where a ticket goes: one variant per queue, each routed to its own node.
#[derive(Debug)]
pub enum Routed {
    /// To the bug tracker.
    Bug(Classified),
    /// To the billing team.
    Billing(Classified),
    /// Answered at once.
    Question(Classified),
}

/// What was done with a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The ticket's number.
    pub ticket: u32,
    /// The queue it went to.
    pub queue: &'static str,
    /// What happened there.
    pub action: String,
}

#[node(retry(attempts = 3, backoff = exponential(500ms, 2.0, max = 5s), jitter = full),
       timeout = 60s)]
async fn classify(ticket: Ticket, llm: &Llm) -> Result<Routed, ProviderError> {
    let request = ChatRequest::new()
        .system(CLASSIFIER)
        .user(ticket.text.clone())
        .temperature(0.0)
        .max_tokens(300);
    let reading: Classification = llm.structured(&request).await?;
    let classified = Classified {
        ticket,
        urgent: reading.urgent,
        summary: reading.summary,
    };
    Ok(match reading.category {
        Category::Bug => Routed::Bug(classified),
        Category::Billing => Routed::Billing(classified),
        Category::Question => Routed::Question(classified),
    })
}

fn priority(urgent: bool) -> &'static str {
    if urgent { "P1" } else { "P3" }
}

#[node]
async fn file_bug(bug: Classified) -> Resolution {
    Resolution {
        ticket: bug.ticket.id,
        queue: "bugs",
        action: format!("filed as {}: {}", priority(bug.urgent), bug.summary),
    }
}

#[node]
async fn to_billing(billing: Classified) -> Resolution {
    Resolution {
        ticket: billing.ticket.id,
        queue: "billing",
        action: format!(
            "handed to billing ({}): {}",
            priority(billing.urgent),
            billing.summary
        ),
    }
}

#[node(retry(attempts = 3, backoff = exponential(500ms, 2.0, max = 5s), jitter = full),
       timeout = 60s)]
async fn answer(question: Classified, llm: &Llm) -> Result<Resolution, ProviderError> {
    let request = ChatRequest::new()
        .system(ANSWERER)
        .user(question.ticket.text.clone())
        .temperature(0.3)
        .max_tokens(200);
    let reply = llm.chat(&request).await?;
    Ok(Resolution {
        ticket: question.ticket.id,
        queue: "answered",
        action: reply.text.trim().to_owned(),
    })
}

#[flow(deps = TriageDeps, timeout = 3m)]
graph! {
    /// Classifies a ticket and sends it where its kind belongs.
    pub Triage(Ticket) -> Resolution {
        START -> classify;
        classify => {
            Routed::Bug -> file_bug,
            Routed::Billing -> to_billing,
            Routed::Question -> answer,
        }
        file_bug -> END;
        to_billing -> END;
        answer -> END;
    }
}

/// The offline model: classifies by the ticket's words (structured JSON, as a real model
/// is asked for) and answers questions by restating them.
pub fn scripted() -> ScriptedModel {
    ScriptedModel::from_fn(|request, _| {
        let ticket = prompt_of(request);
        ScriptedReply::text(match system_of(request) {
            CLASSIFIER => scripted_classification(ticket),
            ANSWERER => format!(
                "Thanks for asking: \"{}\". Here is how: open Settings, then Help, and \
                 follow the guide for exactly this.",
                summary_of(ticket)
            ),
            other => format!("(no scripted answer for the system prompt {other:?})"),
        })
    })
}

/// The ticket's first sentence, at most 60 characters.
fn summary_of(ticket: &str) -> String {
    let first = ticket
        .split_inclusive(['.', '?', '!'])
        .next()
        .unwrap_or(ticket)
        .trim();
    match first.char_indices().nth(60) {
        Some((cut, _)) => format!("{}...", &first[..cut]),
        None => first.to_owned(),
    }
}

fn scripted_classification(ticket: &str) -> String {
    let text = ticket.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
    let category = if has(&["refund", "invoice", "charged", "billing", "payment"]) {
        "billing"
    } else if has(&["crash", "error", "broken", "fails", "bug", "500"]) {
        "bug"
    } else {
        "question"
    };
    let urgent = has(&["urgent", "asap", "production", "down", "today"]);
    serde_json::json!({
        "category": category,
        "urgent": urgent,
        "summary": summary_of(ticket),
    })
    .to_string()
}
