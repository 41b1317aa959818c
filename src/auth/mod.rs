//! Admin authentication: API keys that a SaaS backend presents to call
//! the admin endpoints (`/api/user`, ...).
//!
//! Keys are random secrets shown once; only their SHA-256 is kept
//! (in the store, or in memory for `TESSERA_API_KEY`). This module knows
//! nothing of HTTP; `api::auth` is the extractor that uses it.

mod admitted;
mod api_key;
mod secret;

pub use admitted::{ADMITTED_FOR_SECONDS, ADMITTED_KEYS, AdmittedKeys};
pub use api_key::{ApiKey, ApiKeyHash, ApiKeyName, ApiKeyRecord, ApiKeyScope};
pub use secret::Secret;
