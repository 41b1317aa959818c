//! A minimal dashboard renderer: every request must carry a user-group
//! token, verified offline against a running Tessera's published JWKS by
//! the `tessera` middleware; the page shows the viewer's group and
//! variables.
//!
//! ```sh
//! TESSERA_URL=http://127.0.0.1:8080 cargo run --example renderer
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/dashboard
//! ```
//!
//! Environment: `TESSERA_URL` (default `http://127.0.0.1:8080`),
//! `TESSERA_ISSUER` (default: `TESSERA_URL`), `TESSERA_AUDIENCE` (default
//! `dashboards`), `RENDERER_LISTEN` (default `127.0.0.1:3000`),
//! `RENDERER_TOKEN_CACHE` (verified tokens remembered, default 10000; 0
//! verifies every request afresh).

use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tessera::middleware::{KeySource, RendererAuth, RendererAuthConfig, UserGroup};
use tessera::token::VerifyPolicy;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// The page: who is viewing, and the variables the dashboard may use.
async fn dashboard(group: UserGroup) -> Json<Value> {
    Json(json!({
        "viewer": {
            "team_id": group.claims.team_id.get(),
            "provided_id": group.claims.sub.as_str(),
            "name": group.claims.name.as_str(),
            "mapping": group.claims.mapping.entries(),
        },
        "variables": group.variables,
    }))
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let tessera = env_or("TESSERA_URL", "http://127.0.0.1:8080");
    let policy = VerifyPolicy {
        issuer: env_or("TESSERA_ISSUER", &tessera),
        audience: env_or("TESSERA_AUDIENCE", "dashboards"),
        max_ttl: Duration::from_secs(30 * 86_400),
        leeway: Duration::from_secs(60),
    };
    let source = KeySource::JwksUrl(format!("{tessera}/.well-known/jwks.json"));
    let mut config = RendererAuthConfig::new(source, policy);
    if let Ok(capacity) = std::env::var("RENDERER_TOKEN_CACHE") {
        config.token_cache_capacity = capacity
            .parse()
            .map_err(|_| "RENDERER_TOKEN_CACHE must be a number".to_owned())?;
    }
    let auth = RendererAuth::new(config).await?;

    let app = Router::new()
        .route("/dashboard", get(dashboard))
        .layer(auth.layer());
    let listen = env_or("RENDERER_LISTEN", "127.0.0.1:3000");
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|err| format!("cannot listen on {listen}: {err}"))?;
    eprintln!("renderer on http://{listen}/dashboard, keys from {tessera}");
    axum::serve(listener, app)
        .await
        .map_err(|err| err.to_string())
}
