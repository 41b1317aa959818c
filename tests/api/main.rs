//! Integration tests of the service against real Redis servers that the
//! tests start themselves. One binary, two tiers: `oneshot` router tests
//! and real-socket tests (in-process, or the `tessera` binary itself).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

mod audit;
mod auth;
mod bad_input;
mod binary;
mod browser;
mod cluster;
mod connections;
mod cors;
mod fleet;
mod full_disk;
mod get_user;
mod independent_client;
mod jwks_client;
mod key_migration;
mod metrics;
mod middleware;
mod openapi;
mod origins;
mod rate_limits;
mod refresh;
mod request_id;
mod revocation_feed;
mod revoke;
mod service;
mod storage;
mod store_faults;
mod verify;
