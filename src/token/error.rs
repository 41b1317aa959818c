//! Errors of key handling (token errors are the verifier crate's).

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
