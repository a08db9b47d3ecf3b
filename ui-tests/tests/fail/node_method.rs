use typedflow::prelude::*;

struct Writer;

impl Writer {
    #[node]
    async fn write(&self, topic: String) -> String {
        topic
    }
}

fn main() {}
