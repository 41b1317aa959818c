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
    cache: BoundedCache<TokenDigest, Entry>,
}

impl std::fmt::Debug for VerifiedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedTokens").finish_non_exhaustive()
    }
}

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
    pub fn get(&self, token: &str, now: i64, version: u64) -> Option<Arc<Claims>> {
        self.cache
            .get(&digest_of(token), now, version)
            .map(|(claims, _)| claims)
    }

    /// Remembers that `token` verified under `version` with `claims`.
    pub fn remember(&self, token: &str, claims: Arc<Claims>, now: i64, version: u64) {
        let until = claims.exp;
        self.cache
            .insert(digest_of(token), (claims, token.len()), until, now, version);
    }
}
