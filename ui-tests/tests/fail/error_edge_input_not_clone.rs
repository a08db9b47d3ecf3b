use typedflow::prelude::*;

pub struct Ticket(u32);

#[node]
async fn open(x: u32) -> Ticket {
    Ticket(x)
}

#[node]
async fn close(t: Ticket) -> Result<u32, std::io::Error> {
    Ok(t.0)
}

#[node]
async fn rescue(failed: typedflow::Failed<Ticket, std::io::Error>) -> u32 {
    failed.input.0
}

graph! {
    Tickets(u32) -> u32 {
        START -> open -> close -> END;
        close !-> rescue;
        rescue -> END;
    }
}

fn main() {}
