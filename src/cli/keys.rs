//! `tessera keys`: signing keys in the keys directory.

use std::path::PathBuf;

use chrono::Utc;
use clap::Subcommand;

use crate::token::{KeyAlgorithm, KeyRing};

/// Subcommands of `tessera keys`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a key and make it the active (signing) key; the keys
    /// already there keep verifying. A running service uses it after a
    /// restart.
    Generate {
        /// The new key's algorithm.
        #[arg(long, default_value = "EdDSA", value_parser = parse_algorithm)]
        alg: KeyAlgorithm,
        /// Directory of the signing keys.
        #[arg(long, env = "TESSERA_KEYS_DIR", default_value = "keys")]
        keys_dir: PathBuf,
    },
}

fn parse_algorithm(text: &str) -> Result<KeyAlgorithm, String> {
    text.parse()
}

/// Runs a keys subcommand.
pub fn run(command: KeysCommand) -> Result<(), String> {
    match command {
        KeysCommand::Generate { alg, keys_dir } => {
            let info = KeyRing::generate(&keys_dir, alg, Utc::now()).map_err(|e| e.to_string())?;
            // Loading proves the new key and the manifest are usable.
            KeyRing::load(&keys_dir).map_err(|e| e.to_string())?;
            println!("{}", info.kid);
            eprintln!(
                "generated {} key {} in {}; it is now the active signing key",
                info.alg,
                info.kid,
                keys_dir.display()
            );
            Ok(())
        }
    }
}
