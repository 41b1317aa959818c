//! How records are stored: JSON, the same for every backend, so that
//! export files and stored values read alike. Reading re-validates every
//! domain type.

use super::StoreError;

/// A value as stored.
pub fn encode<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|err| StoreError::Corrupt(err.to_string()))
}

/// A stored value read back.
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|err| StoreError::Corrupt(err.to_string()))
}
