// An interrupt whose answer cannot be saved in a checkpoint.
use serde::{Deserialize, Serialize};
use typedflow::durable::Answered;
use typedflow::prelude::*;

#[derive(Serialize, Deserialize)]
struct Approval {
    draft: String,
}

struct Verdict {
    approved: bool,
}

#[node]
async fn write(topic: String) -> Approval {
    Approval { draft: topic }
}

#[node]
async fn publish(approved: Answered<Approval, Verdict>) -> String {
    if approved.answer.approved {
        approved.question.draft
    } else {
        String::new()
    }
}

graph! {
    #[flow(durable)]
    Post(String) -> String {
        interrupt review: Approval => Verdict;
        START -> write -> review -> publish -> END;
    }
}

fn main() {}
