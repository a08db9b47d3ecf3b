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
async fn count(x: u32) -> usize {
    x as usize
}

#[node]
async fn report((n, values): (usize, Vec<u32>)) -> u32 {
    values.len() as u32 + n as u32
}

graph! {
    MapBranch(u32) -> u32 {
        START -> split -> (count, [double; 4]) -> report -> END;
    }
}

fn main() {}
