//! The `tessera` binary: parses the command line and hands it to the library.

use std::process::ExitCode;

use clap::Parser as _;

#[tokio::main]
async fn main() -> ExitCode {
    tessera::cli::run(tessera::cli::Cli::parse()).await
}
