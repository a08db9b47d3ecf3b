use std::rc::Rc;

use typedflow_providers::tool;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct City {
    city: String,
}

async fn lookup(city: &str) -> usize {
    city.len()
}

/// The weather in a city.
#[tool]
async fn get_weather(args: City) -> usize {
    let shared = Rc::new(args.city);
    lookup(&shared).await
}

fn main() {}
