use typedflow::prelude::*;

#[node(retyr(attempts = 3), retry(attempts = 3, jitter = ful, backof = constant(1s)))]
async fn fetch(url: String) -> Result<String, std::io::Error> {
    Ok(url)
}

fn main() {}
