use typedflow::prelude::*;

pub enum Verdict {
    Revise(String),
    Accept(String),
}

#[node]
async fn review(draft: String) -> Verdict {
    Verdict::Accept(draft)
}

#[node]
async fn revise(draft: String) -> String {
    draft + "!"
}

graph! {
    Essay(String) -> String {
        START -> review;
        review => {
            Verdict::Revise(draft) -> revise,
            Verdict::Accept -> END,
        }
        revise -> review;
    }
}

fn main() {}
