// The node before an interrupt returns something other than the question it asks.
use serde::{Deserialize, Serialize};
use typedflow::durable::Answered;
use typedflow::prelude::*;

#[derive(Serialize, Deserialize)]
struct Approval {
    draft: String,
}

#[node]
async fn write(topic: String) -> String {
    topic
}

#[node]
async fn publish(approved: Answered<Approval, bool>) -> String {
    approved.question.draft
}

graph! {
    #[flow(durable)]
    Post(String) -> String {
        interrupt review: Approval => bool;
        START -> write -> review -> publish -> END;
    }
}

fn main() {}
