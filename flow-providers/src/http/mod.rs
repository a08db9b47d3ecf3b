//! What the HTTP clients share, one concern per module: [`setup`] (settings, the base
//! URL, the `reqwest` client, secret headers), [`answer`] (sending, error answers and
//! their classification input, body limits, JSON), [`sse`] (the event-stream parser),
//! [`events`] (a streamed answer as [`StreamEvent`](crate::StreamEvent)s), and
//! [`client`] (the one client skeleton over a provider's [`Protocol`](client::Protocol)).

pub(crate) mod answer;
pub(crate) mod client;
pub(crate) mod events;
pub(crate) mod setup;
pub(crate) mod sse;

pub(crate) use answer::{ErrorContext, encode, parse_json, read_body, send};
pub(crate) use events::{Decoder, check_buffered, event_stream};
pub(crate) use setup::{
    HttpSettings, build_client, endpoint, env_var, extra_headers, secret_header,
};
