//! `tessera api-keys`: API keys in the store (admin keys, and renderer
//! keys that only read the revocation feed). A new key is printed
//! once; only its SHA-256 is stored.

use chrono::{SecondsFormat, Utc};
use clap::Subcommand;

use super::Failure;
use crate::auth::{ApiKey, ApiKeyName, ApiKeyRecord, ApiKeyScope};
use crate::config::StoreArgs;
use crate::store::GroupStore;

/// Subcommands of `tessera api-keys`.
#[derive(Debug, Subcommand)]
pub enum ApiKeysCommand {
    /// Create a key and print it once on stdout.
    Create {
        /// A unique label for the key, e.g. backend-prod.
        #[arg(long)]
        name: String,
        /// admin (everything) or renderer (only the revocation feed).
        #[arg(long, default_value = "admin")]
        scope: ApiKeyScope,
        /// Where the keys are stored.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List key names and creation times (never the keys).
    List {
        /// Where the keys are stored.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a key by name; requests with it are refused at once.
    Revoke {
        /// The key's label.
        name: String,
        /// Where the keys are stored.
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Runs an api-keys subcommand.
pub async fn run(command: ApiKeysCommand) -> Result<(), Failure> {
    match command {
        ApiKeysCommand::Create { name, scope, store } => {
            let name = ApiKeyName::parse(name)?;
            let key = create_api_key(store.open()?.as_ref(), name, scope).await?;
            println!("{}", key.expose());
            eprintln!("store this key now: it cannot be shown again");
        }
        ApiKeysCommand::List { store } => {
            let keys = store
                .open()?
                .list_api_keys()
                .await
                .map_err(|e| e.to_string())?;
            println!("{:<64}  {:<8}  CREATED", "NAME", "SCOPE");
            for key in keys {
                let created = key.created_at.to_rfc3339_opts(SecondsFormat::Secs, true);
                println!(
                    "{:<64}  {:<8}  {created}",
                    key.name.as_str(),
                    key.scope.as_str()
                );
            }
        }
        ApiKeysCommand::Revoke { name, store } => {
            let name = ApiKeyName::parse(name)?;
            if !store
                .open()?
                .revoke_api_key(&name)
                .await
                .map_err(|e| e.to_string())?
            {
                return Err(format!("no API key named {name}").into());
            }
            eprintln!("revoked {name}");
        }
    }
    Ok(())
}

/// Generates a key named `name`, stores its hash and returns the clear key.
pub async fn create_api_key(
    store: &dyn GroupStore,
    name: ApiKeyName,
    scope: ApiKeyScope,
) -> Result<ApiKey, String> {
    let key = ApiKey::generate().map_err(|_| "the random generator failed".to_owned())?;
    let record = ApiKeyRecord {
        name,
        hash: key.hash(),
        created_at: Utc::now(),
        scope,
    };
    store
        .insert_api_key(&record)
        .await
        .map_err(|e| e.to_string())?;
    Ok(key)
}
