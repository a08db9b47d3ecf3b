// A flow that is not `#[flow(durable)]` served on Restate: one error, on the macro.
use typedflow::prelude::*;

#[node]
async fn double(x: u32) -> u32 {
    x * 2
}

graph! {
    Double(u32) -> u32 {
        START -> double -> END;
    }
}

fn main() {
    let _served = typedflow_restate::workflow!(Double::new(()));
}
