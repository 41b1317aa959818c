//! The embedded store on a full disk and on a read-only one. Each test
//! mounts a small tmpfs of its own (that takes root, as in CI; elsewhere
//! the tests say they were skipped) and runs the real binary with its
//! `data/` there.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::process::{Tessera, output_within_30s, tessera};

const KEY: &str = "full-disk-operator-key-0123456789abcdef";

/// A tmpfs of a given size, unmounted when dropped.
struct SmallDisk {
    root: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts one of `size` (as `mount -o size=` reads it), or `None`
    /// when this process may not mount.
    fn mount(size: &str) -> Option<Self> {
        let root = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700")])
            .arg("tmpfs")
            .arg(root.path())
            .output()
            .is_ok_and(|output| output.status.success());
        if !mounted {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must be able to mount a tmpfs (run as root)"
            );
            eprintln!("skipped: mounting a tmpfs needs root");
            return None;
        }
        Some(Self { root })
    }

    fn path(&self) -> &Path {
        self.root.path()
    }

    /// Fills what is left with a file; returns its path.
    fn fill(&self) -> PathBuf {
        let ballast = self.path().join("ballast");
        let mut file = std::fs::File::create(&ballast).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        loop {
            match file.write(&chunk) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        let _ = file.sync_all();
        ballast
    }

    fn remount(&self, options: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(self.path())
            .status()
            .unwrap();
        assert!(status.success(), "remount {options}");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.root.path())
            .status();
    }
}

/// The service with its data directory on `disk`, keys next to the test.
fn serve(work: &Path, disk: &SmallDisk) -> (Tessera, String) {
    let mut command = tessera(work);
    command
        .env("TESSERA_LISTEN", "127.0.0.1:0")
        .env("TESSERA_DATA_DIR", disk.path().join("data"))
        .env("TESSERA_API_KEY", KEY);
    let process = Tessera::spawn(command);
    let base = process.listening_base();
    (process, base)
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    auth: &str,
    body: Option<&Value>,
) -> (u16, Option<String>, Value) {
    let mut request = client
        .request(method, url)
        .header("authorization", auth)
        .timeout(Duration::from_secs(10));
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("an answer, not a hang");
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    (status, retry, response.json().await.unwrap_or(Value::Null))
}

async fn get_user(client: &reqwest::Client, base: &str, id: &str) -> (u16, Option<String>, Value) {
    let body = json!({"user_group_id": id, "properties": {"tenant": id}, "mapping": {"40": "213"}});
    call(
        client,
        reqwest::Method::POST,
        format!("{base}/api/user"),
        &format!("Token {KEY}"),
        Some(&body),
    )
    .await
}

async fn verify(client: &reqwest::Client, base: &str, token: &str) -> (u16, Value) {
    let (status, _, body) = call(
        client,
        reqwest::Method::POST,
        format!("{base}/api/verify"),
        &format!("Bearer {token}"),
        None,
    )
    .await;
    (status, body)
}

#[tokio::test]
async fn a_full_disk_refuses_writes_keeps_reads_and_recovers_when_space_returns() {
    let Some(disk) = SmallDisk::mount("8m") else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let (mut service, base) = serve(work.path(), &disk);
    let client = reqwest::Client::new();

    // Acknowledged before the disk fills: these must all survive.
    let mut acknowledged: Vec<(String, u64)> = Vec::new();
    let mut tokens = Vec::new();
    for n in 0..20 {
        let id = format!("before-{n}");
        let (status, _, body) = get_user(&client, &base, &id).await;
        assert_eq!(status, 200, "{body}");
        acknowledged.push((id, body["user_group"]["team_id"].as_u64().unwrap()));
        tokens.push(body["user_group"]["token"].as_str().unwrap().to_owned());
    }

    let ballast = disk.fill();
    // The database file may still have free pages: create groups until a
    // write is refused, keeping every one that was acknowledged.
    let mut refused = None;
    for n in 0..20_000 {
        let id = format!("filling-{n}");
        let (status, retry, body) = get_user(&client, &base, &id).await;
        match status {
            200 => acknowledged.push((id, body["user_group"]["team_id"].as_u64().unwrap())),
            _ => {
                refused = Some((status, retry, body));
                break;
            }
        }
    }
    let (status, retry, body) = refused.expect("the disk never filled");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "store_unavailable", "{body}");
    assert!(retry.is_some(), "503 without Retry-After");
    assert!(body["error"]["request_id"].is_string(), "{body}");
    let text = body.to_string();
    assert!(
        !text.contains("os error") && !text.contains("No space"),
        "internal details in {text}"
    );

    // While full: more writes are refused, reads and verification answer.
    for n in 0..3 {
        let (status, _, body) = get_user(&client, &base, &format!("while-full-{n}")).await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["error"]["code"], "store_unavailable");
    }
    for (id, team_id) in acknowledged.iter().take(5) {
        let (status, _, body) = get_user(&client, &base, id).await;
        assert_eq!(
            status,
            200,
            "an unchanged group only reads: {body}\n{}",
            service.stderr()
        );
        assert_eq!(body["user_group"]["team_id"], *team_id);
        assert_eq!(body["new_user_group"], false);
    }
    for token in &tokens {
        let (status, body) = verify(&client, &base, token).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["valid"], true);
    }
    let (status, _, listed) = call(
        &client,
        reqwest::Method::GET,
        format!("{base}/api/users?limit=5"),
        &format!("Token {KEY}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{listed}");

    // Space returns: writes succeed again in the same process.
    std::fs::remove_file(&ballast).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, _, body) = get_user(&client, &base, "after-space-returns").await;
        if status == 200 {
            assert_eq!(body["new_user_group"], true);
            break;
        }
        assert_eq!(status, 503, "{body}");
        assert!(Instant::now() < deadline, "writes never resumed: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Nothing acknowledged was lost or changed, in this process and after
    // a restart on the same file (opened with its integrity check).
    all_there(&client, &base, &acknowledged).await;
    assert_eq!(service.terminate().code(), Some(0), "{}", service.stderr());
    let (_service, base) = serve(work.path(), &disk);
    all_there(&client, &base, &acknowledged).await;
}

async fn all_there(client: &reqwest::Client, base: &str, acknowledged: &[(String, u64)]) {
    for (id, team_id) in acknowledged {
        let (status, _, body) = get_user(client, base, id).await;
        assert_eq!(status, 200, "{id}: {body}");
        assert_eq!(body["new_user_group"], false, "{id} was lost");
        assert_eq!(body["user_group"]["team_id"], *team_id, "{id}");
        assert_eq!(body["user_group"]["properties"]["tenant"], id.as_str());
    }
}

#[test]
fn a_read_only_data_directory_is_a_clear_start_up_error() {
    let Some(disk) = SmallDisk::mount("4m") else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    // A store made earlier, on a file system mounted read-only since.
    {
        let (mut service, _) = serve(work.path(), &disk);
        assert_eq!(service.terminate().code(), Some(0));
    }
    disk.remount("ro");
    let output = output_within_30s({
        let mut command = tessera(work.path());
        command
            .env("TESSERA_LISTEN", "127.0.0.1:0")
            .env("TESSERA_DATA_DIR", disk.path().join("data"))
            .env("TESSERA_API_KEY", KEY);
        command
    });
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("read-only"), "{stderr}");
    assert!(
        stderr.contains("TESSERA_DATA_DIR") || stderr.contains("--data-dir"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&disk.path().join("data").display().to_string()),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
