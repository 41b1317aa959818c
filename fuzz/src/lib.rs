//! What the fuzz targets share: one key set (an HMAC key the targets can
//! sign with, and an Ed25519 public key), one policy and one clock.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeZone as _, Utc};
use jsonwebtoken::DecodingKey;
use tessera_verify::{KeyAlgorithm, KeySet, VerifyPolicy, VerifyingKey};

/// The HMAC secret of the `hs` key.
pub const SECRET: &[u8] = b"fuzz-secret-of-thirty-two-bytes!";
/// The issuer and audience the policy accepts.
pub const ISSUER: &str = "http://tessera.test";
pub const AUDIENCE: &str = "dashboards";

/// The fixed "now" of every verification.
pub fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000, 0)
        .single()
        .unwrap_or_default()
}

/// The policy: 24 h longest lifetime, 60 s leeway.
pub fn policy() -> VerifyPolicy {
    VerifyPolicy {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        max_ttl: Duration::from_secs(86_400),
        leeway: Duration::from_secs(60),
    }
}

/// `hs` (HS256, [`SECRET`]) and `ed` (EdDSA, the RFC 8037 example key).
pub fn keys() -> KeySet {
    let mut keys: Vec<VerifyingKey> = DecodingKey::from_secret(SECRET)
        .map(|decoding| VerifyingKey {
            kid: "hs".into(),
            alg: KeyAlgorithm::HS256,
            decoding,
            public_jwk: None,
        })
        .into_iter()
        .collect();
    let jwks = serde_json::json!({"keys": [{
        "kty": "OKP", "crv": "Ed25519", "kid": "ed", "alg": "EdDSA", "use": "sig",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    }]});
    if let Ok(set) = KeySet::from_jwks(&jwks) {
        keys.extend(set.find(Some("ed")).cloned());
    }
    KeySet::new(keys)
}

/// `header.payload.signature` with an HS256 signature under [`SECRET`].
pub fn sign_hs256(header: &[u8], payload: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, SECRET);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// Panics when verified claims break a rule the verifier promises: the
/// issuer, the audience, the time window and the longest lifetime.
pub fn check_accepted(claims: &tessera_verify::Claims) {
    let policy = policy();
    let now = now().timestamp();
    let leeway = i64::try_from(policy.leeway.as_secs()).unwrap_or(i64::MAX);
    let max_ttl = i64::try_from(policy.max_ttl.as_secs()).unwrap_or(i64::MAX);
    assert_eq!(claims.iss, policy.issuer, "accepted another issuer");
    assert!(
        claims.aud.contains(&policy.audience),
        "accepted another audience"
    );
    assert!(
        claims.exp.saturating_add(leeway) > now,
        "accepted an expired token"
    );
    assert!(
        claims.nbf.saturating_sub(leeway) <= now,
        "accepted a token before nbf"
    );
    assert!(
        claims.iat.saturating_sub(leeway) <= now,
        "accepted a token issued in the future"
    );
    assert!(
        claims.exp.saturating_sub(claims.iat) <= max_ttl,
        "accepted a lifetime over the maximum"
    );
}

#[cfg(test)]
mod tests {
    use super::{check_accepted, keys, now, policy, sign_hs256};

    /// The structured target reaches the claims checks: its seed verifies.
    #[test]
    fn the_structured_seed_is_accepted() {
        let seed = std::fs::read("corpus/token_structured/valid").unwrap_or_default();
        let split = seed.iter().position(|byte| *byte == 0xFF).unwrap_or(0);
        let token = sign_hs256(&seed[..split], &seed[split + 1..]);
        let claims = tessera_verify::verify(&keys(), &policy(), &token, now());
        assert!(claims.is_ok(), "{claims:?}");
        claims.iter().for_each(check_accepted);
        assert_eq!(keys().len(), 2, "both keys load");
    }
}
