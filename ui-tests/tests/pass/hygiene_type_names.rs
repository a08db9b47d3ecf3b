// Types named like the generic parameters of the generated code: the flow's input `R`,
// its output `K`, and `H` (the flow's hook parameter) written as a path.
use typedflow::prelude::*;

#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct R(u32);

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct K(u32);

#[derive(Debug, PartialEq)]
pub struct H(u32);

#[node]
async fn hold(k: K) -> H {
    H(k.0)
}

graph! {
    Hold(R) -> self::H {
        START -> double -> wrap -> hold -> END;
    }
}

#[node]
async fn double(r: R) -> R {
    R(r.0 * 2)
}

#[node]
async fn wrap(r: R) -> K {
    K(r.0)
}

graph! {
    Wrap(R) -> K {
        START -> double -> wrap -> END;
    }
}

graph! {
    #[flow(durable)]
    DurableWrap(R) -> K {
        START -> double -> wrap -> END;
    }
}

fn main() {
    let out = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(Wrap::new(()).run(R(21)).into_future());
    assert_eq!(out.unwrap(), K(42));
    let out = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(Hold::new(()).run(R(1)).into_future());
    assert_eq!(out.unwrap(), H(2));
    let store = typedflow::checkpoint::MemoryStore::new();
    let out = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(DurableWrap::new(()).run(R(21)).checkpoint(&store).into_future());
    assert_eq!(out.unwrap(), K(42));
}
