//! `tessera keys`: the signing key ring in the store (Redis, Redis
//! Cluster, or the embedded store while the service is stopped; a running
//! service offers the same through `/api/keys`). Every running instance
//! follows a change within about two seconds.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use clap::Subcommand;

use super::Failure;
use crate::clock::SystemClock;
use crate::config::{KeyRingArgs, StoreArgs};
use crate::ring::{Created, KeyEntry, Refreshed, SharedRing, SharedRingError};
use crate::token::{Kek, KeyAlgorithm, KeyHandle, RingChangeError, RingDocument};

/// Subcommands of `tessera keys`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List every key: kid, algorithm, state, and when it was created,
    /// activated and retired.
    List {
        /// The store.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Add a key, published (in the JWKS, verifying, not signing) until
    /// activated, or active at once with --activate. With no key ring in
    /// the store yet, creates it (importing a keys directory of an earlier
    /// version, if any).
    Generate {
        /// The new key's algorithm: EdDSA, ES256, RS256 or HS256.
        #[arg(long, default_value = "EdDSA", value_parser = parse_algorithm)]
        alg: KeyAlgorithm,
        /// Make it the signing key at once. Renderers that cache the JWKS
        /// may not know it yet: prefer publishing, waiting the JWKS
        /// max-age, then `keys activate`.
        #[arg(long)]
        activate: bool,
        /// The store.
        #[command(flatten)]
        store: StoreArgs,
        /// The KEK.
        #[command(flatten)]
        ring: KeyRingArgs,
    },
    /// Make a published key the signing key; the former one keeps
    /// verifying until retired.
    Activate {
        /// The key id.
        kid: String,
        /// The store.
        #[command(flatten)]
        store: StoreArgs,
        /// The KEK.
        #[command(flatten)]
        ring: KeyRingArgs,
    },
    /// Stop a key from verifying and drop its private part. Retire a key
    /// only once every token it signed has expired (the longest token
    /// lifetime after it stopped signing). The active key cannot be
    /// retired.
    Retire {
        /// The key id.
        kid: String,
        /// The store.
        #[command(flatten)]
        store: StoreArgs,
        /// The KEK.
        #[command(flatten)]
        ring: KeyRingArgs,
    },
    /// Seal every key again under a new KEK (the file is created with 32
    /// random bytes when absent). Every instance must then be restarted
    /// with the new KEK.
    Reseal {
        /// The new KEK file.
        #[arg(long)]
        new_kek_file: PathBuf,
        /// The store.
        #[command(flatten)]
        store: StoreArgs,
        /// The current KEK.
        #[command(flatten)]
        ring: KeyRingArgs,
    },
}

fn parse_algorithm(text: &str) -> Result<KeyAlgorithm, tessera_verify::ParseError> {
    text.parse()
}

/// The ring of the configured store, opened with `kek`.
fn shared_ring(store: &StoreArgs, kek: Kek) -> Result<SharedRing, Failure> {
    let opened = store.open().map_err(|err| {
        if store.redis().ok().flatten().is_none() {
            format!("{err}\n(while the service runs, change its keys through /api/keys)")
        } else {
            err.to_string()
        }
    })?;
    Ok(SharedRing::new(
        opened,
        Arc::new(kek),
        KeyHandle::empty(),
        Arc::new(SystemClock),
    ))
}

/// A ring error for the command line: exit code 2 for the wrong KEK.
fn failure(err: SharedRingError) -> Failure {
    match err.unopened_kid() {
        Some(kid) => Failure::wrong_kek(format!(
            "the key-encryption key cannot open signing key {kid}: use the KEK the service uses \
             (TESSERA_KEK, or --kek-file / TESSERA_KEK_FILE)"
        )),
        None => err.to_string().into(),
    }
}

/// Applies `change` to the key `kid` of the stored ring.
async fn change_key(
    store: &StoreArgs,
    ring: &KeyRingArgs,
    kid: &str,
    change: fn(&mut RingDocument, &str, DateTime<Utc>) -> Result<(), RingChangeError>,
) -> Result<(), Failure> {
    let shared = shared_ring(store, ring.kek(false)?)?;
    shared
        .change(|doc, _, now| Ok(change(doc, kid, now)?))
        .await
        .map_err(failure)?;
    Ok(())
}

/// Runs a keys subcommand.
pub async fn run(command: KeysCommand) -> Result<(), Failure> {
    match command {
        KeysCommand::List { store } => {
            let opened = store.open()?;
            let text = opened
                .key_ring()
                .await
                .map_err(|err| err.to_string())?
                .ok_or_else(|| SharedRingError::Absent.to_string())?;
            let doc = RingDocument::from_json(&text).map_err(|err| err.to_string())?;
            print_table(&doc);
        }
        KeysCommand::Generate {
            alg,
            activate,
            store,
            ring,
        } => {
            // Before the first start there is no KEK yet.
            let kek = {
                let opened = store.open()?;
                super::kek::kek_or_first(&ring, opened.as_ref()).await?
            };
            let shared = shared_ring(&store, kek)?;
            let added = shared
                .change(|doc, kek, now| Ok(doc.add(alg, activate, now, kek)?))
                .await;
            let (doc, kid) = match added {
                Err(SharedRingError::Absent) => {
                    let bootstrap = ring.bootstrap(alg);
                    let refreshed = shared.refresh(Some(&bootstrap)).await.map_err(failure)?;
                    if let Refreshed::Installed {
                        created: Some(Created::Migrated(count)),
                        ..
                    } = refreshed
                    {
                        eprintln!(
                            "imported {count} keys of {} into the store",
                            ring.keys_dir.display()
                        );
                    }
                    let doc = shared.document().await.map_err(failure)?;
                    if let Refreshed::Installed {
                        created: Some(Created::Generated),
                        ..
                    } = refreshed
                    {
                        eprintln!("created the key ring with this key as the signing key");
                        println!("{}", doc.active);
                        return Ok(());
                    }
                    shared
                        .change(|doc, kek, now| Ok(doc.add(alg, activate, now, kek)?))
                        .await
                        .map_err(failure)?
                }
                other => other.map_err(failure)?,
            };
            println!("{kid}");
            let state = if doc.active == kid {
                "it is now the signing key"
            } else {
                "it is published (in the JWKS, verifying) and does not sign until `tessera keys activate`"
            };
            eprintln!("generated {alg} key {kid}; {state}; running instances follow within 2 s");
        }
        KeysCommand::Activate { kid, store, ring } => {
            change_key(&store, &ring, &kid, RingDocument::activate).await?;
            eprintln!("{kid} is the signing key; running instances follow within 2 s");
        }
        KeysCommand::Retire { kid, store, ring } => {
            change_key(&store, &ring, &kid, RingDocument::retire).await?;
            eprintln!("{kid} no longer verifies; running instances follow within 2 s");
        }
        KeysCommand::Reseal {
            new_kek_file,
            store,
            ring,
        } => {
            let new =
                Kek::load(None, &new_kek_file).map_err(|err| format!("--new-kek-file: {err}"))?;
            let shared = shared_ring(&store, ring.kek(false)?)?;
            let doc = shared.reseal(&new).await.map_err(failure)?;
            eprintln!(
                "resealed {} keys under {} (ring version {}). Give every instance this KEK \
                 (--kek-file / TESSERA_KEK_FILE, or TESSERA_KEK) and restart it; until then \
                 instances keep the keys they hold but cannot read ring changes",
                doc.keys.iter().filter(|key| key.sealed.is_some()).count(),
                new_kek_file.display(),
                doc.version
            );
        }
    }
    Ok(())
}

fn print_table(doc: &RingDocument) {
    let time = |at: Option<DateTime<Utc>>| {
        at.map_or_else(
            || "-".to_owned(),
            |at| at.to_rfc3339_opts(SecondsFormat::Secs, true),
        )
    };
    println!(
        "{:<40}  {:<6}  {:<9}  {:<20}  {:<20}  RETIRED",
        "KID", "ALG", "STATE", "CREATED", "ACTIVATED"
    );
    for entry in KeyEntry::all(doc) {
        println!(
            "{:<40}  {:<6}  {:<9}  {:<20}  {:<20}  {}",
            entry.kid.as_str(),
            entry.alg.as_str(),
            entry.state,
            time(Some(entry.created_at)),
            time(entry.activated_at),
            time(entry.retired_at)
        );
    }
}
