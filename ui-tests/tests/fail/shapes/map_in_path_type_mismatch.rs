use typedflow::prelude::*;

#[node]
async fn words(text: String) -> Vec<String> {
    text.split(' ').map(str::to_owned).collect()
}

#[node]
async fn measure(word: String) -> usize {
    word.len()
}

// Takes one length where the map sends the `Vec` of them.
#[node]
async fn longest(length: usize) -> usize {
    length
}

#[node]
async fn shout(text: String) -> String {
    text.to_uppercase()
}

#[node]
async fn summary((n, loud): (usize, String)) -> String {
    format!("{n} {loud}")
}

graph! {
    MapInPath(String) -> String {
        START -> (words -> [measure; 2] -> longest, shout) -> summary -> END;
    }
}

fn main() {}
