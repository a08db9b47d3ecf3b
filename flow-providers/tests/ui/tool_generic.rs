use typedflow_providers::tool;

/// Echoes its arguments.
#[tool]
async fn echo<T: serde::Serialize>(args: T) -> T {
    args
}

fn main() {}
