use typedflow::prelude::*;

#[node]
async fn echo<T: Send>(value: T) -> T {
    value
}

graph! {
    Echo(String) -> String {
        START -> echo -> END;
    }
}

fn main() {}
