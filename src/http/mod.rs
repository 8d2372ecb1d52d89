//! The outgoing request: what is sent, the one client that sends it, and what the
//! answer means.

pub mod answer;
pub mod cause;
pub mod request;
pub mod send;

pub use answer::{parse_retry_after, Attempt};
pub use cause::Cause;
pub use request::{parse_header_name, parse_header_value, parse_method, Request};
pub use send::{Client, Outgoing};
