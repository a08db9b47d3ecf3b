use typedflow_providers::tool;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct City {
    city: String,
}

struct Forecast {
    celsius: i32,
}

/// The weather in a city.
#[tool]
async fn get_weather(args: City) -> Forecast {
    Forecast { celsius: args.city.len() as i32 }
}

fn main() {}
