//! Test harness shared by the integration test binaries: a private
//! `redis-server` per test on a free loopback port (which a test may kill,
//! pause and restart), and the service itself, in-process or as the real
//! binary.

#![allow(dead_code, unused_imports)]

pub mod app;
pub mod clients;
pub mod in_flight;
pub mod mariadb;
pub mod postgres;
pub mod process;
pub mod redis_cluster;
pub mod redis_server;

pub use app::{TestApp, spawn_app};
pub use redis_server::RedisServer;

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}
