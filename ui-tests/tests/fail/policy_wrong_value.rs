use typedflow::prelude::*;

#[node(retry(attempts = "3"), concurrency = 2.5)]
async fn fetch(url: String) -> Result<String, std::io::Error> {
    Ok(url)
}

fn main() {}
