//! User-group tokens: signing keys on disk, the claims, issuance, and the
//! one verification policy that the service, the middleware and the CLI
//! share.
//!
//! Each key has exactly one algorithm; a token is signed by the active key
//! and carries its `kid`. Only [`revocation`] knows about the store; the
//! rest knows nothing of HTTP or storage.

mod error;
mod issuer;
mod key_handle;
mod key_material;
mod keyring;
mod policy;
pub mod revocation;
mod sealing;
mod self_test;
mod stored_ring;
mod verified;

pub use error::KeyError;
pub use issuer::{IssuedToken, Session, TokenIssuer, TokenStamp};
pub use key_handle::{KeyHandle, NoKeys, VersionedKeys};
pub use key_material::KeyMaterial;
pub use keyring::{KeyInfo, KeyRing, KeyStatus, Kid};
pub use policy::TokenPolicy;
pub use sealing::{KEK_BYTES, Kek, SealError};
pub use self_test::self_test;
pub use stored_ring::{
    KeyState, MAX_LIVE_KEYS, MAX_RETIRED_KEPT, RingChangeError, RingDocument, RingError, SealedKey,
};
pub use tessera_verify::{
    Audience, Claims, GroupGeneration, JwksError, KeyAlgorithm, KeySet, MAX_TOKEN_BYTES, SessionId,
    SignedToken, TokenError, VerifyPolicy, VerifyingKey, verify, verify_signature,
    verify_with_grace,
};
pub use verified::{DEFAULT_VERIFY_CACHE, VerifiedTokens};
