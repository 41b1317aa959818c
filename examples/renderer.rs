//! A minimal dashboard renderer: every request must carry a user-group
//! token, verified against a running Tessera's published JWKS by the
//! `tessera-middleware` crate (which refreshes the JWKS in the background);
//! the page shows the viewer's group and variables.
//!
//! Revocation: when the renderer can reach Tessera's Redis
//! (`TESSERA_REDIS_URL` or `TESSERA_REDIS_CLUSTER`, with `TESSERA_REDIS_PREFIX`
//! if Tessera uses one), it checks every token's group there, and a revoked
//! or deleted group's tokens stop passing within 5 s. Without it, a revoked
//! token keeps passing until it expires (up to the token lifetime: 24 h by
//! default, 30 d at most). It says which at start.
//!
//! ```sh
//! TESSERA_URL=http://127.0.0.1:8080 TESSERA_REDIS_URL=redis://127.0.0.1:6379 \
//!   cargo run --example renderer
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/dashboard
//! ```
//!
//! Environment: `TESSERA_URL` (default `http://127.0.0.1:8080`),
//! `TESSERA_ISSUER` (default: `TESSERA_URL`), `TESSERA_AUDIENCE` (default
//! `dashboards`), `RENDERER_LISTEN` (default `127.0.0.1:3000`),
//! `RENDERER_TOKEN_CACHE` (verified tokens remembered, default 10000; 0
//! verifies every request afresh).

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tessera::auth::Secret;
use tessera::config::parse_cluster_nodes;
use tessera::store::{RedisConfig, RedisStore, RedisTarget};
use tessera::token::revocation::StoreRevocations;
use tessera_middleware::{
    KeySource, RendererAuth, RendererAuthConfig, RevocationSource, UserGroup,
};
use tessera_verify::VerifyPolicy;

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

/// Tessera's Redis, when the environment names it.
fn revocation_store() -> Result<Option<Arc<dyn RevocationSource>>, String> {
    let target = match (
        std::env::var("TESSERA_REDIS_URL").ok(),
        std::env::var("TESSERA_REDIS_CLUSTER").ok(),
    ) {
        (Some(url), None) => RedisTarget::Url(Secret::new(url)),
        (None, Some(nodes)) => RedisTarget::Cluster(parse_cluster_nodes(&nodes)?),
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err("set TESSERA_REDIS_URL or TESSERA_REDIS_CLUSTER, not both".into());
        }
    };
    let store = RedisStore::new(&RedisConfig {
        target,
        prefix: env_or("TESSERA_REDIS_PREFIX", "tessera:"),
        timeout: Duration::from_secs(1),
    })
    .map_err(|err| err.to_string())?;
    Ok(Some(Arc::new(StoreRevocations(Arc::new(store)))))
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
    let jwks_url = format!("{tessera}/.well-known/jwks.json");
    let source = KeySource::JwksUrl(jwks_url.clone());
    let mut config = RendererAuthConfig::new(source, policy);
    if let Ok(capacity) = std::env::var("RENDERER_TOKEN_CACHE") {
        config.token_cache_capacity = capacity
            .parse()
            .map_err(|_| "RENDERER_TOKEN_CACHE must be a number".to_owned())?;
    }
    config.revocations = revocation_store()?;
    match &config.revocations {
        Some(_) => eprintln!(
            "revocation: checked in Tessera's Redis; a revoked token stops passing within {} s",
            config.revocation_cache_ttl.as_secs()
        ),
        None => eprintln!(
            "revocation: NOT checked (no TESSERA_REDIS_URL or TESSERA_REDIS_CLUSTER); \
             a revoked or deleted group's token keeps passing until it expires"
        ),
    }
    let auth = RendererAuth::new(config)
        .await
        .map_err(|err| err.to_string())?;
    match auth.keys_unavailable() {
        None => eprintln!("keys: JWKS {jwks_url} fetched; refreshed in the background"),
        Some(err) => eprintln!(
            "keys: JWKS {jwks_url} could not be fetched yet ({err}); retrying in the background, \
             tokens answered 503 keys_unavailable meanwhile"
        ),
    }

    let app = Router::new()
        .route("/dashboard", get(dashboard))
        .layer(auth.layer());
    let listen = env_or("RENDERER_LISTEN", "127.0.0.1:3000");
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|err| format!("cannot listen on {listen}: {err}"))?;
    let address = listener.local_addr().map_err(|err| err.to_string())?;
    eprintln!("renderer on http://{address}/dashboard, keys from {tessera}");
    axum::serve(listener, app)
        .await
        .map_err(|err| err.to_string())
}
