use typedflow::prelude::*;

#[node]
async fn parse(text: String) -> Result<u32, std::num::ParseIntError> {
    text.parse()
}

#[node]
async fn rescue(text: String) -> u32 {
    text.len() as u32
}

graph! {
    Parse(String) -> u32 {
        START -> parse -> END;
        parse !-> rescue;
        rescue -> END;
    }
}

fn main() {}
