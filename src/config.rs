//! Command-line and environment configuration shared by the subcommands:
//! value parsers and the argument groups (`StoreArgs`, `ServeArgs`).
//! Flag and variable names are part of the public interface.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use std::sync::Arc;

use crate::api::CorsOrigins;
use crate::auth::Secret;
use crate::ring::Bootstrap;
use crate::store::{EmbeddedStore, GroupStore, RedisConfig, RedisStore, RedisTarget, StoreError};
use crate::token::{Kek, KeyAlgorithm, SealError};
use tessera_verify::ParseError;

fn parse_cors_origins(text: &str) -> Result<CorsOrigins, String> {
    CorsOrigins::parse(text).map_err(|err| err.to_string())
}

/// A duration as an operator writes it: in the largest unit that divides
/// it (`31d`, `90m`, `45s`), not `1month 13h 26m 24s`.
pub fn show_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    if duration.subsec_nanos() != 0 {
        return format!("{}ms", duration.as_millis());
    }
    match secs {
        0 => "0s".to_owned(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// A count from 0 (off) to 1 000 000.
fn parse_count(text: &str, what: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n <= 1_000_000 => Ok(n),
        _ => Err(format!("{what} is a number from 0 (off) to 1000000")),
    }
}

/// `--audit-retention`: 0 (off) to 1 000 000 events per group.
fn parse_audit_retention(text: &str) -> Result<usize, String> {
    parse_count(text, "an audit retention (events per group)")
}

/// `--verify-cache`: 0 (off) to 1 000 000 tokens.
fn parse_verify_cache(text: &str) -> Result<usize, String> {
    parse_count(text, "a verify cache size (tokens)")
}

/// A key prefix without braces: Tessera wraps a group's record key in a
/// hash tag to keep the group's other keys in its Cluster slot, which a
/// brace in the prefix would break.
fn parse_redis_prefix(text: &str) -> Result<String, String> {
    if text.contains(['{', '}']) {
        Err("a Redis key prefix may not contain { or }".into())
    } else {
        Ok(text.to_owned())
    }
}

/// Parses a human duration (`90s`, `15m`, `24h`, `7d`); zero is refused.
pub fn parse_duration(text: &str) -> Result<Duration, ParseError> {
    let duration = humantime::parse_duration(text.trim()).map_err(|err| {
        ParseError::new("duration", format!("{err} (use e.g. 90s, 15m, 24h, 7d)"))
    })?;
    if duration.is_zero() {
        return Err(ParseError::new("duration", "must be longer than zero"));
    }
    Ok(duration)
}

/// Where groups and API keys are stored: Redis when a URL or cluster is
/// given, otherwise the embedded store in the data directory.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Standalone Redis URL, e.g. redis://127.0.0.1:6379/0.
    #[arg(
        long,
        env = "TESSERA_REDIS_URL",
        hide_env_values = true,
        conflicts_with = "redis_cluster"
    )]
    pub redis_url: Option<String>,

    /// Redis Cluster seed nodes: host:port,host:port,...
    #[arg(long, env = "TESSERA_REDIS_CLUSTER")]
    pub redis_cluster: Option<String>,

    /// Prefix of every Redis key Tessera writes (no `{` or `}`: Tessera
    /// places its own Cluster hash tags).
    #[arg(long, env = "TESSERA_REDIS_PREFIX", default_value = "tessera:", value_parser = parse_redis_prefix)]
    pub redis_prefix: String,

    /// Deadline of every Redis call, connecting included.
    #[arg(long, env = "TESSERA_REDIS_TIMEOUT", default_value = "1s", value_parser = parse_duration)]
    pub redis_timeout: Duration,

    /// Directory of the embedded store (used when no Redis is configured).
    #[arg(long, env = "TESSERA_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
}

/// The embedded store's page cache for batch commands.
const BATCH_CACHE_BYTES: usize = 32 << 20;

impl StoreArgs {
    /// Opens the configured store without waiting for Redis to answer.
    pub fn open(&self) -> Result<Arc<dyn GroupStore>, StoreError> {
        self.open_with_cache(None)
    }

    /// Opens the store for a batch command (export, import): the embedded
    /// store with a small page cache, so the command's memory stays flat
    /// whatever the number of groups.
    pub fn open_for_batch(&self) -> Result<Arc<dyn GroupStore>, StoreError> {
        self.open_with_cache(Some(BATCH_CACHE_BYTES))
    }

    fn open_with_cache(&self, cache: Option<usize>) -> Result<Arc<dyn GroupStore>, StoreError> {
        let redis = self
            .redis()
            .map_err(|err| StoreError::Open(err.to_string()))?;
        let Some(config) = redis else {
            let opened = match cache {
                None => EmbeddedStore::open(&self.data_dir),
                Some(bytes) => EmbeddedStore::open_with_cache(&self.data_dir, bytes),
            };
            return match opened {
                Ok(store) => Ok(Arc::new(store)),
                Err(StoreError::Open(why)) => Err(StoreError::Open(format!(
                    "{why} (the data directory is set by --data-dir or TESSERA_DATA_DIR)"
                ))),
                Err(err) => Err(err),
            };
        };
        Ok(Arc::new(RedisStore::new(&config)?))
    }

    /// The store in use, for logs: the embedded store's directory, or the
    /// Redis address without its password.
    pub fn describe(&self) -> String {
        match self.redis() {
            Ok(Some(config)) => format!("Redis {}", config.address()),
            Ok(None) => format!("embedded store in {}", self.data_dir.display()),
            Err(err) => err.to_string(),
        }
    }

    /// The Redis configuration, if Redis is configured; an error names a
    /// bad cluster node.
    pub fn redis(&self) -> Result<Option<RedisConfig>, ParseError> {
        let target = match (&self.redis_url, &self.redis_cluster) {
            (Some(url), _) if !url.trim().is_empty() => RedisTarget::Url(Secret::new(url.trim())),
            (_, Some(nodes)) if !nodes.trim().is_empty() => {
                RedisTarget::Cluster(parse_cluster_nodes(nodes)?)
            }
            _ => return Ok(None),
        };
        Ok(Some(RedisConfig {
            target,
            prefix: self.redis_prefix.clone(),
            timeout: self.redis_timeout,
        }))
    }
}

/// Parses `host:port,host:port,...`; the error names the bad entry.
pub fn parse_cluster_nodes(list: &str) -> Result<Vec<String>, ParseError> {
    list.split(',')
        .map(str::trim)
        .map(|node| {
            let valid = node
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
            if valid {
                Ok(node.to_owned())
            } else {
                Err(ParseError::new(
                    "cluster node",
                    format!(
                        "TESSERA_REDIS_CLUSTER: {node:?} is not host:port (expected host:port,host:port,...)"
                    ),
                ))
            }
        })
        .collect()
}

/// Where the key-encryption key (KEK) is, and the keys directory of
/// earlier versions (imported into the store's key ring at first start).
/// `TESSERA_KEK` (environment only: base64url of 32 bytes) wins over the
/// file.
#[derive(Debug, Clone, Args)]
pub struct KeyRingArgs {
    /// Directory of the KEK file (by default) and of signing keys kept by
    /// earlier versions, imported into the store once.
    #[arg(long, env = "TESSERA_KEYS_DIR", default_value = "keys")]
    pub keys_dir: PathBuf,

    /// The key-encryption key file: 32 bytes, created (mode 0600) by
    /// `serve` when absent. Every instance of one store needs the same
    /// KEK [default: <keys-dir>/kek].
    #[arg(long, env = "TESSERA_KEK_FILE")]
    pub kek_file: Option<PathBuf>,
}

/// The environment variable holding the KEK itself.
pub const KEK_ENV: &str = "TESSERA_KEK";

impl KeyRingArgs {
    /// The KEK file in use.
    pub fn kek_path(&self) -> PathBuf {
        self.kek_file
            .clone()
            .unwrap_or_else(|| self.keys_dir.join("kek"))
    }

    /// Whether a KEK is given: `TESSERA_KEK` is set or the file exists.
    pub fn kek_given(&self) -> bool {
        std::env::var(KEK_ENV).is_ok_and(|kek| !kek.is_empty()) || self.kek_path().exists()
    }

    /// The KEK (`TESSERA_KEK`, or the file, created when absent if
    /// `create`).
    pub fn kek(&self, create: bool) -> Result<Kek, SealError> {
        let env = std::env::var(KEK_ENV).ok();
        let path = self.kek_path();
        let loaded = if create {
            Kek::load(env.as_deref(), &path)
        } else {
            Kek::load_existing(env.as_deref(), &path)
        };
        loaded.map_err(|err| {
            SealError::Kek(format!(
                "the key-encryption key (TESSERA_KEK, or --kek-file / TESSERA_KEK_FILE): {err}"
            ))
        })
    }

    /// How to create the ring in an empty store: import the keys
    /// directory if it holds keys, otherwise one new key of `first_alg`.
    pub fn bootstrap(&self, first_alg: KeyAlgorithm) -> Bootstrap {
        Bootstrap {
            legacy_dir: Some(self.keys_dir.clone()),
            first_alg,
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Options of `tessera serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TESSERA_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Where groups and API keys are stored.
    #[command(flatten)]
    pub store: StoreArgs,

    /// The key-encryption key and the keys directory.
    #[command(flatten)]
    pub ring: KeyRingArgs,

    /// Scheduled key rotation: publish a new key when the active one is
    /// this old (off when not given), e.g. 30d.
    #[arg(long, env = "TESSERA_ROTATE_EVERY", value_parser = parse_duration)]
    pub rotate_every: Option<Duration>,

    /// How long a scheduled new key is published before it signs
    /// [default: the JWKS max-age (5m) plus --leeway].
    #[arg(long, env = "TESSERA_PUBLISH_DELAY", value_parser = parse_duration)]
    pub publish_delay: Option<Duration>,

    /// `iss` of issued tokens [default: http://<address listened on>].
    #[arg(long, env = "TESSERA_ISSUER")]
    pub issuer: Option<String>,

    /// `aud` of issued tokens.
    #[arg(long, env = "TESSERA_AUDIENCE", default_value = "dashboards")]
    pub audience: String,

    /// Token lifetime when a request gives no `expires_in`.
    #[arg(long, env = "TESSERA_TOKEN_TTL", default_value = "24h", value_parser = parse_duration)]
    pub token_ttl: Duration,

    /// Longest token lifetime a request may ask for.
    #[arg(long, env = "TESSERA_MAX_TOKEN_TTL", default_value = "30d", value_parser = parse_duration)]
    pub max_token_ttl: Duration,

    /// The longest a viewing session can be kept alive by refreshing its
    /// token (`POST /api/token/refresh`).
    #[arg(long, env = "TESSERA_MAX_SESSION", default_value = "7d", value_parser = parse_duration)]
    pub max_session: Duration,

    /// How long after its expiry a token may still be refreshed (0s: only
    /// tokens still valid).
    #[arg(long, env = "TESSERA_REFRESH_GRACE", default_value = "0s", value_parser = humantime::parse_duration)]
    pub refresh_grace: Duration,

    /// Audit events kept per group (newest first; 0 turns the audit trail
    /// off). At most 1000000.
    #[arg(long, env = "TESSERA_AUDIT_RETENTION", default_value_t = crate::audit::DEFAULT_RETENTION, value_parser = parse_audit_retention)]
    pub audit_retention: usize,

    /// Clock skew tolerated when checking token times.
    #[arg(long, env = "TESSERA_LEEWAY", default_value = "60s", value_parser = humantime::parse_duration)]
    pub leeway: Duration,

    /// Tokens /api/verify remembers as verified (signature and claims; the
    /// store check still runs on every call); 0 turns the cache off. At
    /// most 1000000.
    #[arg(long, env = "TESSERA_VERIFY_CACHE", default_value_t = crate::token::DEFAULT_VERIFY_CACHE, value_parser = parse_verify_cache)]
    pub verify_cache: usize,

    /// Whether /api/verify also checks the store (group exists, not revoked).
    #[arg(long, env = "TESSERA_VERIFY_CHECK_STORE", default_value_t = true, action = clap::ArgAction::Set)]
    pub verify_check_store: bool,

    /// How long a client may take to send a request's headers.
    #[arg(long, env = "TESSERA_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: Duration,

    /// How long a kept-alive connection may wait for its next request.
    #[arg(long, env = "TESSERA_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub idle_timeout: Duration,

    /// The most connections open at once; more are closed at accept.
    #[arg(long, env = "TESSERA_MAX_CONNECTIONS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Browser origins that may call /api/verify and read the JWKS:
    /// exact origins, comma-separated (https://app.example.com), or *.
    /// Off when not given; admin routes never allow CORS.
    #[arg(long, env = "TESSERA_CORS_ORIGINS", default_value = "", value_parser = parse_cors_origins)]
    pub cors_origins: CorsOrigins,

    /// Requests per admin API key on the admin routes: N/s or N/m,
    /// optionally :BURST (default burst: twice the rate); 0 for no limit.
    #[arg(long, env = "TESSERA_RATE_LIMIT_ADMIN", default_value = "100/s:200")]
    pub rate_limit_admin: crate::api::RateSetting,

    /// Requests per client address on /api/verify, /api/sql/resolve and
    /// the JWKS; 0 for no limit.
    #[arg(long, env = "TESSERA_RATE_LIMIT_CLIENT", default_value = "500/s:1000")]
    pub rate_limit_client: crate::api::RateSetting,

    /// Proxies (addresses or CIDRs, comma-separated) whose X-Forwarded-For
    /// names the client; without them the socket peer is the client.
    #[arg(long, env = "TESSERA_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: crate::api::TrustedProxies,

    /// Serve GET /metrics on this address instead of the main one
    /// (e.g. 127.0.0.1:9090, reachable by Prometheus only).
    #[arg(long, env = "TESSERA_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Log lines as text (colour only on a terminal) or one JSON object per
    /// line.
    #[arg(long, env = "TESSERA_LOG_FORMAT", default_value = "text", value_enum)]
    pub log_format: LogFormat,

    /// How long requests in flight may take to finish after SIGTERM.
    #[arg(long, env = "TESSERA_SHUTDOWN_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,
}

impl ServeArgs {
    /// The server's connection limits.
    pub fn serve_options(&self) -> crate::server::ServeOptions {
        crate::server::ServeOptions {
            timeouts: crate::server::Timeouts {
                header_read: self.header_read_timeout,
                idle: self.idle_timeout,
            },
            max_connections: self.max_connections as usize,
            shutdown_timeout: self.shutdown_timeout,
        }
    }

    /// The issuer, defaulting to the address the service listens on
    /// (`address`, the port chosen when `--listen` gives port 0).
    pub fn issuer(&self, address: std::net::SocketAddr) -> String {
        self.issuer
            .clone()
            .unwrap_or_else(|| format!("http://{address}"))
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_audit_retention, parse_duration, parse_redis_prefix};
    use std::time::Duration;

    #[test]
    fn redis_prefixes_cannot_hold_hash_tags_and_retention_is_bounded() {
        assert_eq!(parse_redis_prefix("tenant-a:").as_deref(), Ok("tenant-a:"));
        for bad in ["{a}:", "a{", "}"] {
            assert!(parse_redis_prefix(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_audit_retention("0"), Ok(0));
        assert_eq!(parse_audit_retention("1000000"), Ok(1_000_000));
        assert_eq!(super::parse_verify_cache("0"), Ok(0));
        assert!(super::parse_verify_cache("1000001").is_err());
        for bad in ["1000001", "-1", "x", ""] {
            assert!(parse_audit_retention(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cluster_node_lists() {
        use super::parse_cluster_nodes;
        assert_eq!(
            parse_cluster_nodes("127.0.0.1:7000, 127.0.0.1:7001"),
            Ok(vec![
                "127.0.0.1:7000".to_owned(),
                "127.0.0.1:7001".to_owned()
            ])
        );
        for bad in [
            "127.0.0.1",
            "127.0.0.1:7000,",
            ":7000",
            "h:0",
            "h:99999",
            "h:x",
        ] {
            let err = parse_cluster_nodes(bad).unwrap_err();
            assert!(err.reason.contains("is not host:port"), "{bad}: {err}");
        }
    }

    #[test]
    fn durations_show_as_written() {
        use super::show_duration;
        for text in ["31d", "36h", "90m", "45s", "1500ms", "0s"] {
            let parsed = humantime::parse_duration(text).unwrap();
            assert_eq!(show_duration(parsed), text);
        }
        assert_eq!(show_duration(Duration::from_secs(3600)), "1h");
        assert_eq!(
            show_duration(Duration::from_secs(86_400)),
            "1d",
            "the largest unit"
        );
    }

    #[test]
    fn human_durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
