use typedflow::prelude::*;

#[node]
async fn split(n: u32) -> Vec<u32> {
    (0..n).collect()
}

#[node]
async fn double(x: u32) -> u32 {
    x * 2
}

#[node]
async fn count(values: Vec<u32>) -> usize {
    values.len()
}

// Takes one value where the map branch sends the `Vec` of its outputs.
#[node]
async fn report((first, n): (u32, usize)) -> u32 {
    first + n as u32
}

graph! {
    MapBranch(u32) -> u32 {
        START -> split -> ([double; 4], count) -> report -> END;
    }
}

fn main() {}
