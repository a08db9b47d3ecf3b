use typedflow::prelude::*;

#[node]
async fn split(x: u32) -> u32 {
    x
}

#[node]
async fn double(x: u32) -> u32 {
    x * 2
}

#[node]
async fn name(x: u32) -> String {
    x.to_string()
}

#[node]
async fn collect(values: Vec<u32>) -> u32 {
    values.into_iter().sum()
}

graph! {
    Map(u32) -> u32 {
        START -> split -> [double; 4] -> collect -> END;
    }
}

fn main() {}
