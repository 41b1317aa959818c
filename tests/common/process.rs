//! The real `tessera` binary as a child process, with its output captured.

use std::io::{BufRead as _, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `tessera`; killed when dropped.
pub struct Tessera {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

/// The binary with an empty `TESSERA_*` environment and `dir` as its
/// working directory.
pub fn tessera(dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tessera"));
    command.current_dir(dir);
    for (name, _) in std::env::vars() {
        if name.starts_with("TESSERA_") {
            command.env_remove(name);
        }
    }
    command.env("RUST_LOG", "info").stdin(Stdio::null());
    command
}

/// Polls captured output until `found` holds or `limit` passes; returns it.
fn wait_until(text: &Mutex<String>, limit: Duration, found: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + limit;
    loop {
        let now = text.lock().expect("lock").clone();
        if found(&now) || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The binary as [`tessera`] prepares it, started by `sh` after `prelude`
/// (such as `umask 000` or `ulimit -n 128`), which applies to it alone.
pub fn tessera_after(dir: &std::path::Path, prelude: &str) -> Command {
    let plain = tessera(dir);
    let mut command = Command::new("sh");
    command
        .current_dir(dir)
        .args(["-c", &format!("{prelude} && exec \"$0\"")])
        .arg(plain.get_program())
        .stdin(Stdio::null());
    for (name, value) in plain.get_envs() {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    command
}

fn capture(stream: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            let mut text = sink.lock().expect("lock");
            text.push_str(&line);
            text.push('\n');
        }
    });
    text
}

impl Tessera {
    /// Spawns `command` with piped output.
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tessera");
        let stdout = capture(child.stdout.take().expect("stdout"));
        let stderr = capture(child.stderr.take().expect("stderr"));
        Self {
            child,
            stdout,
            stderr,
        }
    }

    /// Everything printed on stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().expect("lock").clone()
    }

    /// Everything printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("lock").clone()
    }

    /// Waits up to `limit` for `stdout` to satisfy `found`.
    pub fn wait_stdout(&self, limit: Duration, found: impl Fn(&str) -> bool) -> String {
        wait_until(&self.stdout, limit, found)
    }

    /// Waits up to `limit` for `stderr` to satisfy `found`.
    pub fn wait_stderr(&self, limit: Duration, found: impl Fn(&str) -> bool) -> String {
        wait_until(&self.stderr, limit, found)
    }

    /// The `http://address` the service logged it listens on (start it
    /// with `TESSERA_LISTEN=127.0.0.1:0`: no port is picked in advance, so
    /// none can be taken meanwhile). Waits up to 15 s.
    pub fn listening_base(&self) -> String {
        let address = |log: &str| {
            log.lines()
                .find(|line| line.contains("tessera listening"))
                .and_then(|line| line.split("address=").nth(1))
                .and_then(|rest| rest.split_whitespace().next())
                .map(str::to_owned)
        };
        let log = self.wait_stderr(Duration::from_secs(15), |log| address(log).is_some());
        let found = address(&log).unwrap_or_else(|| panic!("tessera never listened:\n{log}"));
        format!("http://{found}")
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGHUP (reload the keys).
    pub fn hangup(&self) {
        self.signal("HUP");
    }

    /// Sends the signal named `name` (`TERM`, `HUP`, ...).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// The exit status once the process has ended, if it ends within
    /// `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and waits for the exit status (or returns the status
    /// of a process that already ended).
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        if let Ok(Some(status)) = self.child.try_wait() {
            return status;
        }
        self.signal("TERM");
        self.wait_exit(Duration::from_secs(10))
            .expect("tessera did not stop on SIGTERM")
    }
}

impl Drop for Tessera {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `url` until it answers `status` or `limit` passes; returns the last status.
pub async fn wait_status(url: &str, status: u16, limit: Duration) -> u16 {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + limit;
    loop {
        let got = match client.get(url).timeout(Duration::from_secs(3)).send().await {
            Ok(response) => response.status().as_u16(),
            Err(_) => 0,
        };
        if got == status || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs a command that is expected to exit on its own (a refused start-up,
/// a CLI command), killing it if it is still running after 30 s so that a
/// regression fails the test instead of hanging the suite.
pub fn output_within_30s(mut command: Command) -> std::process::Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tessera");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return child.wait_with_output().expect("output");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let output = child.wait_with_output().expect("output");
    panic!(
        "the command did not exit within 30 s; stderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
