use typedflow::prelude::*;

#[node]
async fn fetch(url: String) -> Result<String, std::io::Error> {
    Ok(url)
}

graph! {
    Fetch(String) -> String {
        START -> fetch -> END;
        fetch !-> END;
    }
}

fn main() {}
