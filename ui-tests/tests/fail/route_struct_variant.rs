use typedflow::prelude::*;

pub enum Verdict {
    Revise { draft: String },
    Accept(String),
}

#[node]
async fn review(draft: String) -> Verdict {
    if draft.len() > 3 {
        Verdict::Accept(draft)
    } else {
        Verdict::Revise { draft }
    }
}

#[node]
async fn revise(draft: String) -> String {
    draft + "!"
}

graph! {
    Essay(String) -> String {
        START -> review;
        review => {
            Verdict::Revise -> revise,
            Verdict::Accept -> END,
        }
        revise -> review;
    }
}

fn main() {}
