//! The outgoing request: what is sent, the one client that sends it, and what the
//! answer means.

pub mod cause;
pub mod request;

pub use cause::Cause;
pub use request::{parse_header_name, parse_header_value, parse_method, Request};
