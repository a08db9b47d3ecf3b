//! A map as a fan-out branch, and a map inside a branch path: the join gets the map's
//! `Vec` of outputs for that branch, typed end to end.

use typedflow::prelude::*;

#[node]
async fn split(text: String) -> Vec<String> {
    text.split(' ').map(str::to_owned).collect()
}

#[node]
async fn measure(word: String) -> usize {
    word.len()
}

#[node]
async fn count(words: Vec<String>) -> usize {
    words.len()
}

#[node]
async fn report((lengths, n): (Vec<usize>, usize)) -> String {
    format!("{n} words of lengths {lengths:?}")
}

graph! {
    /// `split`'s words go to a map and to `count` at once.
    Lengths(String) -> String {
        START -> split -> ([measure; 4], count) -> report -> END;
    }
}

graph! {
    /// The flow's input fans out straight into a map and a node.
    Direct(Vec<String>) -> String {
        START -> ([measure], count) -> report -> END;
    }
}

#[node]
async fn words(text: String) -> Vec<String> {
    text.split(' ').map(str::to_owned).collect()
}

#[node]
async fn total(lengths: Vec<usize>) -> usize {
    lengths.iter().sum()
}

#[node]
async fn shout(text: String) -> String {
    text.to_uppercase()
}

#[node]
async fn summary((total, loud): (usize, String)) -> String {
    format!("{total} letters: {loud}")
}

graph! {
    /// A map in the middle of a branch path: `words` hands its items to `measure`, whose
    /// outputs `total` takes.
    Letters(String) -> String {
        START -> (words -> [measure; 2] -> total, shout) -> summary -> END;
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let out = rt.block_on(Lengths::new(()).run("a bb ccc".into()).into_future()).unwrap();
    assert_eq!(out, "3 words of lengths [1, 2, 3]");
    let out = rt.block_on(Direct::new(()).run(vec!["xy".into(), "z".into()]).into_future()).unwrap();
    assert_eq!(out, "2 words of lengths [2, 1]");
    let out = rt.block_on(Letters::new(()).run("ab c".into()).into_future()).unwrap();
    assert_eq!(out, "3 letters: AB C");
}
