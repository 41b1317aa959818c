//! The `tessera` command line: `serve` (the default), `api-keys`, `keys`,
//! `token`, `sql`, `audit`, `export` and `import`. Each subcommand lives in its own
//! file; this one only defines the grammar and dispatches.

mod api_keys;
mod audit;
mod kek;
mod keys;
mod serve;
mod sql;
mod token;
mod transfer;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{ServeArgs, StoreArgs};

pub use api_keys::ApiKeysCommand;
pub use audit::AuditCommand;
pub use keys::KeysCommand;
pub use sql::SqlCommand;
pub use token::TokenCommand;
pub use transfer::{BadLine, parse_line};

const ENVIRONMENT_HELP: &str = "\
Every option can also be set with the environment variable shown.
TESSERA_API_KEY (environment only): an operator-supplied admin API key,
accepted as is. TESSERA_KEK (environment only): the key-encryption key,
base64url of 32 bytes; wins over --kek-file. Logging follows RUST_LOG
(default: info).";

/// Issues and verifies user-group tokens for embedded analytics dashboards.
#[derive(Debug, Parser)]
#[command(
    name = "tessera",
    version,
    args_conflicts_with_subcommands = true,
    after_help = ENVIRONMENT_HELP
)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Options of `serve`, accepted without the subcommand name.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service (the default when no subcommand is given).
    #[command(after_help = ENVIRONMENT_HELP)]
    Serve(Box<ServeArgs>),
    /// Create, list and revoke admin API keys.
    #[command(subcommand)]
    ApiKeys(ApiKeysCommand),
    /// Manage the signing key ring in the store.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Verify a token offline, or inspect one.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Resolve a query's {{variables}} with a verified token's values.
    #[command(subcommand)]
    Sql(SqlCommand),
    /// Read the per-group audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Write every group to stdout as JSON Lines.
    Export {
        /// The store to read.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Read groups as JSON Lines from stdin (as written by export), 10 000
    /// lines at a time: a malformed line or a clash stops the import before
    /// its batch, keeping the batches before it (running it again completes
    /// it).
    Import {
        /// Replace stored groups whose content differs.
        #[arg(long)]
        overwrite: bool,
        /// The store to write.
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Runs the parsed command line; errors are printed to stderr.
pub async fn run(cli: Cli) -> ExitCode {
    let outcome = match cli.command {
        None => serve::run(cli.serve).await,
        Some(Command::Serve(args)) => serve::run(*args).await,
        Some(Command::ApiKeys(command)) => api_keys::run(command).await,
        Some(Command::Keys(command)) => keys::run(command).await,
        Some(Command::Token(command)) => token::run(command).await.map_err(Failure::from),
        Some(Command::Sql(command)) => sql::run(command).await.map_err(Failure::from),
        Some(Command::Audit(command)) => audit::run(command).await,
        Some(Command::Export { store }) => transfer::run_export(&store).await,
        Some(Command::Import { overwrite, store }) => transfer::run_import(&store, overwrite).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.exit)
        }
    }
}

/// Parses the command line. An invalid value that came from an
/// environment variable (not from a flag) is reported naming the variable.
pub fn parse_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<Cli, clap::Error> {
    use clap::{CommandFactory as _, FromArgMatches as _};
    let args: Vec<std::ffi::OsString> = args.into_iter().collect();
    let mut command = Cli::command();
    let matches = match command.try_get_matches_from_mut(args.iter().cloned()) {
        Ok(matches) => matches,
        Err(err) => return Err(name_the_variable(err, &command, &args)),
    };
    Cli::from_arg_matches(&matches).map_err(|err| err.format(&mut command))
}

/// Adds "(from TESSERA_...)" to an invalid-value error whose flag was not
/// on the command line but whose environment variable is set.
fn name_the_variable(
    err: clap::Error,
    command: &clap::Command,
    args: &[std::ffi::OsString],
) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if !matches!(
        err.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) {
        return err;
    }
    let Some(ContextValue::String(shown)) = err.get(ContextKind::InvalidArg) else {
        return err;
    };
    let long = shown
        .trim_start_matches("--")
        .split([' ', '='])
        .next()
        .unwrap_or_default();
    let on_command_line = args
        .iter()
        .filter_map(|arg| arg.to_str())
        .any(|arg| arg == format!("--{long}") || arg.starts_with(&format!("--{long}=")));
    let env = all_arguments(command)
        .into_iter()
        .find(|arg| arg.get_long() == Some(long))
        .and_then(|arg| arg.get_env().map(|env| env.to_string_lossy().into_owned()));
    match env {
        Some(env) if !on_command_line && std::env::var_os(&env).is_some() => {
            let rendered = err.to_string();
            let first = rendered.lines().next().unwrap_or_default();
            let reason = first.trim_start_matches("error: ");
            clap::Error::raw(
                ErrorKind::InvalidValue,
                format!("{reason} (set by the environment variable {env})\n"),
            )
            .with_cmd(command)
        }
        _ => err,
    }
}

/// Every argument of `command` and its subcommands.
fn all_arguments(command: &clap::Command) -> Vec<&clap::Arg> {
    let mut all: Vec<&clap::Arg> = command.get_arguments().collect();
    for sub in command.get_subcommands() {
        all.extend(all_arguments(sub));
    }
    all
}

/// Why a command failed, and the exit code that says so: 1 in general, 2
/// when the key-encryption key cannot open the stored key ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What to print.
    pub message: String,
    /// The process exit code.
    pub exit: u8,
}

impl Failure {
    /// The exit code of a KEK that cannot open the stored ring.
    pub const WRONG_KEK: u8 = 2;

    /// The KEK cannot open the stored ring.
    pub fn wrong_kek(message: String) -> Self {
        Self {
            message,
            exit: Self::WRONG_KEK,
        }
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self { message, exit: 1 }
    }
}

/// Typed errors of the layers below, as the command line reports them.
macro_rules! failure_from {
    ($($error:ty),* $(,)?) => {
        $(impl From<$error> for Failure {
            fn from(err: $error) -> Self {
                err.to_string().into()
            }
        })*
    };
}

failure_from!(
    crate::store::StoreError,
    crate::token::SealError,
    crate::token::KeyError,
    tessera_verify::ParseError,
);

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        message.to_owned().into()
    }
}
