//! `tessera keys`: signing keys in the keys directory. A running service
//! picks up every change on SIGHUP (or a restart).

use std::path::PathBuf;

use chrono::{SecondsFormat, Utc};
use clap::{Args, Subcommand};

use crate::token::{KeyAlgorithm, KeyRing};

/// The keys directory option shared by the subcommands.
#[derive(Debug, Clone, Args)]
pub struct KeysDirArg {
    /// Directory of the signing keys.
    #[arg(long, env = "TESSERA_KEYS_DIR", default_value = "keys")]
    pub keys_dir: PathBuf,
}

/// Subcommands of `tessera keys`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a key and make it the active (signing) key; the keys
    /// already there keep verifying.
    Generate {
        /// The new key's algorithm.
        #[arg(long, default_value = "EdDSA", value_parser = parse_algorithm)]
        alg: KeyAlgorithm,
        /// Where the keys are.
        #[command(flatten)]
        dir: KeysDirArg,
    },
    /// List every key: kid, algorithm, creation time, status.
    List {
        /// Where the keys are.
        #[command(flatten)]
        dir: KeysDirArg,
    },
    /// Generate a new active key of the active key's algorithm; older keys
    /// keep verifying until retired.
    Rotate {
        /// Where the keys are.
        #[command(flatten)]
        dir: KeysDirArg,
    },
    /// Stop a key from verifying. Retire a key only after the longest token
    /// lifetime has passed since it stopped signing. The active key cannot
    /// be retired.
    Retire {
        /// The key id.
        kid: String,
        /// Where the keys are.
        #[command(flatten)]
        dir: KeysDirArg,
    },
}

fn parse_algorithm(text: &str) -> Result<KeyAlgorithm, String> {
    text.parse()
}

const RELOAD_HINT: &str = "a running service uses it after SIGHUP (kill -HUP <pid>) or a restart";

/// Runs a keys subcommand.
pub fn run(command: KeysCommand) -> Result<(), String> {
    let now = Utc::now();
    match command {
        KeysCommand::Generate { alg, dir } => {
            let info = KeyRing::generate(&dir.keys_dir, alg, now).map_err(|e| e.to_string())?;
            KeyRing::load(&dir.keys_dir).map_err(|e| e.to_string())?;
            println!("{}", info.kid);
            eprintln!(
                "generated {} key {}; it is now the active signing key; {RELOAD_HINT}",
                info.alg, info.kid
            );
        }
        KeysCommand::List { dir } => {
            let ring = KeyRing::load(&dir.keys_dir).map_err(|e| e.to_string())?;
            println!("{:<40}  {:<6}  {:<20}  STATUS", "KID", "ALG", "CREATED");
            for (info, status) in ring.statuses() {
                let created = info.created_at.to_rfc3339_opts(SecondsFormat::Secs, true);
                println!(
                    "{:<40}  {:<6}  {created:<20}  {}",
                    info.kid.as_str(),
                    info.alg.as_str(),
                    status.as_str()
                );
            }
        }
        KeysCommand::Rotate { dir } => {
            let info = KeyRing::rotate(&dir.keys_dir, now).map_err(|e| e.to_string())?;
            KeyRing::load(&dir.keys_dir).map_err(|e| e.to_string())?;
            println!("{}", info.kid);
            eprintln!(
                "{} is the new active {} key; older keys keep verifying; {RELOAD_HINT}",
                info.kid, info.alg
            );
        }
        KeysCommand::Retire { kid, dir } => {
            let info = KeyRing::retire(&dir.keys_dir, &kid, now).map_err(|e| e.to_string())?;
            KeyRing::load(&dir.keys_dir).map_err(|e| e.to_string())?;
            eprintln!("{} no longer verifies; {RELOAD_HINT}", info.kid);
        }
    }
    Ok(())
}
