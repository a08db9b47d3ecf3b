use typedflow::prelude::*;

#[node]
async unsafe fn load(path: String) -> String {
    path
}

graph! {
    Load(String) -> String {
        START -> load -> END;
    }
}

fn main() {}
