// An interrupt in a flow that is not durable: a waiting run has nowhere to be kept.
use serde::{Deserialize, Serialize};
use typedflow::durable::Answered;
use typedflow::prelude::*;

#[derive(Serialize, Deserialize)]
struct Approval {
    draft: String,
}

#[node]
async fn write(topic: String) -> Approval {
    Approval { draft: topic }
}

#[node]
async fn publish(approved: Answered<Approval, bool>) -> String {
    approved.question.draft
}

graph! {
    Post(String) -> String {
        interrupt review: Approval => bool;
        START -> write -> review -> publish -> END;
    }
}

fn main() {}
