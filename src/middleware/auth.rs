//! `RendererAuth`: the verifying engine behind the layer — keys, policy,
//! caches and the optional revocation check.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::HeaderMap;

use super::cache::BoundedCache;
use super::extractor::{UserGroup, VerifiedToken};
use super::key_source::{KeySource, Keys};
use super::layer::RendererAuthLayer;
use crate::api::bearer_token;
use crate::clock::{SharedClock, SystemClock};
use crate::error::{ApiError, ErrorCode};
use crate::store::GroupStore;
use crate::token::revocation::{GroupGeneration, VerifyFailure, current_generation};
use crate::token::{Claims, TokenError, VerifyPolicy, verify};

/// How the middleware verifies.
pub struct RendererAuthConfig {
    /// Where the verifying keys come from.
    pub keys: KeySource,
    /// Issuer, audience, maximum lifetime and leeway.
    pub policy: VerifyPolicy,
    /// If set, tokens of deleted or revoked groups are refused.
    pub store: Option<Arc<dyn GroupStore>>,
    /// How long a group's current generation is trusted without asking the
    /// store again (how long a revocation may take to bite).
    pub store_cache_ttl: Duration,
    /// How many verified tokens to remember (0 disables the cache).
    pub token_cache_capacity: usize,
    /// How many bytes the verified tokens remembered may take in all
    /// (a token counts twice its length, for its decoded claims, plus 512).
    pub token_cache_bytes: u64,
    /// The least time between two fetches of a remote JWKS (an unknown
    /// `kid` triggers a fetch only when this much time has passed).
    pub jwks_refetch_interval: Duration,
    /// The time source.
    pub clock: SharedClock,
}

impl RendererAuthConfig {
    /// Defaults: no store check, a 5 s generation cache if one is added,
    /// 10 000 cached tokens in at most 32 MiB, a remote JWKS fetched at
    /// most every 30 s, the system clock.
    pub fn new(keys: KeySource, policy: VerifyPolicy) -> Self {
        Self {
            keys,
            policy,
            store: None,
            store_cache_ttl: Duration::from_secs(5),
            token_cache_capacity: 10_000,
            token_cache_bytes: 32 * 1024 * 1024,
            jwks_refetch_interval: super::key_source::MIN_REFETCH_INTERVAL,
            clock: Arc::new(SystemClock),
        }
    }
}

struct Inner {
    keys: Keys,
    policy: VerifyPolicy,
    store: Option<Arc<dyn GroupStore>>,
    store_cache_ttl: i64,
    clock: SharedClock,
    tokens: BoundedCache<String, Arc<VerifiedToken>>,
    generations: BoundedCache<String, Option<GroupGeneration>>,
    /// Tokens verified afresh (cache misses), for operators and tests.
    verifications: AtomicU64,
}

/// A cached verification: the token string and its decoded claims (about
/// its length again, counting the variables), plus the map overhead.
#[allow(clippy::ptr_arg)] // the cache's key type is `String`
fn token_weight(token: &String, _: &Arc<VerifiedToken>) -> u64 {
    (token.len() as u64).saturating_mul(2).saturating_add(512)
}

#[allow(clippy::ptr_arg)] // the cache's key type is `String`
fn generation_weight(id: &String, _: &Option<GroupGeneration>) -> u64 {
    (id.len() as u64).saturating_add(64)
}

/// Verifies renderer requests; cheap to clone.
#[derive(Clone)]
pub struct RendererAuth {
    inner: Arc<Inner>,
}

impl RendererAuth {
    /// Loads the keys and builds the engine.
    pub async fn new(config: RendererAuthConfig) -> Result<Self, String> {
        let capacity = config.token_cache_capacity;
        let bytes = config.token_cache_bytes;
        Ok(Self {
            inner: Arc::new(Inner {
                keys: Keys::load_with(config.keys, config.jwks_refetch_interval).await?,
                policy: config.policy,
                store: config.store,
                store_cache_ttl: i64::try_from(config.store_cache_ttl.as_secs())
                    .unwrap_or(i64::MAX),
                clock: config.clock,
                tokens: BoundedCache::new(capacity, bytes, token_weight),
                generations: BoundedCache::new(capacity, bytes, generation_weight),
                verifications: AtomicU64::new(0),
            }),
        })
    }

    /// How many tokens were verified afresh (not answered from the cache).
    pub fn verifications(&self) -> u64 {
        self.inner.verifications.load(Ordering::Relaxed)
    }

    /// The layer to add to a router.
    pub fn layer(&self) -> RendererAuthLayer {
        RendererAuthLayer::new(self.clone())
    }

    /// Verifies the bearer token of a request.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<UserGroup, ApiError> {
        let token = bearer_token(headers)?.ok_or_else(|| {
            ApiError::new(
                ErrorCode::TokenMalformed,
                "send Authorization: Bearer <user-group token>",
            )
        })?;
        Ok(self.verify(&token).await?)
    }

    /// Verifies a token: from the cache when it was verified before under
    /// the same keys, then the revocation check if a store is configured.
    pub async fn verify(&self, token: &str) -> Result<UserGroup, VerifyFailure> {
        let inner = &self.inner;
        let now = inner.clock.now();
        let (keys, version) = inner.keys.now().await;
        let cached = inner.tokens.get(token, now.timestamp(), version);
        let verified = match cached {
            Some(verified) => verified,
            None => {
                inner.verifications.fetch_add(1, Ordering::Relaxed);
                let claims = match verify(keys.set(), &inner.policy, token, now) {
                    Err(TokenError::UnknownKey(_))
                        if inner.keys.refetch_for_unknown_kid().await =>
                    {
                        let (keys, _) = inner.keys.now().await;
                        verify(keys.set(), &inner.policy, token, now)?
                    }
                    // The key may exist but the key set could not be fetched.
                    Err(TokenError::UnknownKey(_)) if let Some(why) = inner.keys.unavailable() => {
                        return Err(VerifyFailure::KeysUnavailable(why));
                    }
                    other => other?,
                };
                let verified = Arc::new(VerifiedToken {
                    variables: claims.variables(),
                    claims,
                });
                let exp = verified.claims.exp;
                inner.tokens.insert(
                    token.to_owned(),
                    verified.clone(),
                    exp,
                    now.timestamp(),
                    version,
                );
                verified
            }
        };
        self.check_revocation(&verified.claims, now.timestamp())
            .await?;
        Ok(UserGroup(verified))
    }

    async fn check_revocation(&self, claims: &Claims, now: i64) -> Result<(), VerifyFailure> {
        let Some(store) = &self.inner.store else {
            return Ok(());
        };
        let generation = match self.inner.generations.get(claims.sub.as_str(), now, 0) {
            Some(generation) => generation,
            None => {
                let generation = current_generation(store.as_ref(), claims).await?;
                let until = now.saturating_add(self.inner.store_cache_ttl);
                self.inner.generations.insert(
                    claims.sub.as_str().to_owned(),
                    generation,
                    until,
                    now,
                    0,
                );
                generation
            }
        };
        match generation {
            Some(current) if current.admits(claims) => Ok(()),
            _ => Err(TokenError::Revoked.into()),
        }
    }
}
