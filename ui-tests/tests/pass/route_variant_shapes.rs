//! Route arms on the three shapes of variant: a tuple variant hands its field on, a
//! variant with named fields hands the fields written in braces (one, or a tuple of
//! several), and a unit variant, written `{}`, hands `()`. Fields left out with `..` or
//! `field: _` (rustc's suggestion for a variant whose fields are not written) are not
//! handed on.
use typedflow::prelude::*;

pub enum Verdict {
    Revise { draft: String },
    Split { head: String, tail: String },
    Accept(String),
    Drop,
    Trim { text: String, cut: usize },
    Flag { reason: String, level: u32 },
}

#[node]
async fn review(draft: String) -> Verdict {
    match draft.len() {
        0 => Verdict::Drop,
        1..=3 => Verdict::Revise { draft: draft + "+" },
        4..=6 => Verdict::Split { head: draft[..2].to_owned(), tail: draft[2..].to_owned() },
        11 => Verdict::Trim { text: draft, cut: 1 },
        12 => Verdict::Flag { reason: draft, level: 1 },
        _ => Verdict::Accept(draft),
    }
}

#[node]
async fn join((head, tail): (String, String)) -> String {
    format!("{head}{tail}{tail}")
}

#[node]
async fn dropped(_: ()) -> String {
    "dropped".to_owned()
}

graph! {
    Essay(String) -> String {
        START -> review;
        review => {
            Verdict::Revise { draft } -> review,
            Verdict::Split { head, tail } -> join,
            Verdict::Accept -> END,
            Verdict::Drop {} -> dropped,
            Verdict::Trim { text, .. } -> END,
            Verdict::Flag { reason: _, level: _ } -> dropped,
        }
        join -> review;
        dropped -> END;
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let flow = Essay::new(());
    assert_eq!(rt.block_on(flow.run("ab".into()).into_future()).unwrap(), "ab++++++++");
    assert_eq!(rt.block_on(flow.run("abcde".into()).into_future()).unwrap(), "abcdecde");
    assert_eq!(rt.block_on(flow.run(String::new()).into_future()).unwrap(), "dropped");
    assert_eq!(rt.block_on(flow.run("abcdefghijk".into()).into_future()).unwrap(), "abcdefghijk");
    assert_eq!(rt.block_on(flow.run("abcdefghijkl".into()).into_future()).unwrap(), "dropped");
}
