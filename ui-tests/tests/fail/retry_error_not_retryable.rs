use typedflow::prelude::*;

#[derive(Debug)]
pub struct FetchError;

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fetch failed")
    }
}

impl std::error::Error for FetchError {}

#[node(retry(attempts = 3))]
async fn fetch(url: String) -> Result<String, FetchError> {
    Ok(url)
}

graph! {
    Fetch(String) -> String {
        START -> fetch -> END;
    }
}

fn main() {}
