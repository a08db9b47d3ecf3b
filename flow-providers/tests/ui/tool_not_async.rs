use typedflow_providers::tool;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct City {
    city: String,
}

/// The weather in a city.
#[tool]
fn get_weather(args: City) -> String {
    args.city
}

fn main() {}
