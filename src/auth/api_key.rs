//! API keys: generation, hashing and the stored record.

use aws_lc_rs::digest::{SHA256, digest};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Secret;
use tessera_verify::ParseError;

/// The prefix of keys that Tessera generates, so that a leaked key is easy
/// to recognise in a scanner or a log.
pub const API_KEY_PREFIX: &str = "tsk_";

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A clear-text API key, as presented by a client or shown once at creation.
#[derive(Debug, Clone)]
pub struct ApiKey(Secret);

impl ApiKey {
    /// Wraps a key presented by a client or an operator.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Secret::new(value))
    }

    /// A fresh key: `tsk_` followed by 32 random bytes in base62 (43 chars).
    pub fn generate() -> Result<Self, aws_lc_rs::error::Unspecified> {
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes)?;
        Ok(Self::new(format!("{API_KEY_PREFIX}{}", base62(&bytes))))
    }

    /// The hash under which the key is stored and looked up.
    pub fn hash(&self) -> ApiKeyHash {
        ApiKeyHash::of(self.0.expose())
    }

    /// The clear text; only for showing a new key once.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

/// Encodes bytes as a big base62 number (fixed length for a fixed input size).
fn base62(bytes: &[u8]) -> String {
    // Repeated division of the big-endian number by 62.
    let mut digits = bytes.to_vec();
    let len = (bytes.len() as f64 * 8.0 / 62f64.log2()).ceil() as usize;
    let mut out = Vec::with_capacity(len);
    for _ in 0..len {
        let mut remainder = 0u32;
        for digit in digits.iter_mut() {
            let acc = (remainder << 8) | u32::from(*digit);
            *digit = (acc / 62) as u8;
            remainder = acc % 62;
        }
        out.push(BASE62[remainder as usize]);
    }
    out.reverse();
    out.into_iter().map(char::from).collect()
}

/// The SHA-256 of an API key, hex-encoded: what the store keeps.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ApiKeyHash(String);

impl ApiKeyHash {
    /// Hashes clear text.
    pub fn of(clear: &str) -> Self {
        let sum = digest(&SHA256, clear.as_bytes());
        Self(hex::encode(sum.as_ref()))
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The operator's label for a key: 1..=64 of `[A-Za-z0-9_.-]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct ApiKeyName(String);

tessera_verify::validated_string!(ApiKeyName, ParseError);

impl ApiKeyName {
    /// Validates a name.
    pub fn parse(value: impl Into<String>) -> Result<Self, ParseError> {
        let value = value.into();
        let ok = (1..=64).contains(&value.len())
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if ok {
            Ok(Self(value))
        } else {
            Err(ParseError::new(
                "API key name",
                format!("API key name {value:?} must be 1 to 64 characters of A-Z a-z 0-9 _ . -"),
            ))
        }
    }
}

/// What a key may do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyScope {
    /// Everything: get-user, revoke, delete, keys, listing, the feed.
    #[default]
    Admin,
    /// Only reading the revocation feed (for renderers).
    Renderer,
}

impl ApiKeyScope {
    /// The scope as the CLI shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Renderer => "renderer",
        }
    }
}

impl std::str::FromStr for ApiKeyScope {
    type Err = ParseError;
    fn from_str(text: &str) -> Result<Self, ParseError> {
        match text {
            "admin" => Ok(Self::Admin),
            "renderer" => Ok(Self::Renderer),
            other => Err(ParseError::new(
                "API key scope",
                format!("unknown scope {other:?} (admin or renderer)"),
            )),
        }
    }
}

/// A stored API key: its name, hash, scope and creation time; never the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    /// The operator's label.
    pub name: ApiKeyName,
    /// SHA-256 of the key.
    pub hash: ApiKeyHash,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// What it may do (keys stored before scopes existed are admin keys).
    #[serde(default)]
    pub scope: ApiKeyScope,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let a = ApiKey::generate().unwrap();
        let b = ApiKey::generate().unwrap();
        assert!(a.expose().starts_with("tsk_"));
        assert_eq!(a.expose().len(), 4 + 43);
        assert!(a.expose()[4..].bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a.expose(), b.expose());
    }

    #[test]
    fn base62_is_a_number_encoding() {
        assert_eq!(base62(&[0, 0]), "000");
        assert_eq!(base62(&[0, 61]), "00z");
        assert_eq!(base62(&[0, 62]), "010");
        assert_eq!(base62(&[255, 255]), "H31");
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            ApiKeyHash::of("abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn names() {
        assert!(ApiKeyName::parse("backend-prod.1").is_ok());
        assert!(ApiKeyName::parse("").is_err());
        assert!(ApiKeyName::parse("a b").is_err());
        assert!(ApiKeyName::parse("x".repeat(65)).is_err());
    }
}
