//! Tessera issues and verifies user-group tokens for embedded analytics
//! dashboards.
//!
//! A SaaS backend calls `GET|POST /api/user` with its customer's id, a
//! mapping and properties; Tessera gets or creates that user group in its
//! store and answers with a signed JWT carrying the group. The library
//! exposes the pieces: [`router`] and [`serve`] for the HTTP service, the
//! [`domain`] types, the [`store`] backends and the [`token`] keys and
//! issuer. The `tessera` binary only parses its command line and calls
//! into [`cli`].

pub mod api;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod error;
pub mod metrics;
mod private_fs;
pub mod ring;
pub mod server;
pub mod sql;
pub mod state;
pub mod store;
pub mod token;

pub use tessera_middleware as middleware;
pub use tessera_verify::{clock, domain, json_strict};

use std::future::Future;

pub use api::router;
pub use state::{AppParts, AppState};

/// Serves the API on `listener` with the default limits until `shutdown`
/// completes, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, server::ServeOptions::default(), shutdown).await
}

/// [`serve`] with explicit connection limits and timeouts.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: AppState,
    options: server::ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    server::serve(listener, router(state), options, shutdown).await
}
