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

#[flow(max_step = 5, dep = ())]
graph! {
    Count(u32) -> u32 {
        START -> a -> END;
    }
}

// The same mistake in a node's policies.
#[node(retyr(attempts = 3), retry(attempts = 3, jitter = ful, backof = constant(1s)))]
async fn fetch(url: String) -> Result<String, std::io::Error> {
    Ok(url)
}

fn main() {}
