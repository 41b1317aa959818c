//! `tessera token`: verify a token offline (with the published JWKS or the
//! keys directory, by the same policy as the service) or inspect one
//! without verifying it. Offline verification cannot see revocations.

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use clap::Subcommand;
use serde_json::{Value, json};

use crate::config::parse_duration;
use crate::middleware::KeySource;
use crate::token::{VerifyPolicy, verify};

/// Subcommands of `tessera token`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Verify a token; print its claims as JSON (exit 0) or its error code
    /// on stderr (exit 1).
    Verify {
        /// A JWKS file or an http(s) URL; without it, the keys directory.
        #[arg(long)]
        jwks: Option<String>,
        /// Directory of the signing keys (used when --jwks is not given).
        #[arg(long, env = "TESSERA_KEYS_DIR", default_value = "keys")]
        keys_dir: PathBuf,
        /// The required issuer.
        #[arg(long, env = "TESSERA_ISSUER")]
        issuer: String,
        /// The audience that must be in `aud`.
        #[arg(long, env = "TESSERA_AUDIENCE", default_value = "dashboards")]
        audience: String,
        /// The longest token lifetime accepted.
        #[arg(long, env = "TESSERA_MAX_TOKEN_TTL", default_value = "30d", value_parser = parse_duration)]
        max_token_ttl: Duration,
        /// Clock skew tolerated.
        #[arg(long, env = "TESSERA_LEEWAY", default_value = "60s", value_parser = humantime::parse_duration)]
        leeway: Duration,
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
        TokenCommand::Verify {
            jwks,
            keys_dir,
            issuer,
            audience,
            max_token_ttl,
            leeway,
            token,
        } => {
            let source = match jwks {
                Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                    KeySource::JwksUrl(url)
                }
                Some(file) => KeySource::JwksFile(file.into()),
                None => KeySource::KeysDir(keys_dir),
            };
            let keys = crate::middleware::Keys::load(source).await?;
            let policy = VerifyPolicy {
                issuer,
                audience,
                max_ttl: max_token_ttl,
                leeway,
            };
            let (set, _) = keys.now().await;
            match verify(set.set(), &policy, token.trim(), Utc::now()) {
                Ok(claims) => {
                    let text = serde_json::to_string_pretty(&claims).map_err(|e| e.to_string())?;
                    println!("{text}");
                    Ok(())
                }
                Err(err) => {
                    let code = crate::error::ApiError::from(err.clone()).code.as_str();
                    Err(format!("{code}: {err}"))
                }
            }
        }
        TokenCommand::Inspect { token } => {
            let part = |index: usize| -> Value {
                token
                    .trim()
                    .split('.')
                    .nth(index)
                    .and_then(|segment| URL_SAFE_NO_PAD.decode(segment).ok())
                    .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                    .unwrap_or(Value::Null)
            };
            let shown = json!({
                "verified": false,
                "warning": "UNVERIFIED: nothing here has been checked; do not trust it",
                "header": part(0),
                "payload": part(1),
            });
            let text = serde_json::to_string_pretty(&shown).map_err(|e| e.to_string())?;
            println!("{text}");
            Ok(())
        }
    }
}
