//! SQL variables end to end: resolved queries run against a real
//! PostgreSQL with bound parameters, property tests of the resolver, and
//! the `/api/sql/resolve` endpoint.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

mod differential;
mod endpoint;
mod guarded_rows;
mod oracle;
mod postgres;
mod properties;
