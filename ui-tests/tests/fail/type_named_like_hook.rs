// A flow's output type named `H`, the name of the flow's hook parameter.
use typedflow::prelude::*;

pub struct H(u32);

#[node]
async fn wrap(x: u32) -> H {
    H(x)
}

graph! {
    Wrap(u32) -> H {
        START -> wrap -> END;
    }
}

fn main() {}
