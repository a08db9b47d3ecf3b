// An interrupt as a branch of a fan-out: a run waits only between steps.
use serde::{Deserialize, Serialize};
use typedflow::durable::Answered;
use typedflow::prelude::*;

#[derive(Clone, Serialize, Deserialize)]
struct Approval {
    draft: String,
}

#[node]
async fn write(topic: String) -> Approval {
    Approval { draft: topic }
}

#[node]
async fn lint(approval: Approval) -> usize {
    approval.draft.len()
}

#[node]
async fn publish((approved, _): (Answered<Approval, bool>, usize)) -> String {
    approved.question.draft
}

graph! {
    #[flow(durable)]
    Post(String) -> String {
        interrupt review: Approval => bool;
        START -> write -> (review, lint) -> publish -> END;
    }
}

fn main() {}
