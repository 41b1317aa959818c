//! Errors of the token module: key handling and token issuance/verification.

use std::path::PathBuf;

/// A problem with the signing keys on disk. Messages name files, never key
/// material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The manifest (`keyring.json`) is not valid.
    #[error("{path}: invalid key manifest: {reason}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A key file does not hold a usable key of its algorithm.
    #[error("key {kid}: {reason}")]
    Invalid {
        /// The key.
        kid: String,
        /// What is wrong.
        reason: String,
    },
    /// The random generator or key generation failed.
    #[error("key generation failed: {0}")]
    Generation(String),
}

/// Why a token could not be issued or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT of the expected shape.
    #[error("token is malformed: {0}")]
    Malformed(String),
    /// The `kid` names no key that may verify, or the header does not fit the key.
    #[error("token key is unknown: {0}")]
    UnknownKey(String),
    /// The signature does not match.
    #[error("token signature is invalid")]
    SignatureInvalid,
    /// `exp` has passed.
    #[error("token has expired")]
    Expired,
    /// `nbf` or `iat` lies in the future.
    #[error("token is not yet valid")]
    NotYetValid,
    /// A required claim is missing or wrong.
    #[error("token claims are invalid: {0}")]
    ClaimsInvalid(String),
    /// The group was deleted or revoked after the token was issued.
    #[error("token has been revoked")]
    Revoked,
    /// Signing failed (a bug or a broken key, never the client's fault).
    #[error("token signing failed: {0}")]
    Signing(String),
}
