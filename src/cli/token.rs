//! `tessera token`: verify a token offline (with the published JWKS or the
//! store's key ring, by the same policy as the service) or inspect one
//! without verifying it. Offline verification cannot see revocations.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::clock::SystemClock;
use crate::config::{KeyRingArgs, StoreArgs, parse_duration};
use crate::middleware::{fetch_jwks, jwks_client};
use crate::ring::SharedRing;
use crate::token::{Claims, KeyHandle, KeySet, VerifyPolicy, verify};

/// How to verify a token offline; shared by `token verify` and
/// `sql resolve`.
#[derive(Debug, Clone, Args)]
pub struct OfflineVerifyArgs {
    /// A JWKS file or an http(s) URL; without it, the key ring in the
    /// store (opened with the KEK; HMAC keys included).
    #[arg(long)]
    pub jwks: Option<String>,
    /// The store whose key ring verifies (when --jwks is not given).
    #[command(flatten)]
    pub store: StoreArgs,
    /// The KEK that opens it.
    #[command(flatten)]
    pub ring: KeyRingArgs,
    /// The required issuer.
    #[arg(long, env = "TESSERA_ISSUER")]
    pub issuer: String,
    /// The audience that must be in `aud`.
    #[arg(long, env = "TESSERA_AUDIENCE", default_value = "dashboards")]
    pub audience: String,
    /// The longest token lifetime accepted.
    #[arg(long, env = "TESSERA_MAX_TOKEN_TTL", default_value = "30d", value_parser = parse_duration)]
    pub max_token_ttl: Duration,
    /// Clock skew tolerated.
    #[arg(long, env = "TESSERA_LEEWAY", default_value = "60s", value_parser = humantime::parse_duration)]
    pub leeway: Duration,
}

impl OfflineVerifyArgs {
    /// Verifies `token`; the error starts with the error code.
    pub async fn verify(&self, token: &str) -> Result<Claims, String> {
        let keys = match &self.jwks {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                let client = jwks_client().map_err(|err| err.to_string())?;
                fetch_jwks(&client, url)
                    .await
                    .map_err(|err| format!("keys_unavailable: {err}"))?
                    .0
            }
            Some(file) => {
                let bytes = std::fs::read(file).map_err(|err| format!("{file}: {err}"))?;
                KeySet::from_jwks_bytes(&bytes).map_err(|err| format!("{file}: {err}"))?
            }
            None => self.stored_keys().await?,
        };
        let policy = VerifyPolicy {
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            max_ttl: self.max_token_ttl,
            leeway: self.leeway,
        };
        verify(&keys, &policy, token.trim(), Utc::now())
            .map_err(|err| format!("{}: {err}", err.code()))
    }
}

impl OfflineVerifyArgs {
    /// The verifying keys of the store's key ring.
    async fn stored_keys(&self) -> Result<KeySet, String> {
        let kek = self.ring.kek(false).map_err(|err| err.to_string())?;
        let store = self.store.open().map_err(|err| err.to_string())?;
        let ring = SharedRing::new(
            store,
            Arc::new(kek),
            KeyHandle::empty(),
            Arc::new(SystemClock),
        );
        ring.refresh(None)
            .await
            .map_err(|err| format!("the key ring: {err}"))?;
        let keys = ring.keys().loaded().map_err(|err| err.to_string())?;
        Ok(keys.keyset().clone())
    }
}

/// Subcommands of `tessera token`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Verify a token; print its claims as JSON (exit 0) or its error code
    /// on stderr (exit 1).
    Verify {
        /// How to verify.
        #[command(flatten)]
        verify: Box<OfflineVerifyArgs>,
        /// The token.
        token: String,
    },
    /// Print a token's header and payload WITHOUT verifying anything.
    Inspect {
        /// The token.
        token: String,
    },
}

/// Runs a token subcommand.
pub async fn run(command: TokenCommand) -> Result<(), String> {
    match command {
        TokenCommand::Verify { verify, token } => {
            let claims = verify.verify(&token).await?;
            print_json(&serde_json::to_value(&claims).map_err(|e| e.to_string())?)
        }
        TokenCommand::Inspect { token } => {
            let segments: Vec<&str> = token.trim().split('.').collect();
            if segments.len() != 3 {
                return Err(format!(
                    "not a JWT: expected three dot-separated segments, found {}",
                    segments.len()
                ));
            }
            let part = |index: usize, what: &str| -> Result<Value, String> {
                let bytes = URL_SAFE_NO_PAD
                    .decode(segments[index])
                    .map_err(|_| format!("not a JWT: the {what} is not base64url"))?;
                serde_json::from_slice(&bytes)
                    .map_err(|_| format!("not a JWT: the {what} is not JSON"))
            };
            print_json(&json!({
                "verified": false,
                "warning": "UNVERIFIED: nothing here has been checked; do not trust it",
                "header": part(0, "header")?,
                "payload": part(1, "payload")?,
            }))
        }
    }
}

/// Prints pretty JSON on stdout.
pub fn print_json(value: &Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
}
