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

#[flow(timeout = 30)]
graph! {
    Count(u32) -> u32 {
        START -> a -> END;
    }
}

// The same mistake in a node's policies.
#[node(timeout = 30, retry(attempts = 3, backoff = constant(200)))]
async fn fetch(url: String) -> Result<String, std::io::Error> {
    Ok(url)
}

fn main() {}
