use typedflow_providers::tool;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Query {
    text: String,
}

struct Search {
    index: Vec<String>,
}

impl Search {
    /// Finds the entries containing a text.
    #[tool]
    async fn search(&self, query: Query) -> Vec<String> {
        let hits = self.index.iter().filter(|e| e.contains(&query.text));
        hits.cloned().collect()
    }
}

fn main() {}
