//! The `tessera` binary: parses the command line and hands it to the library.

use std::process::ExitCode;

/// jemalloc, with its background threads, gives memory back to the system
/// once connections close (the system allocator kept the peak: see
/// `bench/memory.sh`).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    match tessera::cli::parse_args(std::env::args_os()) {
        Ok(cli) => tessera::cli::run(cli).await,
        Err(err) => err.exit(),
    }
}
