use typedflow::prelude::*;

pub struct Llm;
pub struct Db;

#[derive(Deps)]
pub struct AppDeps {
    db: Db,
}

#[node]
async fn write(topic: String, llm: &Llm) -> String {
    let _ = llm;
    topic
}

#[flow(deps = AppDeps)]
graph! {
    Essay(String) -> String {
        START -> write -> END;
    }
}

fn main() {
    let _ = AppDeps { db: Db }.db;
}
