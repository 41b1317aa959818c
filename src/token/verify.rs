//! Token verification under the policy of DESIGN.md: the key is chosen by
//! `kid`, the algorithm comes from the key, and every required claim is
//! checked against the injected time.
//!
//! This is the one implementation the start-up self-test, the tests and
//! (later) the verify endpoint and middleware share.

use chrono::{DateTime, Utc};
use jsonwebtoken::Validation;

use super::{Claims, KeyRing, TokenError, TokenPolicy};

/// The largest token accepted, in bytes; larger input is refused before
/// any parsing or signature work.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

const REQUIRED_CLAIMS: [&str; 6] = ["exp", "iat", "nbf", "iss", "aud", "sub"];

/// Verifies `token` with the keys of `keys`, as of `now`.
pub fn verify(
    keys: &KeyRing,
    policy: &TokenPolicy,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Claims, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::Malformed(format!(
            "longer than {MAX_TOKEN_BYTES} bytes"
        )));
    }
    if token.split('.').count() != 3 {
        return Err(TokenError::Malformed("a JWT has three segments".into()));
    }
    let header = jsonwebtoken::decode_header(token)
        .map_err(|_| TokenError::Malformed("unreadable header".into()))?;
    let (info, material) = match header.kid.as_deref() {
        Some(kid) => keys.find(kid),
        None => None,
    }
    .ok_or_else(|| TokenError::UnknownKey("no key with this kid".into()))?;
    if header.alg != info.alg.jwt() {
        return Err(TokenError::UnknownKey(format!(
            "key {} only verifies {}",
            info.kid, info.alg
        )));
    }

    let mut validation = Validation::new(info.alg.jwt());
    validation.set_required_spec_claims(&REQUIRED_CLAIMS);
    validation.set_audience(&[policy.audience.as_str()]);
    validation.set_issuer(&[policy.issuer.as_str()]);
    // Time is judged below against the injected clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    let data = jsonwebtoken::decode::<Claims>(token, &material.decoding, &validation)
        .map_err(map_jwt_error)?;
    check_times(&data.claims, policy, now)?;
    Ok(data.claims)
}

fn check_times(
    claims: &Claims,
    policy: &TokenPolicy,
    now: DateTime<Utc>,
) -> Result<(), TokenError> {
    let now = now.timestamp();
    let leeway = i64::try_from(policy.leeway.as_secs()).unwrap_or(i64::MAX);
    let max_ttl = i64::try_from(policy.max_ttl.as_secs()).unwrap_or(i64::MAX);
    if claims.exp.saturating_add(leeway) <= now {
        return Err(TokenError::Expired);
    }
    if claims.nbf.saturating_sub(leeway) > now || claims.iat.saturating_sub(leeway) > now {
        return Err(TokenError::NotYetValid);
    }
    if claims.exp.saturating_sub(claims.iat) > max_ttl {
        return Err(TokenError::ClaimsInvalid(
            "lifetime exceeds the maximum".into(),
        ));
    }
    Ok(())
}

fn map_jwt_error(err: jsonwebtoken::errors::Error) -> TokenError {
    use jsonwebtoken::errors::ErrorKind;
    match err.kind() {
        ErrorKind::InvalidSignature => TokenError::SignatureInvalid,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidAudience => TokenError::ClaimsInvalid("wrong audience".into()),
        ErrorKind::InvalidIssuer => TokenError::ClaimsInvalid("wrong issuer".into()),
        ErrorKind::MissingRequiredClaim(claim) => {
            TokenError::ClaimsInvalid(format!("missing claim {claim}"))
        }
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            TokenError::UnknownKey("algorithm does not fit the key".into())
        }
        ErrorKind::Json(_) => TokenError::ClaimsInvalid("claims do not fit the schema".into()),
        _ => TokenError::Malformed("not a valid JWT".into()),
    }
}
