use typedflow::prelude::*;

pub enum Verdict {
    Revise(String),
    Done,
}

#[node]
async fn review(draft: String) -> Verdict {
    if draft.len() > 3 {
        Verdict::Done
    } else {
        Verdict::Revise(draft)
    }
}

#[node]
async fn revise(draft: String) -> String {
    draft + "!"
}

graph! {
    Essay(String) -> () {
        START -> review;
        review => {
            Verdict::Revise -> revise,
            Verdict::Done -> END,
        }
        revise -> review;
    }
}

fn main() {}
