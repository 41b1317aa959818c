//! The crates are layers: a renderer that takes `tessera-verify` or
//! `tessera-middleware` does not compile the server. `cargo tree` of each
//! crate's normal dependencies must not name what its layer excludes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::process::Command;

/// The crate names in `cargo tree -p CRATE -e normal`.
fn normal_dependencies(krate: &str) -> BTreeSet<String> {
    let output = Command::new(env!("CARGO"))
        .args([
            "tree", "-p", krate, "-e", "normal", "--prefix", "none", "--format", "{p}",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn assert_excludes(krate: &str, forbidden: &[&str]) {
    let found = normal_dependencies(krate);
    assert!(found.contains(krate), "{found:?}");
    let present: Vec<_> = forbidden
        .iter()
        .filter(|name| found.contains(**name))
        .collect();
    assert!(present.is_empty(), "{krate} depends on {present:?}");
}

#[test]
fn the_verifier_needs_no_runtime_server_store_or_client() {
    assert_excludes(
        "tessera-verify",
        &[
            "tokio",
            "axum",
            "hyper",
            "redis",
            "redb",
            "clap",
            "reqwest",
            "tracing-subscriber",
            "tessera",
        ],
    );
}

#[test]
fn the_middleware_needs_no_store_or_command_line() {
    assert_excludes(
        "tessera-middleware",
        &[
            "redis",
            "redb",
            "clap",
            "tracing-subscriber",
            "tessera",
            "sqlparser",
        ],
    );
}
