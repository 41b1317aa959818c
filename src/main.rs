//! The `tessera` binary: parses the command line and hands it to the library.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match tessera::cli::parse_args(std::env::args_os()) {
        Ok(cli) => tessera::cli::run(cli).await,
        Err(err) => err.exit(),
    }
}
