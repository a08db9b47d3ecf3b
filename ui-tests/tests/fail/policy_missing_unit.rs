use typedflow::prelude::*;

#[node(timeout = 30, retry(attempts = 3, backoff = constant(200)))]
async fn fetch(url: String) -> Result<String, std::io::Error> {
    Ok(url)
}

fn main() {}
