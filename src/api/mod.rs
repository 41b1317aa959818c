//! The HTTP API: routes, extractors and handlers. Handlers turn requests
//! into domain types and call the store and the token issuer; every error
//! leaves as [`crate::error::ApiError`].

mod audit;
mod auth;
mod caller;
mod cors;
mod extract;
mod health;
mod jwks;
mod keys;
pub mod metrics;
pub mod openapi;
mod rate_limit;
mod refresh;
pub mod request_id;
mod revocations;
mod revoke;
mod sql;
mod user;
mod users;
mod verified_body;
mod verify;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use tower_http::catch_panic::CatchPanicLayer;

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

pub use auth::{Admin, FeedReader};
pub use caller::CallerOf;
pub use cors::{CorsOrigins, CorsOriginsError};
pub use extract::{JsonObject, MaybeJsonObject};
pub use jwks::JWKS_MAX_AGE_SECS;
pub use rate_limit::{Limit, Rate, RateLimits, RateSetting, TrustedProxies, parse_trusted_proxies};
pub use user::GetUserRequest;
pub use verify::bearer_token;

/// The largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The service's routes over `state`.
pub fn router(state: AppState) -> Router {
    let metrics_route = state.metrics_route;
    let router = routes(state.clone());
    let router = if metrics_route {
        router.merge(metrics_router(state.clone()))
    } else {
        router
    };
    router.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        metrics::observe,
    ))
}

/// `GET /metrics` alone (for `--metrics-listen`).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics::metrics))
        .with_state(state)
}

fn routes(state: AppState) -> Router {
    // The routes a browser page may call; only they get CORS headers.
    // Preflights are answered by the CORS layer; without it they are 204.
    let mut browser = Router::new()
        .route(
            "/api/verify",
            post(verify::verify_token).options(preflight_without_cors),
        )
        .route(
            "/.well-known/jwks.json",
            get(jwks::jwks).options(preflight_without_cors),
        )
        .route(
            "/api/token/refresh",
            post(refresh::refresh_token).options(preflight_without_cors),
        )
        // Per client address; inside CORS, so a browser can read a 429.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit_clients,
        ));
    if let Some(cors) = state.cors.layer() {
        browser = browser.layer(cors);
    }
    let renderer = Router::new()
        .route("/api/sql/resolve", post(sql::resolve_sql))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit_clients,
        ));
    Router::new()
        .merge(browser)
        .merge(renderer)
        .route("/api/user", get(user::get_user).post(user::get_user))
        .route("/api/user/{user_group_id}", delete(user::delete_user))
        .route("/api/user/{user_group_id}/revoke", post(user::revoke_user))
        .route("/api/token/revoke", post(revoke::revoke_token))
        .route("/api/user/{user_group_id}/audit", get(audit::audit_trail))
        .route("/api/users", get(users::list_users))
        .route("/api/users/export", get(users::export_users))
        .route("/api/revocations", get(revocations::revocations))
        .route("/api/keys", get(keys::list_keys).post(keys::create_key))
        .route("/api/keys/{kid}/activate", post(keys::activate_key))
        .route("/api/keys/{kid}/retire", post(keys::retire_key))
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(ApiError::internal(&"handler panicked"))
        }))
        .with_state(state)
}

async fn preflight_without_cors() -> axum::http::StatusCode {
    axum::http::StatusCode::NO_CONTENT
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this method is not allowed on this endpoint",
    )
}
