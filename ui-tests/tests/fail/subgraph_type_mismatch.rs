use typedflow::prelude::*;

#[node]
async fn count(text: String) -> usize {
    text.len()
}

graph! {
    Count(String) -> usize {
        START -> count -> END;
    }
}

#[node]
async fn number(n: u32) -> u32 {
    n
}

graph! {
    Outer(u32) -> usize {
        START -> number -> Count -> END;
    }
}

fn main() {}
