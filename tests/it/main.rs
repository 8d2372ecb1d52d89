//! One integration test binary: the real `hookbridge` binary driven as a user would,
//! and the library's mapping-to-body path checked against golden files and schemas.

// Tests measure real elapsed time against real servers; the product itself reads
// time only through `hookbridge::clock` (see clippy.toml).
#![allow(clippy::disallowed_methods)]

mod bodies;
mod check;
mod connect;
mod delivery;
mod durability;
mod forges;
mod gateway;
mod ingress;
mod kinds;
mod ops;
mod pg;
mod promises;
mod reload;
mod render;
mod replicas;
mod schemas;
mod services;
mod standin;
mod structure;
mod support;
mod test_command;
