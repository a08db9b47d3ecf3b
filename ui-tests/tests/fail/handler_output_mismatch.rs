use typedflow::prelude::*;

#[node]
async fn items(n: u32) -> Vec<u32> {
    (0..n).collect()
}

#[node]
async fn check(x: u32) -> Result<u32, std::io::Error> {
    Ok(x)
}

#[node]
async fn skip(failed: typedflow::Failed<u32, std::io::Error>) -> String {
    failed.error.to_string()
}

#[node]
async fn total(values: Vec<u32>) -> u32 {
    values.into_iter().sum()
}

graph! {
    Checked(u32) -> u32 {
        START -> items -> [check; 2] -> total -> END;
        check !-> skip;
    }
}

fn main() {}
