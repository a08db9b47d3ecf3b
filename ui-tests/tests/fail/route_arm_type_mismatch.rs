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

#[node]
async fn log(reason: u32) -> Draft {
    Draft(reason.to_string())
}

graph! {
    Essay(String) -> Draft {
        START -> write -> review;
        review => {
            Verdict::Revise -> review,
            Verdict::Accept -> END,
            Verdict::Reject -> log,
        }
        log -> END;
    }
}

fn main() {}
