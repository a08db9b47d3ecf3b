use typedflow::prelude::*;

#[node]
async unsafe fn load(path: String) -> String {
    path
}

fn main() {}
