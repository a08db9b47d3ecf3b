// An error edge out of an interrupt, which cannot fail.
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

#[node]
async fn give_up(_failed: typedflow::Failed<Approval, std::convert::Infallible>) -> Answered<Approval, bool> {
    Answered {
        question: Approval { draft: String::new() },
        answer: false,
    }
}

graph! {
    #[flow(durable)]
    Post(String) -> String {
        interrupt review: Approval => bool;
        START -> write -> review -> publish -> END;
        review !-> give_up;
        give_up -> publish;
    }
}

fn main() {}
