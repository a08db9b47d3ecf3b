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
async fn join((a, b): (u32, String)) -> u32 {
    a + b.len() as u32
}

graph! {
    Fan(u32) -> u32 {
        START -> split -> (double, name) -> join -> END;
        double -> END;
    }
}

fn main() {}
