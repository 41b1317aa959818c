//! `AppState`: everything a request handler may use, cloned cheaply into
//! each request (one reference count: the parts sit behind one `Arc`, as
//! every layer and handler of a request takes its own clone). There is no
//! global state: tests build as many states as they like, each with its own
//! keys, store and clock.

use std::sync::Arc;

use crate::auth::ApiKeyHash;
use crate::clock::SharedClock;
use crate::ring::SharedRing;
use crate::store::GroupStore;
use crate::token::{KeyHandle, TokenPolicy};

/// Shared state of the HTTP service: its [`AppParts`] behind one `Arc`.
/// Reads go through `Deref`; changing a part (tests do, before serving)
/// goes through `DerefMut`, which copies the parts first if the state is
/// shared, so a state already serving is never changed under it.
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl From<AppParts> for AppState {
    fn from(parts: AppParts) -> Self {
        Self(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

impl std::ops::DerefMut for AppState {
    fn deref_mut(&mut self) -> &mut AppParts {
        Arc::make_mut(&mut self.0)
    }
}

/// What [`AppState`] holds.
#[derive(Clone)]
pub struct AppParts {
    /// Groups and API keys.
    pub store: Arc<dyn GroupStore>,
    /// Signing and verifying keys (replaced when the stored ring changes).
    pub keys: KeyHandle,
    /// The key ring in the store, which installs into `keys` (the admin
    /// key endpoints change it).
    pub ring: Arc<SharedRing>,
    /// Issuer, audience and lifetimes of tokens.
    pub tokens: Arc<TokenPolicy>,
    /// The time source.
    pub clock: SharedClock,
    /// SHA-256 of the operator's `TESSERA_API_KEY`, if set.
    pub operator_key: Option<ApiKeyHash>,
    /// Whether `/api/verify` also asks the store whether the token's group
    /// still exists unrevoked.
    pub verify_check_store: bool,
    /// Browser origins allowed on the CORS routes.
    pub cors: crate::api::CorsOrigins,
    /// The service's metrics.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Whether `GET /metrics` is served on the main address (not when
    /// `--metrics-listen` gives it its own).
    pub metrics_route: bool,
    /// Rate limits per admin key and per client address.
    pub limits: Arc<crate::api::RateLimits>,
    /// Tokens `/api/verify` verified lately (signature and claims only).
    pub verified: Arc<crate::token::VerifiedTokens>,
    /// Stored API keys admitted within the last second.
    pub admitted: Arc<crate::auth::AdmittedKeys>,
    /// The audit trail's settings and pending verification counts.
    pub audit: Arc<crate::audit::Audit>,
    /// Set when shutdown begins: `/readyz` answers `503` from then on.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("keys", &self.keys)
            .field("tokens", &self.tokens)
            .field("operator_key", &self.operator_key.is_some())
            .finish_non_exhaustive()
    }
}
