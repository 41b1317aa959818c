//! `KeySet`: the keys a verifier may use, from the local keyring or from a
//! published JWKS, and the JWKS document itself.
//!
//! Every key has exactly one algorithm. A JWKS entry's algorithm comes from
//! its key type (`OKP`/`Ed25519` is EdDSA, `EC`/`P-256` is ES256, `RSA` is
//! RS256); an `alg` member, if present, must agree. Symmetric (`oct`) keys
//! are never taken from a JWKS.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use serde_json::{Map, Value, json};

use crate::{JwksError, KeyAlgorithm};

/// One verifying key.
#[derive(Clone)]
pub struct VerifyingKey {
    /// Key id.
    pub kid: String,
    /// Its one algorithm.
    pub alg: KeyAlgorithm,
    /// The public key (or HMAC secret) for jsonwebtoken.
    pub decoding: DecodingKey,
    /// Its public JWK members, if it has a public half.
    pub public_jwk: Option<Map<String, Value>>,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// The keys that may verify, by `kid`.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, VerifyingKey>,
}

impl KeySet {
    /// A set of the given keys (a later duplicate `kid` replaces an earlier).
    pub fn new(keys: impl IntoIterator<Item = VerifyingKey>) -> Self {
        Self {
            keys: keys.into_iter().map(|key| (key.kid.clone(), key)).collect(),
        }
    }

    /// The key named `kid`; without a `kid`, the only key if there is
    /// exactly one.
    pub fn find(&self, kid: Option<&str>) -> Option<&VerifyingKey> {
        match kid {
            Some(kid) => self.keys.get(kid),
            None if self.keys.len() == 1 => self.keys.values().next(),
            None => None,
        }
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The public JWKS document: every key with a public half, never
    /// private material, never HMAC secrets. Ordered by `kid`.
    pub fn jwks(&self) -> Value {
        let mut keys: Vec<_> = self
            .keys
            .values()
            .filter_map(|key| {
                let mut jwk = key.public_jwk.clone()?;
                jwk.insert("kid".into(), json!(key.kid));
                jwk.insert("alg".into(), json!(key.alg.as_str()));
                jwk.insert("use".into(), json!("sig"));
                Some(Value::Object(jwk))
            })
            .collect();
        keys.sort_by(|a, b| a["kid"].as_str().cmp(&b["kid"].as_str()));
        json!({ "keys": keys })
    }

    /// Reads a JWKS document. Entries of other key types or uses (for
    /// example encryption keys) are skipped; a malformed signing key is an
    /// error naming its `kid`.
    pub fn from_jwks(document: &Value) -> Result<Self, JwksError> {
        let entries = document
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                JwksError::Invalid("a JWKS is an object with a \"keys\" array".into())
            })?;
        let mut keys = Vec::new();
        for entry in entries {
            if let Some(key) = from_jwk(entry).map_err(JwksError::Invalid)? {
                keys.push(key);
            }
        }
        Ok(Self::new(keys))
    }

    /// Reads a JWKS document from its bytes, strictly (duplicate members
    /// and inexact numbers refused, as everywhere else).
    pub fn from_jwks_bytes(bytes: &[u8]) -> Result<Self, JwksError> {
        let document = crate::json_strict::from_slice(bytes)
            .map_err(|err| JwksError::Json(err.to_string()))?;
        Self::from_jwks(&document)
    }
}

fn from_jwk(entry: &Value) -> Result<Option<VerifyingKey>, String> {
    let text = |name: &str| entry.get(name).and_then(Value::as_str);
    if text("use").is_some_and(|usage| usage != "sig") {
        return Ok(None);
    }
    let alg = match (text("kty"), text("crv")) {
        (Some("OKP"), Some("Ed25519")) => KeyAlgorithm::EdDSA,
        (Some("EC"), Some("P-256")) => KeyAlgorithm::ES256,
        (Some("RSA"), _) => KeyAlgorithm::RS256,
        _ => return Ok(None),
    };
    let kid = text("kid").ok_or("every JWKS signing key needs a \"kid\"")?;
    if let Some(declared) = text("alg")
        && declared != alg.as_str()
    {
        return Err(format!(
            "JWK {kid}: alg {declared} does not fit its key type"
        ));
    }
    let member = |name: &str| -> Result<Vec<u8>, String> {
        let value = text(name).ok_or_else(|| format!("JWK {kid}: missing {name}"))?;
        URL_SAFE_NO_PAD
            .decode(value)
            .map_err(|_| format!("JWK {kid}: {name} is not base64url"))
    };
    let (decoding, public) = match alg {
        KeyAlgorithm::EdDSA => {
            let x = member("x")?;
            if x.len() != 32 {
                return Err(format!("JWK {kid}: an Ed25519 x has 32 bytes"));
            }
            (
                DecodingKey::from_ed_der(&x),
                json!({"kty": "OKP", "crv": "Ed25519", "x": text("x")}),
            )
        }
        KeyAlgorithm::ES256 => {
            let (x, y) = (member("x")?, member("y")?);
            if x.len() != 32 || y.len() != 32 {
                return Err(format!("JWK {kid}: P-256 x and y have 32 bytes each"));
            }
            let point = [&[0x04][..], &x, &y].concat();
            let jwk = json!({"kty": "EC", "crv": "P-256", "x": text("x"), "y": text("y")});
            (DecodingKey::from_ec_der(&point), jwk)
        }
        KeyAlgorithm::RS256 => {
            let (n, e) = (member("n")?, member("e")?);
            if n.len() < 256 {
                return Err(format!("JWK {kid}: RSA keys must have at least 2048 bits"));
            }
            let jwk = json!({"kty": "RSA", "n": text("n"), "e": text("e")});
            (DecodingKey::from_rsa_raw_components(&n, &e), jwk)
        }
        KeyAlgorithm::HS256 => return Ok(None),
    };
    Ok(Some(VerifyingKey {
        kid: kid.to_owned(),
        alg,
        decoding,
        public_jwk: public.as_object().cloned(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwks_entries_are_checked() {
        let x = URL_SAFE_NO_PAD.encode([1u8; 32]);
        let ok = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "a"}]});
        assert_eq!(KeySet::from_jwks(&ok).unwrap().len(), 1);
        let wrong_alg =
            json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "a", "alg": "HS256"}]});
        assert!(KeySet::from_jwks(&wrong_alg).is_err());
        let oct = json!({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]});
        assert!(
            KeySet::from_jwks(&oct).unwrap().is_empty(),
            "symmetric keys are skipped"
        );
        let encryption =
            json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "e", "use": "enc"}]});
        assert!(KeySet::from_jwks(&encryption).unwrap().is_empty());
        assert!(KeySet::from_jwks(&json!([1])).is_err());
        let no_kid = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x}]});
        assert!(KeySet::from_jwks(&no_kid).is_err());
    }

    #[test]
    fn kid_is_optional_only_with_exactly_one_key() {
        let key = |kid: &str| VerifyingKey {
            kid: kid.into(),
            alg: KeyAlgorithm::HS256,
            decoding: DecodingKey::from_secret(&[7u8; 32]).unwrap(),
            public_jwk: None,
        };
        let one = KeySet::new([key("a")]);
        assert!(one.find(None).is_some());
        let two = KeySet::new([key("a"), key("b")]);
        assert!(two.find(None).is_none());
        assert!(two.find(Some("b")).is_some());
        assert!(two.find(Some("../../dev/null")).is_none());
    }
}
