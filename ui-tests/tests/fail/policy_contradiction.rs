use typedflow::prelude::*;

#[node(
    retry(attempts = 0, backoff = exponential(1s, 0.5, max = 5s)),
    circuit_breaker(failures = 3, cool_down = 1m, max_cool_down = 30s)
)]
async fn fetch(url: String) -> Result<String, std::io::Error> {
    Ok(url)
}

#[node(retry(attempts = 3, backoff = exponential(10s, 2.0, max = 1s)))]
async fn store(text: String) -> Result<String, std::io::Error> {
    Ok(text)
}

#[node(rate_limit = 0/s)]
async fn search(query: String) -> String {
    query
}

fn main() {}
