//! The non-Rust clients of `tests/clients` (Node's `jose`, and a browser
//! page driven by `playwright-core`): copied into the build's temporary
//! directory (under `target/`) with `npm install` run there on first use,
//! so the source tree is never written.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the clients run: `target/tmp/clients`, ready to use.
pub fn clients() -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("clients");
    copy_tree(&source, &dir);
    let installed = ["jose", "playwright-core"].iter().all(|name| {
        dir.join("node_modules")
            .join(name)
            .join("package.json")
            .exists()
    });
    if !installed {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("npm must be installed to run the client tests");
        assert!(status.success(), "npm ci in {} failed", dir.display());
    }
    dir
}

/// Copies the files of `from` into `to` (node_modules excepted).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the clients directory");
    for entry in std::fs::read_dir(from).expect("read tests/clients") {
        let entry = entry.expect("entry");
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        if entry.file_name() == "node_modules" {
            continue;
        }
        if source.is_dir() {
            copy_tree(&source, &target);
        } else {
            std::fs::copy(&source, &target).expect("copy a client file");
        }
    }
}
