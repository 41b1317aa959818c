//! `tessera serve`: open the store, load the shared key ring (creating it
//! on the first start, importing a keys directory of an earlier version),
//! make sure an admin key exists, and serve until SIGTERM or Ctrl-C. The
//! ring is followed every second (and at once on SIGHUP) and, with
//! `--rotate-every`, rotated on schedule.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tracing_subscriber::EnvFilter;

use super::Failure;
use super::api_keys::create_api_key;
use crate::api::RateLimits;
use crate::auth::{ApiKey, ApiKeyName, ApiKeyScope};
use crate::clock::{SharedClock, SystemClock};
use crate::config::{LogFormat, ServeArgs};
use crate::metrics::{MeteredStore, Metrics};
use crate::ring::follow::{POLL_EVERY, follow, log_refresh};
use crate::ring::schedule::{self, Rotation};
use crate::ring::{SharedRing, SharedRingError};
use crate::state::{AppParts, AppState};
use crate::store::GroupStore;
use crate::token::{KeyAlgorithm, KeyHandle, MAX_LIVE_KEYS, TokenPolicy, VerifyPolicy};

/// The name of the admin key created when none exists.
const BOOTSTRAP_KEY_NAME: &str = "initial";

/// Runs the service.
pub async fn run(args: ServeArgs) -> Result<(), Failure> {
    init_logging(args.log_format);
    let clock: SharedClock = Arc::new(SystemClock);
    // Bind before creating any file, so a second instance on a taken port
    // fails without leaving keys or a data directory behind.
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|err| format!("cannot listen on {} (--listen): {err}", args.listen))?;
    let address = listener.local_addr().map_err(|err| err.to_string())?;
    let metrics_listener = match args.metrics_listen {
        Some(metrics_address) => {
            let bound = tokio::net::TcpListener::bind(metrics_address)
                .await
                .map_err(|err| {
                    format!("cannot listen on {metrics_address} (--metrics-listen): {err}")
                })?;
            let bound_address = bound.local_addr().map_err(|err| err.to_string())?;
            tracing::info!(address = %bound_address, "metrics listening");
            Some(bound)
        }
        None => None,
    };
    let tokens = policy(&args, address)?;
    let operator_key = operator_key()?;
    let rotation = rotation(&args)?;

    let metrics = Arc::new(Metrics::new());
    let backend = if args.store.redis()?.is_some() {
        "redis"
    } else {
        "embedded"
    };
    let store: Arc<dyn GroupStore> = Arc::new(MeteredStore::new(
        args.store.open()?,
        metrics.clone(),
        backend,
    ));
    tracing::info!(store = %args.store.describe(), "store opened");
    if args.issuer.is_none() && address.ip().is_unspecified() {
        tracing::warn!(
            issuer = %args.issuer(address),
            "the issuer is derived from a wildcard listen address; set --issuer / TESSERA_ISSUER \
             to the URL renderers use"
        );
    }
    let kek = Arc::new(super::kek::kek_or_first(&args.ring, store.as_ref()).await?);
    let keys = KeyHandle::empty();
    let ring = Arc::new(SharedRing::new(
        store.clone(),
        kek,
        keys.clone(),
        clock.clone(),
    ));
    let bootstrap = args.ring.bootstrap(KeyAlgorithm::EdDSA);
    match ring.refresh(Some(&bootstrap)).await {
        Ok(refreshed) => log_refresh(&ring, &refreshed),
        Err(err) if err.unopened_kid().is_some() => {
            let kid = err.unopened_kid().unwrap_or_default();
            return Err(Failure::wrong_kek(format!(
                "the key-encryption key cannot open signing key {kid} of the stored key ring; \
                 every instance of one store needs the same KEK (TESSERA_KEK, or --kek-file / \
                 TESSERA_KEK_FILE, now {}). Refusing to start; nothing was changed",
                args.ring.kek_path().display()
            )));
        }
        Err(SharedRingError::Store(err)) => tracing::warn!(
            %err,
            "the store is unavailable: serving without signing keys until it answers \
             (/readyz and key-dependent routes answer 503 meanwhile)"
        ),
        Err(err) => return Err(format!("signing keys: {err}; refusing to start").into()),
    }
    if operator_key.is_none() {
        tokio::spawn(ensure_admin_key(store.clone()));
    }

    let wake = Arc::new(Notify::new());
    tokio::spawn(follow(ring.clone(), POLL_EVERY, wake.clone(), bootstrap));
    tokio::spawn(refresh_on_sighup(wake));
    if let Some(rotation) = rotation {
        tracing::info!(
            every = %crate::config::show_duration(rotation.every),
            publish_delay = %crate::config::show_duration(rotation.publish_delay),
            "scheduled key rotation on"
        );
        tokio::spawn(schedule::run(ring.clone(), rotation, POLL_EVERY));
    }
    let audit = Arc::new(crate::audit::Audit::new(
        args.audit_retention,
        store.clone(),
    ));
    let state: AppState = AppParts {
        store,
        keys,
        ring,
        tokens: Arc::new(tokens),
        clock,
        operator_key,
        verify_check_store: args.verify_check_store,
        cors: args.cors_origins.clone(),
        draining: Arc::new(AtomicBool::new(false)),
        audit,
        admitted: Arc::new(crate::auth::AdmittedKeys::new(crate::auth::ADMITTED_KEYS)),
        verified: Arc::new(crate::token::VerifiedTokens::new(args.verify_cache)),
        metrics,
        metrics_route: args.metrics_listen.is_none(),
        limits: Arc::new(RateLimits::new(
            args.rate_limit_admin.0,
            args.rate_limit_client.0,
            args.trusted_proxies.0.clone(),
        )),
    }
    .into();
    if let Some(metrics_listener) = metrics_listener {
        let metrics_app = crate::api::metrics_router(state.clone());
        tokio::spawn(async move { axum::serve(metrics_listener, metrics_app).await });
    }
    tokio::spawn(crate::audit::flush_every(
        Arc::downgrade(&state.audit),
        crate::audit::FLUSH_EVERY,
    ));
    let audit = state.audit.clone();
    let draining = state.draining.clone();
    let shutdown = async move {
        shutdown_signal().await;
        draining.store(true, Ordering::Relaxed);
    };
    tracing::info!(%address, "tessera listening");
    crate::serve_with(listener, state, args.serve_options(), shutdown)
        .await
        .map_err(|err| format!("server error: {err}"))?;
    audit.settle().await;
    tracing::info!("tessera stopped");
    Ok(())
}

/// The rotation timetable of `--rotate-every` and `--publish-delay`.
fn rotation(args: &ServeArgs) -> Result<Option<Rotation>, String> {
    let Some(every) = args.rotate_every else {
        if args.publish_delay.is_some() {
            return Err("--publish-delay / TESSERA_PUBLISH_DELAY needs --rotate-every".into());
        }
        return Ok(None);
    };
    let publish_delay = args
        .publish_delay
        .unwrap_or(Duration::from_secs(u64::from(crate::api::JWKS_MAX_AGE_SECS)) + args.leeway);
    if publish_delay >= every {
        return Err(format!(
            "--publish-delay ({}) must be shorter than --rotate-every ({})",
            crate::config::show_duration(publish_delay),
            crate::config::show_duration(every)
        ));
    }
    let retire_after = args.max_token_ttl + args.leeway;
    // Former keys verify until their tokens expire: a short period with a
    // long lifetime would keep more keys than a ring holds.
    let live = retire_after.as_secs().div_ceil(every.as_secs().max(1)) as usize + 2;
    if live > MAX_LIVE_KEYS {
        return Err(format!(
            "--rotate-every ({}) is too short for --max-token-ttl ({}): former keys verify until \
             their tokens expire, which would keep {live} keys (at most {MAX_LIVE_KEYS})",
            crate::config::show_duration(every),
            crate::config::show_duration(args.max_token_ttl)
        ));
    }
    Ok(Some(Rotation {
        every,
        publish_delay,
        retire_after,
    }))
}

/// The longest clock skew `--leeway` may tolerate.
const MAX_LEEWAY: Duration = Duration::from_secs(5 * 60);
/// The longest `iss` and `aud` (see `domain::MAX_GROUP_CLAIMS_BYTES`).
const MAX_ISS_AUD_BYTES: usize = 256;
/// The shortest operator key `TESSERA_API_KEY` may hold.
const MIN_OPERATOR_KEY_CHARS: usize = 32;

/// `TESSERA_API_KEY`, hashed; refused when too short to resist guessing.
fn operator_key() -> Result<Option<crate::auth::ApiKeyHash>, String> {
    let Some(key) = std::env::var("TESSERA_API_KEY")
        .ok()
        .filter(|key| !key.is_empty())
    else {
        return Ok(None);
    };
    if key.chars().count() < MIN_OPERATOR_KEY_CHARS {
        return Err(format!(
            "TESSERA_API_KEY is shorter than {MIN_OPERATOR_KEY_CHARS} characters; \
             use a long random value (for example: openssl rand -base64 32)"
        ));
    }
    Ok(Some(ApiKey::new(key).hash()))
}

fn policy(args: &ServeArgs, address: std::net::SocketAddr) -> Result<TokenPolicy, String> {
    if args.leeway > MAX_LEEWAY {
        return Err(format!(
            "--leeway / TESSERA_LEEWAY ({}) is above the 5 minute maximum",
            crate::config::show_duration(args.leeway)
        ));
    }
    if args.token_ttl > args.max_token_ttl {
        return Err(format!(
            "--token-ttl ({}) exceeds --max-token-ttl ({})",
            crate::config::show_duration(args.token_ttl),
            crate::config::show_duration(args.max_token_ttl)
        ));
    }
    if args.audience.is_empty() {
        return Err("--audience must not be empty".into());
    }
    // With at most 10 KiB of group claims, these keep every token within
    // the 16 KiB a verifier accepts.
    for (flag, value) in [
        ("--issuer / TESSERA_ISSUER", args.issuer(address)),
        ("--audience / TESSERA_AUDIENCE", args.audience.clone()),
    ] {
        if value.len() > MAX_ISS_AUD_BYTES {
            return Err(format!("{flag} is longer than {MAX_ISS_AUD_BYTES} bytes"));
        }
    }
    Ok(TokenPolicy {
        verify: VerifyPolicy {
            issuer: args.issuer(address),
            audience: args.audience.clone(),
            max_ttl: args.max_token_ttl,
            leeway: args.leeway,
        },
        default_ttl: args.token_ttl,
        max_session: args.max_session,
        refresh_grace: args.refresh_grace,
    })
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests) is harmless.
    let _ = match format {
        // Colour only on a terminal: a log file or collector gets plain text.
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        // One object per line: timestamp, level, target, fields, and the
        // spans it belongs to (the request's carries the request id).
        LogFormat::Json => builder
            .json()
            .with_current_span(false)
            .with_span_list(true)
            .try_init(),
    };
}

/// With no `TESSERA_API_KEY` and no stored key, creates one and prints it
/// once on stdout. Retries until the store answers, so a store that is
/// down at start-up delays this instead of failing it.
async fn ensure_admin_key(store: Arc<dyn GroupStore>) {
    let mut waiting = false;
    loop {
        match store.list_api_keys().await {
            Ok(keys) if !keys.is_empty() => {
                return tracing::info!(count = keys.len(), "admin API keys found; none created");
            }
            Ok(_) => {
                let name = match ApiKeyName::parse(BOOTSTRAP_KEY_NAME) {
                    Ok(name) => name,
                    Err(err) => return tracing::error!(%err, "bootstrap key name"),
                };
                match create_api_key(store.as_ref(), name, ApiKeyScope::Admin).await {
                    Ok(key) => return print_banner(&key),
                    Err(err) => tracing::warn!(%err, "could not create the first admin key"),
                }
            }
            Err(err) if !waiting => {
                waiting = true;
                tracing::warn!(%err, "waiting for the store to create the first admin key");
            }
            Err(_) => {}
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn print_banner(key: &ApiKey) {
    let rule = "=".repeat(72);
    println!(
        "{rule}\n\
         Tessera created an admin API key named \"{BOOTSTRAP_KEY_NAME}\".\n\
         It is shown only this once; store it now:\n\n    {}\n\n\
         Send it as:  Authorization: Token <key>\n\
         Manage keys: tessera api-keys list | create --name NAME | revoke NAME\n\
         {rule}",
        key.expose()
    );
}

/// Reads the stored key ring at once on every SIGHUP (it is read every
/// second anyway).
async fn refresh_on_sighup(wake: Arc<Notify>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        return tracing::error!(
            "cannot listen for SIGHUP; the key ring is still read every second"
        );
    };
    while hangups.recv().await.is_some() {
        tracing::info!("SIGHUP: reading the key ring now");
        wake.notify_one();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
