// Resuming a waiting run with an answer of the wrong type.
use serde::{Deserialize, Serialize};
use typedflow::checkpoint::MemoryStore;
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
    #[flow(durable)]
    Post(String) -> String {
        interrupt review: Approval => bool;
        START -> write -> review -> publish -> END;
    }
}

async fn answer(store: &MemoryStore, run_id: RunId) {
    let _ = Post::new(()).resume_with(store, run_id, "yes".to_string()).await;
}

fn main() {}
