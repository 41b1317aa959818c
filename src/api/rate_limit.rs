//! Rate limits (`governor`'s keyed GCRA limiters), so one noisy client
//! cannot starve the rest: per admin API key on the admin routes, per
//! client address on the routes renderers and browsers call
//! (`/api/verify`, `/api/sql/resolve`, the JWKS). A refused request gets
//! `429 rate_limited` with `Retry-After` and `RateLimit-Limit`,
//! `RateLimit-Remaining` and `RateLimit-Reset`.
//!
//! Limits hold per instance. Buckets of keys not seen recently are dropped
//! once many are held, so memory stays bounded.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use ipnet::IpNet;
use tessera_verify::ParseError;

use crate::error::{ApiError, ErrorCode, RateLimitInfo};
use crate::state::AppState;

/// Buckets held before idle ones are dropped.
const MAX_BUCKETS: usize = 100_000;

/// A rate: `N/s` or `N/m`, optionally with a burst (`100/s:200`; by
/// default twice the rate), or `0` for no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests allowed per `period`.
    pub count: NonZeroU32,
    /// The period.
    pub period: Duration,
    /// Requests allowed at once.
    pub burst: NonZeroU32,
}

impl Rate {
    /// Parses a rate; `Ok(None)` for `0`.
    pub fn parse(text: &str) -> Result<Option<Self>, ParseError> {
        let text = text.trim();
        if text == "0" {
            return Ok(None);
        }
        let refuse = || {
            ParseError::new(
                "rate",
                format!(
                    "{text:?} is not a rate: use N/s or N/m, optionally :BURST (100/s:200), or 0"
                ),
            )
        };
        let (rate, burst) = match text.split_once(':') {
            Some((rate, burst)) => (rate, Some(burst)),
            None => (text, None),
        };
        let (count, unit) = rate.split_once('/').ok_or_else(refuse)?;
        let count: u32 = count.trim().parse().map_err(|_| refuse())?;
        let count = NonZeroU32::new(count).ok_or_else(refuse)?;
        let period = match unit.trim() {
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            _ => return Err(refuse()),
        };
        let burst = match burst {
            Some(burst) => burst
                .trim()
                .parse::<u32>()
                .ok()
                .and_then(NonZeroU32::new)
                .ok_or_else(refuse)?,
            None => count.saturating_mul(NonZeroU32::MIN.saturating_add(1)),
        };
        Ok(Some(Self {
            count,
            period,
            burst,
        }))
    }
}

/// A `--rate-limit-*` setting: a rate, or `0` for none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSetting(pub Option<Rate>);

impl std::str::FromStr for RateSetting {
    type Err = ParseError;
    fn from_str(text: &str) -> Result<Self, ParseError> {
        Rate::parse(text).map(Self)
    }
}

/// A `--trusted-proxies` setting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl std::str::FromStr for TrustedProxies {
    type Err = ParseError;
    fn from_str(text: &str) -> Result<Self, ParseError> {
        parse_trusted_proxies(text).map(Self)
    }
}

/// One keyed limit.
pub struct Limit<K: std::hash::Hash + Eq + Clone> {
    rate: Rate,
    limiter: DefaultKeyedRateLimiter<K>,
}

impl<K: std::hash::Hash + Eq + Clone> Limit<K> {
    /// A limit at `rate`.
    pub fn new(rate: Rate) -> Self {
        let per_request = rate.period / rate.count.get();
        let quota = Quota::with_period(per_request)
            .unwrap_or_else(|| Quota::per_second(rate.count))
            .allow_burst(rate.burst);
        Self {
            rate,
            limiter: governor::RateLimiter::keyed(quota),
        }
    }

    /// Admits one request of `key`, or says when to come back.
    pub fn check(&self, key: &K) -> Result<(), ApiError> {
        if self.limiter.len() > MAX_BUCKETS {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::new(ErrorCode::RateLimited, "too many requests; slow down").with_rate_limit(
                RateLimitInfo {
                    limit: self.rate.burst.get(),
                    reset_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
                },
            )
        })
    }
}

/// The service's limits and whose `X-Forwarded-For` to believe.
#[derive(Default)]
pub struct RateLimits {
    /// Per admin API key on the admin routes.
    pub admin: Option<Limit<String>>,
    /// Per client address on the renderer and browser routes.
    pub client: Option<Limit<IpAddr>>,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpNet>,
}

impl RateLimits {
    /// Limits at these rates (`None`: no limit).
    pub fn new(admin: Option<Rate>, client: Option<Rate>, trusted_proxies: Vec<IpNet>) -> Self {
        Self {
            admin: admin.map(Limit::new),
            client: client.map(Limit::new),
            trusted_proxies,
        }
    }

    /// No limits at all.
    pub fn off() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The client's address: the peer, or, when the peer is a trusted
    /// proxy, the last address in `X-Forwarded-For` that is not one.
    pub fn client_address(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> IpAddr {
        let peer = peer.map_or(IpAddr::from([0, 0, 0, 0]), |peer| peer.ip());
        let trusted = |ip: &IpAddr| self.trusted_proxies.iter().any(|net| net.contains(ip));
        if !trusted(&peer) {
            return peer;
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|hop| hop.trim().parse().ok())
            .collect();
        forwarded
            .into_iter()
            .rev()
            .find(|hop| !trusted(hop))
            .unwrap_or(peer)
    }
}

/// Parses `--trusted-proxies`: CIDRs or addresses, comma-separated.
pub fn parse_trusted_proxies(text: &str) -> Result<Vec<IpNet>, ParseError> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<IpNet>()
                .or_else(|_| part.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    ParseError::new(
                        "trusted proxy",
                        format!("{part:?} is not an address or CIDR"),
                    )
                })
        })
        .collect()
}

/// The per-address limit, as a route layer.
pub async fn limit_clients(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(limit) = &state.limits.client {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0);
        let client = state.limits.client_address(peer, request.headers());
        if let Err(refused) = limit.check(&client) {
            return refused.into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        let rate = Rate::parse("100/s").unwrap().unwrap();
        assert_eq!((rate.count.get(), rate.burst.get()), (100, 200));
        let rate = Rate::parse("60/m:5").unwrap().unwrap();
        assert_eq!(
            (rate.count.get(), rate.period, rate.burst.get()),
            (60, Duration::from_secs(60), 5)
        );
        assert_eq!(Rate::parse("0"), Ok(None));
        for bad in ["", "100", "100/h", "x/s", "0/s", "10/s:0", "10/s:x", "-1/s"] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_client_is_the_last_untrusted_hop() {
        let limits = RateLimits::new(
            None,
            None,
            parse_trusted_proxies("10.0.0.0/8, ::1").unwrap(),
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "198.51.100.7, 203.0.113.9, 10.1.2.3".parse().unwrap(),
        );
        let proxy: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let outsider: SocketAddr = "192.0.2.1:5000".parse().unwrap();
        assert_eq!(
            limits.client_address(Some(proxy), &headers),
            "203.0.113.9".parse::<IpAddr>().unwrap(),
            "the proxy's own hop is skipped; the spoofable first entry is not believed"
        );
        assert_eq!(
            limits.client_address(Some(outsider), &headers),
            outsider.ip(),
            "only trusted peers"
        );
        assert!(parse_trusted_proxies("10.0.0.0/33").is_err());
    }
}
