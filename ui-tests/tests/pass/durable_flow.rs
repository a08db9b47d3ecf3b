//! A durable flow whose values derive serde's traits, with a route, a loop and a fan-out.

use serde::{Deserialize, Serialize};
use typedflow::prelude::*;

#[derive(Clone, Serialize, Deserialize)]
pub struct Draft {
    pub text: String,
    pub rounds: u32,
}

pub enum Review {
    Again(Draft),
    Done(Draft),
}

#[node]
async fn write(topic: String) -> Draft {
    Draft { text: topic, rounds: 0 }
}

#[node]
async fn review(mut draft: Draft) -> Review {
    draft.rounds += 1;
    if draft.rounds < 3 { Review::Again(draft) } else { Review::Done(draft) }
}

#[node]
async fn publish(draft: Draft) -> Draft {
    draft
}

#[node]
async fn words(draft: Draft) -> usize {
    draft.text.split_whitespace().count()
}

#[node]
async fn chars(draft: Draft) -> usize {
    draft.text.len()
}

#[node]
async fn total((a, b): (usize, usize)) -> usize {
    a + b
}

graph! {
    #[flow(durable)]
    Essay(String) -> usize {
        START -> write -> review;
        review => {
            Review::Again -> review,
            Review::Done -> publish,
        }
        publish -> (words, chars) -> total -> END;
    }
}

fn main() {
    let store = typedflow::checkpoint::MemoryStore::new();
    let flow = Essay::new(());
    let run = flow.run("a b".into()).checkpoint(&store);
    drop(run);
}
