//! The flow of the `pipeline` example: a batch of product reviews goes through a bounded
//! map in which a model labels each review's sentiment. The model is the flaky dependency:
//! its calls are retried, and a circuit breaker stops calling it for a while after
//! failures in a row. A review that still fails takes the error edge to a dead-letter
//! file instead of failing the batch; the run ends with a count of the reviews done and
//! set aside, and none is lost.
//!
//! Offline, [`scripted`] labels by the review's words and, like a server having a bad
//! minute, answers `503` to a stretch of requests in the middle of the batch.

use std::fs::File;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use typedflow::Failed;
use typedflow::policy::PolicyError;
use typedflow::prelude::*;
use typedflow_providers::{
    ApiError, ChatModel as _, ChatRequest, ProviderError, ScriptedModel, ScriptedReply,
};

use crate::llm::{Llm, prompt_of};

const LABELLER: &str = "You label the sentiment of product reviews. Reply with one word: \
                        positive, negative or mixed.";

/// A review of the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// Its line in the batch, from 1.
    pub line: usize,
    /// What the customer wrote.
    pub text: String,
}

/// What became of one review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Labelled.
    Done {
        /// The review's line.
        line: usize,
        /// `positive`, `negative` or `mixed`.
        label: String,
    },
    /// Written to the dead-letter file, with why.
    SetAside {
        /// The review's line.
        line: usize,
        /// The error, with its causes (`typedflow::report`).
        reason: String,
    },
}

/// The batch's result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// The reviews in the batch.
    pub total: usize,
    /// The labelled ones: line and label.
    pub done: Vec<(usize, String)>,
    /// The lines set aside in the dead-letter file.
    pub set_aside: Vec<usize>,
}

/// The dead-letter file: one JSON object per line for each review set aside.
#[derive(Debug)]
pub struct DeadLetter {
    path: PathBuf,
    file: Mutex<File>,
}

impl DeadLetter {
    /// Creates (or empties) the file at `path`.
    ///
    /// # Errors
    ///
    /// When the file cannot be created.
    pub fn create(path: impl Into<PathBuf>) -> io::Result<Self> {
        let path = path.into();
        let file = File::create(&path)?;
        Ok(DeadLetter {
            path,
            file: Mutex::new(file),
        })
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&self, record: &serde_json::Value) -> io::Result<()> {
        // A panic while holding the lock cannot leave a half-written line behind (each line
        // is one write), so a poisoned lock is still safe to use.
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        writeln!(file, "{record}")?;
        file.flush()
    }
}

/// The flow's dependencies.
#[derive(Deps)]
pub struct PipelineDeps {
    /// The model that labels.
    pub llm: Llm,
    /// Where failed reviews go.
    pub dead_letter: DeadLetter,
}

#[node]
async fn intake(batch: String) -> Vec<Review> {
    batch
        .lines()
        .enumerate()
        .filter(|(_, text)| !text.trim().is_empty())
        .map(|(n, text)| Review {
            line: n + 1,
            text: text.trim().to_owned(),
        })
        .collect()
}

#[node(retry(attempts = 2, backoff = constant(100ms), jitter = none),
       timeout = 30s,
       circuit_breaker(failures = 3, cool_down = 1s, max_cool_down = 10s))]
async fn label(review: Review, llm: &Llm) -> Result<Outcome, ProviderError> {
    let request = ChatRequest::new()
        .system(LABELLER)
        .user(review.text.clone())
        .temperature(0.0)
        .max_tokens(5);
    let reply = llm.chat(&request).await?;
    let word = reply.text.trim().to_lowercase();
    let label = ["positive", "negative", "mixed"]
        .into_iter()
        .find(|label| word.contains(label))
        .unwrap_or("mixed");
    Ok(Outcome::Done {
        line: review.line,
        label: label.to_owned(),
    })
}

#[node]
async fn set_aside(
    failed: Failed<Review, PolicyError<ProviderError>>,
    dead_letter: &DeadLetter,
) -> Result<Outcome, io::Error> {
    let reason = typedflow::report(&failed.error).to_string();
    dead_letter.write(&serde_json::json!({
        "line": failed.input.line,
        "text": failed.input.text,
        "attempts": failed.attempts,
        "circuit_open": failed.error.is_circuit_open(),
        "error": reason,
    }))?;
    Ok(Outcome::SetAside {
        line: failed.input.line,
        reason,
    })
}

#[node]
async fn tally(outcomes: Vec<Outcome>) -> Tally {
    let mut tally = Tally {
        total: outcomes.len(),
        ..Tally::default()
    };
    for outcome in outcomes {
        match outcome {
            Outcome::Done { line, label } => tally.done.push((line, label)),
            Outcome::SetAside { line, .. } => tally.set_aside.push(line),
        }
    }
    tally
}

#[flow(deps = PipelineDeps, timeout = 10m)]
graph! {
    /// Labels every review of a batch; those that fail go to the dead-letter file.
    pub Pipeline(String) -> Tally {
        START -> intake -> [label; 4] -> tally -> END;
        label !-> set_aside;
    }
}

/// The offline model: labels by the review's words, and answers `503` to requests 6 to
/// 12, a stretch long enough for the breaker to open.
pub fn scripted() -> ScriptedModel {
    ScriptedModel::from_fn(|request, n| {
        if (5..12).contains(&n) {
            let api = ApiError::new("scripted", 503, "the server is having a bad minute");
            return ScriptedReply::error(ProviderError::from_api(api, "scripted"));
        }
        let text = prompt_of(request).to_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
        let good = has(&["great", "love", "excellent", "perfect", "works well"]);
        let bad = has(&["broke", "awful", "refund", "disappoint", "stopped"]);
        ScriptedReply::text(match (good, bad) {
            (true, false) => "positive",
            (false, true) => "negative",
            _ => "mixed",
        })
    })
}
