use typedflow::prelude::*;

#[node(retry(backoff = constant(1s)))]
async fn fetch(url: String) -> Result<String, std::io::Error> {
    Ok(url)
}

fn main() {}
