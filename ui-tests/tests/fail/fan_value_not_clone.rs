use typedflow::prelude::*;

pub struct Ticket(u32);

#[node]
async fn open(x: u32) -> Ticket {
    Ticket(x)
}

#[node]
async fn left(t: Ticket) -> u32 {
    t.0
}

#[node]
async fn right(t: Ticket) -> u32 {
    t.0 + 1
}

#[node]
async fn join((a, b): (u32, u32)) -> u32 {
    a + b
}

graph! {
    Fan(u32) -> u32 {
        START -> open -> (left, right) -> join -> END;
    }
}

fn main() {}
