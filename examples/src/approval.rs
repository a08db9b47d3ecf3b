//! The `approval` example's flow: a post is drafted, then waits for an editor's verdict,
//! as long as it takes, saved in a checkpoint store; approved it is published, rejected
//! it is revised with the editor's note and waits again.
//!
//! ```text
//! START -> draft -> review (waits for Approval) -> decide => { Publish -> publish -> END,
//!                     ^                                       Revise  -> revise }
//!                     '------------------------------------------------------'
//! ```

use serde::{Deserialize, Serialize};
use typedflow::checkpoint::Checkpointer;
use typedflow::durable::{Answered, Outcome};
use typedflow::prelude::*;

/// What the editor is asked: approve this draft?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    /// The post's topic.
    pub topic: String,
    /// The text to approve.
    pub draft: String,
    /// How many times it was revised.
    pub revision: u32,
}

/// The editor's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Verdict {
    /// Publish it as it is.
    Approve,
    /// Revise it: what to change.
    Reject {
        /// The editor's note.
        note: String,
    },
}

/// What follows a verdict.
#[derive(Debug)]
pub enum Decision {
    /// The approved draft.
    Publish(Approval),
    /// The rejected draft and the editor's note.
    Revise((Approval, String)),
}

/// Drafts the post.
#[node]
pub async fn draft(topic: String) -> Approval {
    Approval {
        draft: format!("{topic}: a first draft."),
        topic,
        revision: 0,
    }
}

/// Reads the editor's verdict.
#[node]
pub async fn decide(reviewed: Answered<Approval, Verdict>) -> Decision {
    match reviewed.answer {
        Verdict::Approve => Decision::Publish(reviewed.question),
        Verdict::Reject { note } => Decision::Revise((reviewed.question, note)),
    }
}

/// Revises the draft with the editor's note.
#[node]
pub async fn revise((rejected, note): (Approval, String)) -> Approval {
    Approval {
        draft: format!("{} Revised: {note}.", rejected.draft),
        revision: rejected.revision + 1,
        ..rejected
    }
}

/// Publishes the approved draft.
#[node]
pub async fn publish(approved: Approval) -> String {
    format!(
        "published after {} revision(s): {}",
        approved.revision, approved.draft
    )
}

graph! {
    /// A post that waits for an editor's approval, in a checkpoint store.
    #[flow(durable, max_steps = 40)]
    pub Post(String) -> String {
        interrupt review: Approval => Verdict;
        START -> draft -> review -> decide;
        decide => {
            Decision::Publish -> publish,
            Decision::Revise -> revise,
        }
        revise -> review;
        publish -> END;
    }
}

/// What a run's step left: the published post, or the question it waits on.
pub fn describe(run_id: RunId, outcome: Outcome<String>) -> String {
    match outcome {
        Outcome::Finished(post) => format!("run {run_id}: {post}"),
        Outcome::Waiting(waiting) => match waiting.question::<Approval>() {
            Some(q) => format!(
                "run {run_id} waits for an editor at `{}` (revision {}): {}",
                waiting.interrupt(),
                q.revision,
                q.draft
            ),
            None => format!("run {run_id} waits at `{}`", waiting.interrupt()),
        },
    }
}

/// Starts a post on `topic` under `run_id`: it runs until it waits for the editor.
///
/// # Errors
///
/// The run's error (a store that fails, say).
pub async fn start<C: Checkpointer>(
    store: &C,
    run_id: RunId,
    topic: String,
) -> Result<String, FlowError> {
    let outcome = Post::new(())
        .run(topic)
        .checkpoint(store)
        .run_id(run_id)
        .await?;
    Ok(describe(run_id, outcome))
}

/// Shows what the run `run_id` waits on, as saved in `store`.
///
/// # Errors
///
/// When the run does not wait, or cannot be read.
pub async fn show<C: Checkpointer>(store: &C, run_id: RunId) -> Result<String, FlowError> {
    let waiting = Post::new(()).waiting(store, run_id).await?;
    Ok(describe(run_id, Outcome::Waiting(waiting)))
}

/// Answers the run `run_id` with `verdict`: it runs on until it finishes or waits again.
///
/// # Errors
///
/// The run's error; answering a run that does not wait is
/// [`DurableError::NotWaiting`](typedflow::durable::DurableError::NotWaiting).
pub async fn answer<C: Checkpointer>(
    store: &C,
    run_id: RunId,
    verdict: Verdict,
) -> Result<String, FlowError> {
    let outcome = Post::new(()).resume_with(store, run_id, verdict).await?;
    Ok(describe(run_id, outcome))
}
