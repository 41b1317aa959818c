//! Verification of Tessera user-group tokens, for anything that checks
//! them: the Tessera service itself, the renderer middleware
//! (`tessera-middleware`) and renderers that verify on their own.
//!
//! - [`domain`]: the validated types a token carries (`GroupId`,
//!   `Mapping`, `Properties`, ...).
//! - [`Claims`] and [`verify`]: the one verification policy (shape, key,
//!   algorithm pinned per key, signature, claims) and its typed
//!   [`TokenError`]s, each with a stable [`TokenError::code`].
//! - [`KeySet`]: verifying keys, from a JWKS or built by the issuer.
//! - [`authorization`]: the one parser of `Authorization` headers.
//!
//! It depends on no async runtime, HTTP stack, store or command line.
//!
//! ```
//! use tessera_verify::{KeySet, VerifyPolicy, verify};
//!
//! let jwks = serde_json::json!({"keys": []});
//! let keys = KeySet::from_jwks(&jwks).expect("a JWKS");
//! let policy = VerifyPolicy {
//!     issuer: "https://tessera.example.com".into(),
//!     audience: "dashboards".into(),
//!     max_ttl: std::time::Duration::from_secs(30 * 86_400),
//!     leeway: std::time::Duration::from_secs(60),
//! };
//! let refused = verify(&keys, &policy, "not.a.token", chrono::Utc::now());
//! assert_eq!(refused.unwrap_err().code(), "token_malformed");
//! ```

mod algorithm;
pub mod authorization;
mod claims;
mod claims_view;
pub mod clock;
pub mod domain;
mod error;
pub mod feed;
mod generation;
pub mod json_strict;
mod keyset;
#[doc(hidden)]
pub mod newtype;
mod policy;
pub mod stored;
mod verifier;

pub use algorithm::KeyAlgorithm;
pub use claims::{Audience, Claims, SessionId, TokenId, VariablesView, is_id_text};
pub use claims_view::{AudienceView, ClaimsView};
pub use error::{JwksError, ParseError, TokenError};
pub use generation::{GroupGeneration, Standing};
pub use keyset::{KeySet, VerifyingKey};
pub use policy::VerifyPolicy;
pub use verifier::{
    MAX_TOKEN_BYTES, SignedToken, signed_claims, verify, verify_signature, verify_with_grace,
};
