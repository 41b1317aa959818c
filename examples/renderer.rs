//! A minimal dashboard renderer: every request must carry a user-group
//! token, verified against a running Tessera's published JWKS by the
//! `tessera-middleware` crate (which refreshes the JWKS in the background);
//! the page shows the viewer's group and variables.
//!
//! Revocation, said at start: with a renderer API key
//! (`TESSERA_RENDERER_KEY`, from `tessera api-keys create --scope renderer`)
//! it reads Tessera's revocation feed every 2 s and a revoked or deleted
//! group's tokens stop passing within about 2 s; otherwise, when it can
//! reach Tessera's standalone Redis (`TESSERA_REDIS_URL`, with
//! `TESSERA_REDIS_PREFIX` if Tessera uses one), it checks every token's
//! group there, within 5 s. With neither, a revoked token keeps passing
//! until it expires (up to the token lifetime: 24 h by default, 30 d at
//! most).
//!
//! ```sh
//! TESSERA_URL=http://127.0.0.1:8080 TESSERA_RENDERER_KEY=tsk_... cargo run --example renderer
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/dashboard
//! ```
//!
//! Environment: `TESSERA_URL` (default `http://127.0.0.1:8080`),
//! `TESSERA_ISSUER` (default: `TESSERA_URL`), `TESSERA_AUDIENCE` (default
//! `dashboards`), `RENDERER_LISTEN` (default `127.0.0.1:3000`),
//! `RENDERER_TOKEN_CACHE` (verified tokens remembered, default 10000; 0
//! verifies every request afresh).
//!
//! The page is serialized from the verified token's claims as they are
//! (borrowed, not copied into a `serde_json::Value` first), and the example
//! allocates with jemalloc as Tessera does, so the load harnesses compare
//! it with the service on equal terms.

use std::sync::Arc;
use std::time::Duration;

use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Map, Value};
use tessera_middleware::{
    KeySource, RedisRevocations, RendererAuth, RendererAuthConfig, RevocationFeedConfig, UserGroup,
};
use tessera_verify::VerifyPolicy;
use tessera_verify::domain::{GroupId, GroupName, Mapping};

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// The page: who is viewing, and the variables the dashboard may use.
#[derive(Serialize)]
struct Page<'a> {
    viewer: Viewer<'a>,
    variables: &'a Map<String, Value>,
}

#[derive(Serialize)]
struct Viewer<'a> {
    team_id: u64,
    provided_id: &'a GroupId,
    name: &'a GroupName,
    mapping: &'a Mapping,
}

async fn dashboard(group: UserGroup) -> Response {
    let claims = &group.claims;
    Json(Page {
        viewer: Viewer {
            team_id: claims.team_id.get(),
            provided_id: &claims.sub,
            name: &claims.name,
            mapping: &claims.mapping,
        },
        variables: &group.variables,
    })
    .into_response()
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
    if let Ok(key) = std::env::var("TESSERA_RENDERER_KEY") {
        config.revocation_feed = Some(RevocationFeedConfig::new(&tessera, key));
        eprintln!("revocation: Tessera's revocation feed, read every 2 s");
    } else if let Ok(url) = std::env::var("TESSERA_REDIS_URL") {
        let prefix = env_or("TESSERA_REDIS_PREFIX", "tessera:");
        let redis = RedisRevocations::new(&url, &prefix, Duration::from_secs(1))
            .map_err(|err| err.to_string())?;
        config.revocations = Some(Arc::new(redis));
        eprintln!(
            "revocation: checked in Tessera's Redis; a revoked token stops passing within {} s",
            config.revocation_cache_ttl.as_secs()
        );
    } else {
        eprintln!(
            "revocation: NOT checked (no TESSERA_RENDERER_KEY or TESSERA_REDIS_URL); \
             a revoked or deleted group's token keeps passing until it expires"
        );
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
