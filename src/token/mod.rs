//! User-group tokens: signing keys on disk, the claims, issuance, and the
//! verification used by the start-up self-test.
//!
//! Each key has exactly one algorithm; a token is signed by the active key
//! and carries its `kid`. The module knows nothing of HTTP or the store.

mod algorithm;
mod claims;
mod error;
mod issuer;
mod key_material;
mod keyring;
mod self_test;
mod verify;

pub use algorithm::KeyAlgorithm;
pub use claims::Claims;
pub use error::{KeyError, TokenError};
pub use issuer::{IssuedToken, TokenIssuer, TokenPolicy};
pub use key_material::KeyMaterial;
pub use keyring::{KeyInfo, KeyRing, Kid};
pub use self_test::self_test;
pub use verify::verify;
