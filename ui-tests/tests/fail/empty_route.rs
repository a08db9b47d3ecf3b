use typedflow::prelude::*;

#[derive(Clone)]
pub struct Draft(String);

pub enum Verdict {
    Revise(Draft),
    Accept(Draft),
    Reject(String),
}

#[node]
async fn write(topic: String) -> Draft {
    Draft(topic)
}

#[node]
async fn review(draft: Draft) -> Verdict {
    Verdict::Accept(draft)
}

graph! {
    Essay(String) -> Draft {
        START -> write -> review;
        review => {}
    }
}

fn main() {}
