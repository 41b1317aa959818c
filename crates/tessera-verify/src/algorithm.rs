//! The signing algorithms a key may have.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The one algorithm of a signing key. A token's `alg` header must equal
/// its key's algorithm; nothing else is ever accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeyAlgorithm {
    /// Ed25519 signatures (the default).
    EdDSA,
    /// ECDSA over P-256 with SHA-256.
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys or larger.
    RS256,
    /// HMAC with SHA-256; the secret never leaves the keys directory, so
    /// only this service can verify such tokens.
    HS256,
}

impl KeyAlgorithm {
    /// Every supported algorithm.
    pub const ALL: [KeyAlgorithm; 4] = [Self::EdDSA, Self::ES256, Self::RS256, Self::HS256];

    /// The `alg` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EdDSA => "EdDSA",
            Self::ES256 => "ES256",
            Self::RS256 => "RS256",
            Self::HS256 => "HS256",
        }
    }

    /// The matching jsonwebtoken algorithm.
    pub fn jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Self::EdDSA => jsonwebtoken::Algorithm::EdDSA,
            Self::ES256 => jsonwebtoken::Algorithm::ES256,
            Self::RS256 => jsonwebtoken::Algorithm::RS256,
            Self::HS256 => jsonwebtoken::Algorithm::HS256,
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyAlgorithm {
    type Err = crate::ParseError;
    /// Exact, case-sensitive names, as in a JWT header.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.as_str() == s)
            .ok_or_else(|| {
                crate::ParseError::new(
                    "algorithm",
                    format!("unknown algorithm {s:?}: use EdDSA, ES256, RS256 or HS256"),
                )
            })
    }
}
