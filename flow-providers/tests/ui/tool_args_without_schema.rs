use typedflow_providers::tool;

#[derive(serde::Deserialize)]
struct City {
    city: String,
}

/// The weather in a city.
#[tool]
async fn get_weather(args: City) -> String {
    args.city
}

fn main() {}
