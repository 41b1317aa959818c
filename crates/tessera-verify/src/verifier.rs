//! The one verification policy (see docs/architecture.md and
//! docs/verification.md), shared by `/api/verify`, the renderer middleware
//! and `tessera token verify`.
//!
//! Checks run in this order and stop at the first failure:
//! 1. size and shape (`token_malformed`): at most 16 KiB, three segments of
//!    canonical unpadded base64url, a non-empty signature, a header that is
//!    a JSON object without duplicate members, without `crit`, and without
//!    `jku`, `jwk`, `x5u`, `x5c` or `x5t` (never used, so never accepted);
//! 2. header and key (`token_unknown_key`): the `kid` names a key of the set
//!    (a token without `kid` is tried only when the set has exactly one
//!    key) and the header's `alg` is exactly that key's algorithm;
//! 3. the signature (`token_signature_invalid`), checked by jsonwebtoken;
//! 4. the claims: a JSON object without duplicate members
//!    (`token_malformed` otherwise); `exp`, `iat`, `nbf`, `iss`, `aud`,
//!    `sub` present, and `exp`, `iat`, `nbf` integers
//!    (`token_claims_invalid`); then `exp` (`token_expired`), then `nbf`
//!    and `iat` (`token_not_yet_valid`), then issuer, audience, `sub` a
//!    string, lifetime and Tessera's own claims (`token_claims_invalid`).
//!
//! The store check (`token_revoked`) comes last and lives in
//! [`super::revocation`]. Nothing here reads a file or opens a connection.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::json_strict;
use crate::keyset::{KeySet, VerifyingKey};
use crate::{Claims, TokenError, VerifyPolicy};

/// The largest token accepted, in bytes; larger input is refused before
/// any parsing or signature work.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Header members that point at keys elsewhere: never followed, so refused.
const FOREIGN_KEY_MEMBERS: [&str; 5] = ["jku", "jwk", "x5u", "x5c", "x5t"];

/// The claims every token must have.
const REQUIRED_CLAIMS: [&str; 6] = ["exp", "iat", "nbf", "iss", "aud", "sub"];

/// A token whose signature verified, its claims not yet judged.
#[derive(Debug, Clone)]
pub struct SignedToken<'k> {
    /// The key that verified it.
    pub key: &'k VerifyingKey,
    /// The decoded header.
    pub header: Map<String, Value>,
    /// The decoded payload bytes.
    pub payload: Vec<u8>,
}

/// Steps 1 to 3: shape, key and signature.
pub fn verify_signature<'k>(keys: &'k KeySet, token: &str) -> Result<SignedToken<'k>, TokenError> {
    let malformed = |why: &str| TokenError::Malformed(why.to_owned());
    if token.len() > MAX_TOKEN_BYTES {
        return Err(malformed("longer than 16 KiB"));
    }
    let segments: Vec<&str> = token.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = segments[..] else {
        return Err(malformed("a JWT has exactly three segments"));
    };
    let decode = |segment: &str, what: &str| {
        URL_SAFE_NO_PAD.decode(segment).map_err(|_| {
            TokenError::Malformed(format!("{what} is not canonical unpadded base64url"))
        })
    };
    let header_bytes = decode(header_b64, "header")?;
    let payload = decode(payload_b64, "payload")?;
    let signature = decode(signature_b64, "signature")?;
    if signature.is_empty() {
        return Err(malformed("the signature is empty"));
    }
    let header = match json_strict::from_slice(&header_bytes) {
        Ok(Value::Object(header)) => header,
        _ => return Err(malformed("the header is not a JSON object")),
    };
    if header.contains_key("crit") {
        return Err(malformed("a crit header is not accepted"));
    }
    if let Some(name) = FOREIGN_KEY_MEMBERS
        .iter()
        .find(|name| header.contains_key(**name))
    {
        return Err(TokenError::Malformed(format!(
            "the {name} header is not accepted"
        )));
    }
    if let Some(typ) = header.get("typ")
        && !typ
            .as_str()
            .is_some_and(|typ| typ.eq_ignore_ascii_case("JWT"))
    {
        return Err(malformed("typ must be JWT"));
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("the header has no alg"))?;
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.as_str()),
        Some(_) => return Err(malformed("kid must be a string")),
    };

    let key = keys
        .find(kid)
        .ok_or_else(|| TokenError::UnknownKey("no key with this kid".into()))?;
    if alg != key.alg.as_str() {
        return Err(TokenError::UnknownKey(format!(
            "key {} verifies {} only",
            key.kid, key.alg
        )));
    }

    let message = &token[..header_b64.len() + 1 + payload_b64.len()];
    let valid = jsonwebtoken::crypto::verify(
        signature_b64,
        message.as_bytes(),
        &key.decoding,
        key.alg.jwt(),
    )
    .unwrap_or(false);
    if !valid {
        return Err(TokenError::SignatureInvalid);
    }
    Ok(SignedToken {
        key,
        header,
        payload,
    })
}

/// Verifies `token` with `keys` under `policy` as of `now`: steps 1 to 4.
pub fn verify(
    keys: &KeySet,
    policy: &VerifyPolicy,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Claims, TokenError> {
    verify_with_grace(keys, policy, token, now, std::time::Duration::ZERO)
}

/// [`verify`], but a token expired by at most `grace` (beyond the leeway)
/// still passes: for refreshing a session whose last token just expired.
pub fn verify_with_grace(
    keys: &KeySet,
    policy: &VerifyPolicy,
    token: &str,
    now: DateTime<Utc>,
    grace: std::time::Duration,
) -> Result<Claims, TokenError> {
    let signed = verify_signature(keys, token)?;
    let claims = payload_object(&signed)?;
    check_registered_claims(&claims, policy, now, grace)?;
    fit_claims(claims)
}

/// The claims of a token whose signature is one of `keys`', whatever its
/// times, issuer and audience: for acting on a token known to be ours
/// after it stopped being valid (revoking it, auditing a refusal). Never a
/// substitute for [`verify`].
pub fn signed_claims(keys: &KeySet, token: &str) -> Result<Claims, TokenError> {
    let signed = verify_signature(keys, token)?;
    fit_claims(payload_object(&signed)?)
}

fn payload_object(signed: &SignedToken<'_>) -> Result<Map<String, Value>, TokenError> {
    match json_strict::from_slice(&signed.payload) {
        Ok(Value::Object(claims)) => Ok(claims),
        _ => Err(TokenError::Malformed(
            "the payload is not a JSON object with unique members".into(),
        )),
    }
}

fn fit_claims(claims: Map<String, Value>) -> Result<Claims, TokenError> {
    serde_json::from_value(Value::Object(claims))
        .map_err(|err| TokenError::ClaimsInvalid(format!("claims do not fit: {err}")))
}

fn check_registered_claims(
    claims: &Map<String, Value>,
    policy: &VerifyPolicy,
    now: DateTime<Utc>,
    grace: std::time::Duration,
) -> Result<(), TokenError> {
    let invalid = |why: String| TokenError::ClaimsInvalid(why);
    if let Some(missing) = REQUIRED_CLAIMS
        .iter()
        .find(|name| !claims.contains_key(**name))
    {
        return Err(invalid(format!("missing claim {missing}")));
    }
    let time = |name: &str| {
        claims[name]
            .as_i64()
            .ok_or_else(|| invalid(format!("{name} must be an integer NumericDate")))
    };
    let (exp, iat, nbf) = (time("exp")?, time("iat")?, time("nbf")?);
    let now = now.timestamp();
    let leeway = i64::try_from(policy.leeway.as_secs()).unwrap_or(i64::MAX);
    let grace = i64::try_from(grace.as_secs()).unwrap_or(i64::MAX);
    if exp.saturating_add(leeway).saturating_add(grace) <= now {
        return Err(TokenError::Expired);
    }
    if nbf.saturating_sub(leeway) > now || iat.saturating_sub(leeway) > now {
        return Err(TokenError::NotYetValid);
    }
    if claims["iss"].as_str() != Some(policy.issuer.as_str()) {
        return Err(invalid("wrong issuer".into()));
    }
    let audience_ok = match &claims["aud"] {
        Value::String(aud) => *aud == policy.audience,
        Value::Array(auds) => auds
            .iter()
            .any(|aud| aud.as_str() == Some(&policy.audience)),
        _ => false,
    };
    if !audience_ok {
        return Err(invalid("wrong audience".into()));
    }
    if !claims["sub"].is_string() {
        return Err(invalid("sub must be a string".into()));
    }
    let max_ttl = i64::try_from(policy.max_ttl.as_secs()).unwrap_or(i64::MAX);
    if exp.saturating_sub(iat) > max_ttl {
        return Err(invalid("the lifetime exceeds the maximum".into()));
    }
    Ok(())
}
