use typedflow::prelude::*;

#[node]
async fn a(x: u32) -> u32 {
    x + 1
}

#[node]
async fn b(x: u32) -> u32 {
    x + 1
}

#[node]
async fn c(x: u32) -> u32 {
    x + 1
}

#[flow(max_steps = "50", name = 7)]
graph! {
    Count(u32) -> u32 {
        START -> a -> END;
    }
}

// The same mistake in a node's policies.
#[node(retry(attempts = "3"), concurrency = 2.5)]
async fn fetch(url: String) -> Result<String, std::io::Error> {
    Ok(url)
}

graph! {
    Fetch(String) -> String {
        START -> fetch -> END;
    }
}

fn main() {}
