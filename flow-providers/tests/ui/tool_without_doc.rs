use typedflow_providers::tool;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct City {
    city: String,
}

#[tool]
async fn get_weather(args: City) -> String {
    args.city
}

fn main() {}
