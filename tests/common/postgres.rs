//! A private PostgreSQL server for one test: `initdb` and `pg_ctl` in a
//! temporary directory, on a free loopback port. As root (sessions and CI),
//! both run as the `postgres` user, which initdb requires.

use std::os::unix::fs::chown;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running server; stopped when dropped.
pub struct Postgres {
    port: u16,
    dir: tempfile::TempDir,
    bin: PathBuf,
    as_postgres: bool,
}

/// The directory holding `initdb` and `pg_ctl`: on the PATH, or Debian's
/// `/usr/lib/postgresql/<version>/bin`.
fn bin_dir() -> PathBuf {
    if let Ok(output) = Command::new("sh")
        .args(["-c", "command -v initdb"])
        .output()
        && output.status.success()
    {
        let path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if let Some(dir) = path.parent() {
            return dir.to_path_buf();
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    found.sort();
    found
        .pop()
        .expect("PostgreSQL is not installed (.ci/run installs it)")
}

fn uid_of(user: &str) -> Option<(u32, u32)> {
    let uid = Command::new("id").args(["-u", user]).output().ok()?;
    let gid = Command::new("id").args(["-g", user]).output().ok()?;
    let parse = |out: Vec<u8>| String::from_utf8_lossy(&out).trim().parse().ok();
    Some((parse(uid.stdout)?, parse(gid.stdout)?))
}

impl Postgres {
    /// Initialises and starts a server; returns once it accepts connections.
    pub fn start() -> Self {
        let bin = bin_dir();
        let dir = tempfile::tempdir().expect("temp dir");
        let is_root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout == b"0\n")
            .unwrap_or(false);
        if is_root {
            let (uid, gid) = uid_of("postgres").expect("a postgres user");
            chown(dir.path(), Some(uid), Some(gid)).expect("chown");
        }
        let mut server = Self {
            port: super::free_port(),
            dir,
            bin,
            as_postgres: is_root,
        };
        let data = server.data();
        let status = server
            .command("initdb")
            .args([
                "-D",
                data.to_str().unwrap_or_default(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ])
            .output()
            .expect("initdb");
        assert!(
            status.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        // The port is picked before the server binds it: another process
        // may take it meanwhile, so a failed start tries another port.
        let log = server.dir.path().join("server.log");
        let mut failure = String::new();
        for _ in 0..5 {
            let options = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                server.port,
                server.dir.path().display()
            );
            let started = server
                .command("pg_ctl")
                .args([
                    "-D",
                    data.to_str().unwrap_or_default(),
                    "-o",
                    &options,
                    "-l",
                ])
                .arg(&log)
                .args(["-w", "-t", "60", "start"])
                .output()
                .expect("pg_ctl");
            if started.status.success() {
                return server;
            }
            failure = format!(
                "{}{}",
                String::from_utf8_lossy(&started.stderr),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            server.port = super::free_port();
        }
        panic!("pg_ctl start: {failure}");
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    /// A libpq-style connection string for tokio-postgres.
    pub fn connection_string(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres",
            self.port
        )
    }

    /// The directory of the server (for its log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .command("pg_ctl")
            .args([
                "-D",
                data.to_str().unwrap_or_default(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .output();
    }
}
