//! Tokens `/api/verify` (and SQL resolution) verified lately, so that a
//! dashboard checking one token again and again pays for its signature
//! once.
//!
//! Keyed by the SHA-256 of the whole token (an altered token, a rewritten
//! ES256 signature included, is another key and is verified afresh); an
//! entry serves only until the token's `exp` and only under the key set it
//! was verified with (any change of the ring empties it in effect). Only
//! what the signature and the claims decide is cached: the store check and
//! the origin check still run on every call. Bounded by entries and bytes
//! (`tessera_middleware::BoundedCache`, over `quick_cache`).

use std::sync::Arc;

use aws_lc_rs::digest;
use tessera_middleware::BoundedCache;

use super::Claims;

/// The default number of tokens remembered.
pub const DEFAULT_VERIFY_CACHE: usize = 10_000;
/// The bytes all entries may weigh together.
const CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// A token's key in the cache.
type TokenDigest = [u8; 32];

/// Verified claims with the length of their token (for the weight).
type Entry = (Arc<Claims>, usize);

fn weight(_: &TokenDigest, entry: &Entry) -> u64 {
    // The decoded claims take about the token's length again.
    (entry.1 as u64).saturating_mul(2).saturating_add(256)
}

/// The verified tokens.
pub struct VerifiedTokens {
    /// When it is off, no token is even hashed.
    cache: BoundedCache<TokenDigest, Entry>,
}

impl std::fmt::Debug for VerifiedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedTokens").finish_non_exhaustive()
    }
}

/// A token [`VerifiedTokens::get`] did not find: where
/// [`VerifiedTokens::remember`] puts it once it verifies (the token is
/// hashed once for both).
#[derive(Debug)]
pub struct Miss(Option<TokenDigest>);

fn digest_of(token: &str) -> TokenDigest {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
    out
}

impl VerifiedTokens {
    /// Remembers at most `entries` tokens (`0`: none).
    pub fn new(entries: usize) -> Self {
        Self {
            cache: BoundedCache::new(entries, CACHE_BYTES, weight),
        }
    }

    /// The claims of `token` if it verified under key set `version` and
    /// its `exp` is after `now` (seconds).
    pub fn get(&self, token: &str, now: i64, version: u64) -> Result<Arc<Claims>, Miss> {
        if self.cache.is_off() {
            return Err(Miss(None));
        }
        let digest = digest_of(token);
        self.cache
            .get(&digest, now, version)
            .map(|(claims, _)| claims)
            .ok_or(Miss(Some(digest)))
    }

    /// Remembers that the token of `miss` (`token_len` bytes long)
    /// verified under `version` with `claims`.
    pub fn remember(
        &self,
        miss: Miss,
        token_len: usize,
        claims: Arc<Claims>,
        now: i64,
        version: u64,
    ) {
        if let Miss(Some(digest)) = miss {
            let until = claims.exp;
            self.cache
                .insert(digest, (claims, token_len), until, now, version);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn claims(exp: i64) -> Arc<Claims> {
        Arc::new(
            serde_json::from_value(serde_json::json!({
                "iss": "https://tessera.example", "aud": "dashboards", "sub": "g",
                "iat": 0, "nbf": 0, "exp": exp, "jti": "0123456789abcdef",
                "team_id": 1, "name": "g", "mapping": {}, "properties": null, "gen": 1
            }))
            .unwrap(),
        )
    }

    #[test]
    fn a_remembered_token_is_found_until_its_exp_under_its_key_set_only() {
        let tokens = VerifiedTokens::new(10);
        let miss = tokens.get("a.b.c", 100, 7).unwrap_err();
        tokens.remember(miss, 5, claims(200), 100, 7);
        assert_eq!(tokens.get("a.b.c", 199, 7).unwrap().exp, 200);
        assert!(tokens.get("a.b.c", 200, 7).is_err(), "expired");
        assert!(tokens.get("a.b.c", 150, 8).is_err(), "another key set");
        assert!(tokens.get("a.b.d", 150, 7).is_err(), "another token");
    }

    #[test]
    fn with_the_cache_off_nothing_is_remembered() {
        let tokens = VerifiedTokens::new(0);
        let miss = tokens.get("a.b.c", 100, 7).unwrap_err();
        tokens.remember(miss, 5, claims(200), 100, 7);
        assert!(tokens.get("a.b.c", 150, 7).is_err());
    }
}
