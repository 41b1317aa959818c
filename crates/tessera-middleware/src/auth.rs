//! `RendererAuth`: the verifying engine behind the layer — keys, policy,
//! caches and the optional revocation check.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::{HeaderMap, header};
use tessera_verify::authorization::{self, Scheme};
use tessera_verify::clock::{SharedClock, SystemClock};
use tessera_verify::{Claims, Standing, TokenError, VerifyPolicy, verify};

use crate::cache::BoundedCache;
use crate::extractor::{UserGroup, VerifiedToken};
use crate::feed::{Feed, RevocationFeedConfig};
use crate::key_source::{KeySource, KeySourceError, Keys, Refresh};
use crate::layer::RendererAuthLayer;
use crate::rejection::Rejection;
use crate::revocation::RevocationSource;

/// How the middleware verifies.
pub struct RendererAuthConfig {
    /// Where the verifying keys come from.
    pub keys: KeySource,
    /// Issuer, audience, maximum lifetime and leeway.
    pub policy: VerifyPolicy,
    /// If set, tokens of deleted or revoked groups are refused.
    pub revocations: Option<Arc<dyn RevocationSource>>,
    /// How long a group's current generation is trusted without asking
    /// again: a revoked token passes for at most this long (5 s).
    pub revocation_cache_ttl: Duration,
    /// If set, the service's revocation feed is read in the background and
    /// revoked tokens are refused from memory (no store access needed).
    pub revocation_feed: Option<RevocationFeedConfig>,
    /// How many verified tokens to remember (0 disables the cache).
    pub token_cache_capacity: usize,
    /// How many bytes the verified tokens remembered may take in all
    /// (a token counts twice its length, for its decoded claims, plus 512).
    pub token_cache_bytes: u64,
    /// How a remote JWKS is refreshed.
    pub jwks_refresh: Refresh,
    /// The time source.
    pub clock: SharedClock,
    /// Called with the outcome of every verification (`valid` or the
    /// error code), e.g. to count them in metrics. Must not block.
    pub on_outcome: Option<OutcomeObserver>,
}

/// Receives the outcome of each verification: `valid` or the error code.
pub type OutcomeObserver = Arc<dyn Fn(&'static str) + Send + Sync>;

impl RendererAuthConfig {
    /// Defaults: no revocation check, a 5 s generation cache if one is
    /// added, 10 000 cached tokens in at most 32 MiB, a remote JWKS
    /// refreshed at its max-age (30 s to 1 h) and fetched for unknown
    /// `kid`s at most every 30 s, the system clock.
    pub fn new(keys: KeySource, policy: VerifyPolicy) -> Self {
        Self {
            keys,
            policy,
            revocations: None,
            revocation_cache_ttl: Duration::from_secs(5),
            revocation_feed: None,
            token_cache_capacity: 10_000,
            token_cache_bytes: 32 * 1024 * 1024,
            jwks_refresh: Refresh::default(),
            clock: Arc::new(SystemClock),
            on_outcome: None,
        }
    }
}

struct Inner {
    keys: Keys,
    policy: VerifyPolicy,
    revocations: Option<Arc<dyn RevocationSource>>,
    revocation_cache_ttl: i64,
    feed: Option<Arc<Feed>>,
    on_outcome: Option<OutcomeObserver>,
    clock: SharedClock,
    tokens: BoundedCache<String, Arc<VerifiedToken>>,
    /// What the revocation source said of each token, by `jti`.
    standings: BoundedCache<String, Standing>,
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
fn standing_weight(jti: &String, _: &Standing) -> u64 {
    (jti.len() as u64).saturating_add(64)
}

/// Verifies renderer requests; cheap to clone.
#[derive(Clone)]
pub struct RendererAuth {
    inner: Arc<Inner>,
}

impl RendererAuth {
    /// Loads the keys (a remote JWKS is fetched once now, then kept fresh
    /// in the background) and builds the engine.
    pub async fn new(config: RendererAuthConfig) -> Result<Self, KeySourceError> {
        let capacity = config.token_cache_capacity;
        let bytes = config.token_cache_bytes;
        let feed = match config.revocation_feed {
            Some(feed) => Some(Feed::start(feed, config.clock.clone()).await?),
            None => None,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                keys: Keys::load(config.keys, config.jwks_refresh).await?,
                policy: config.policy,
                revocations: config.revocations,
                revocation_cache_ttl: i64::try_from(config.revocation_cache_ttl.as_secs())
                    .unwrap_or(i64::MAX),
                feed,
                on_outcome: config.on_outcome,
                clock: config.clock,
                tokens: BoundedCache::new(capacity, bytes, token_weight),
                standings: BoundedCache::new(capacity, bytes, standing_weight),
                verifications: AtomicU64::new(0),
            }),
        })
    }

    /// How many tokens were verified afresh (not answered from the cache).
    pub fn verifications(&self) -> u64 {
        self.inner.verifications.load(Ordering::Relaxed)
    }

    /// How many times a remote JWKS was fetched.
    pub fn jwks_fetches(&self) -> u64 {
        self.inner.keys.fetches()
    }

    /// How many revocations from the feed are held in memory (0 without a
    /// feed); each is dropped once nothing it covers can still be valid.
    pub fn revocations_held(&self) -> usize {
        self.inner.feed.as_ref().map_or(0, |feed| feed.held())
    }

    /// The version of the keys in force (it moves only when they change).
    pub fn key_version(&self) -> u64 {
        self.inner.keys.now().version
    }

    /// Why the keys may be incomplete now (a remote JWKS that cannot be
    /// fetched), if they may.
    pub fn keys_unavailable(&self) -> Option<String> {
        self.inner.keys.unavailable()
    }

    /// The layer to add to a router.
    pub fn layer(&self) -> RendererAuthLayer {
        RendererAuthLayer::new(self.clone())
    }

    /// Verifies the bearer token of a request.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<UserGroup, Rejection> {
        let missing =
            || TokenError::Malformed("send Authorization: Bearer <user-group token>".into());
        let value = headers.get(header::AUTHORIZATION).ok_or_else(missing)?;
        match authorization::parse(value.as_bytes()) {
            Ok(credential) if credential.scheme == Scheme::Bearer => {
                self.verify(credential.value).await
            }
            _ => Err(TokenError::Malformed(
                "malformed Authorization header: use Bearer <token>".into(),
            )
            .into()),
        }
    }

    /// Verifies a token: from the cache when it was verified before under
    /// the same keys, then the revocation check if a source is configured.
    /// Never waits on the network, except a request whose token names an
    /// unknown `kid` when a refetch is due (see [`crate::KeySource`]).
    pub async fn verify(&self, token: &str) -> Result<UserGroup, Rejection> {
        let outcome = self.judge(token).await;
        if let Some(observe) = &self.inner.on_outcome {
            observe(outcome.as_ref().map_or_else(Rejection::code, |_| "valid"));
        }
        outcome
    }

    async fn judge(&self, token: &str) -> Result<UserGroup, Rejection> {
        let inner = &self.inner;
        let now = inner.clock.now();
        let keys = inner.keys.now();
        let cached = inner.tokens.get(token, now.timestamp(), keys.version);
        let verified = match cached {
            Some(verified) => verified,
            None => {
                inner.verifications.fetch_add(1, Ordering::Relaxed);
                let (claims, version) = match verify(&keys.set, &inner.policy, token, now) {
                    Err(TokenError::UnknownKey(_))
                        if inner.keys.refetch_for_unknown_kid().await =>
                    {
                        let keys = inner.keys.now();
                        (verify(&keys.set, &inner.policy, token, now)?, keys.version)
                    }
                    // The key may exist but the key set could not be fetched.
                    Err(TokenError::UnknownKey(_)) if let Some(why) = inner.keys.unavailable() => {
                        return Err(Rejection::KeysUnavailable(why));
                    }
                    other => (other?, keys.version),
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

    async fn check_revocation(&self, claims: &Claims, now: i64) -> Result<(), Rejection> {
        if let Some(feed) = &self.inner.feed {
            feed.check(claims)?;
        }
        let Some(source) = &self.inner.revocations else {
            return Ok(());
        };
        let standing = match self.inner.standings.get(claims.jti.as_str(), now, 0) {
            Some(standing) => standing,
            None => {
                let standing = source
                    .standing(claims)
                    .await
                    .map_err(|err| Rejection::RevocationUnavailable(err.0))?;
                let until = now.saturating_add(self.inner.revocation_cache_ttl);
                self.inner.standings.insert(
                    claims.jti.as_str().to_owned(),
                    standing,
                    until,
                    now,
                    0,
                );
                standing
            }
        };
        if standing.admits(claims) {
            Ok(())
        } else {
            Err(TokenError::Revoked.into())
        }
    }
}
