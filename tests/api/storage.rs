//! Storage end to end with the real binary: two processes on one Redis,
//! the embedded store surviving SIGKILL, moving a store with export and
//! import, and the admin listing.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use futures::future::join_all;
use serde_json::{Value, json};

use crate::common::app::OPERATOR_KEY;
use crate::common::process::{Tessera, output_within_30s, tessera, wait_status};
use crate::common::{RedisServer, spawn_app};

pub(crate) const KEY: &str = "storage-test-key-0123456789abcdefgh";

/// Starts the binary in `dir` with `envs`; returns it and its base URL.
pub(crate) async fn serve(dir: &Path, envs: &[(&str, String)]) -> (Tessera, String) {
    let mut command = tessera(dir);
    command
        .env("TESSERA_LISTEN", "127.0.0.1:0")
        .env("TESSERA_API_KEY", KEY);
    for (name, value) in envs {
        command.env(name, value);
    }
    let process = Tessera::spawn(command);
    let base = process.listening_base();
    let ready = wait_status(&format!("{base}/readyz"), 200, Duration::from_secs(15)).await;
    assert_eq!(ready, 200, "{}", process.stderr());
    (process, base)
}

async fn get_user(
    client: &reqwest::Client,
    base: &str,
    body: &Value,
) -> Result<(u16, Value), reqwest::Error> {
    let response = client
        .post(format!("{base}/api/user"))
        .header("Authorization", format!("Token {KEY}"))
        .json(body)
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_it_runs_on_the_embedded_store_and_holds_its_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let (mut first, base) = serve(dir.path(), &[]).await;
    let (status, body) = get_user(&client, &base, &json!({"user_group_id": "g"}))
        .await
        .unwrap();
    assert_eq!(
        (status, body["user_group"]["team_id"].as_u64()),
        (200, Some(1))
    );
    assert!(
        dir.path().join("data").is_dir(),
        "data/ is the default data directory"
    );

    let second = output_within_30s({
        let mut command = tessera(dir.path());
        command.env("TESSERA_LISTEN", "127.0.0.1:0");
        command
    });
    assert_eq!(second.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("in use by another process"), "{stderr}");

    assert!(first.terminate().success());
    let (_again, base) = serve(dir.path(), &[]).await;
    let (_, body) = get_user(&client, &base, &json!({"user_group_id": "g"}))
        .await
        .unwrap();
    assert_eq!(
        body["new_user_group"], false,
        "the group survived the restart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_redis_create_each_id_once() {
    let redis = RedisServer::start();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Instances of one store share one KEK.
    let env = [
        ("TESSERA_REDIS_URL", redis.url()),
        (
            "TESSERA_KEK",
            "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE".to_owned(),
        ),
    ];
    let (_a, base_a) = serve(dir_a.path(), &env).await;
    let (_b, base_b) = serve(dir_b.path(), &env).await;
    let client = reqwest::Client::new();

    let calls: Vec<(String, Value)> = (0..50)
        .flat_map(|i| {
            let body = json!({"user_group_id": format!("shared-{i}")});
            [
                (base_a.clone(), body.clone()),
                (base_b.clone(), body.clone()),
                (base_a.clone(), body.clone()),
                (base_b.clone(), body),
            ]
        })
        .collect();
    let answers = join_all(
        calls
            .iter()
            .map(|(base, body)| get_user(&client, base, body)),
    )
    .await;
    let mut created: HashMap<String, usize> = HashMap::new();
    let mut teams: HashMap<String, HashSet<u64>> = HashMap::new();
    for answer in answers {
        let (status, body) = answer.unwrap();
        assert_eq!(status, 200, "{body}");
        let id = body["user_group"]["provided_id"]
            .as_str()
            .unwrap()
            .to_owned();
        *created.entry(id.clone()).or_default() += usize::from(body["new_user_group"] == true);
        teams
            .entry(id)
            .or_default()
            .insert(body["user_group"]["team_id"].as_u64().unwrap());
    }
    assert_eq!(created.len(), 50);
    assert!(created.values().all(|n| *n == 1), "{created:?}");
    assert!(teams.values().all(|t| t.len() == 1), "{teams:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_store_keeps_every_acknowledged_write_through_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let (mut process, base) = serve(dir.path(), &[]).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    // Writers keep creating groups; the server is killed while they run.
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let writers: Vec<_> = (0..8)
        .map(|writer| {
            let (client, base, acknowledged) = (client.clone(), base.clone(), acknowledged.clone());
            tokio::spawn(async move {
                for i in 0.. {
                    let id = format!("w{writer}-{i}");
                    let body = json!({"user_group_id": id, "properties": {"tenant": id, "n": i}});
                    match get_user(&client, &base, &body).await {
                        Ok((200, answer)) => acknowledged.lock().unwrap().push((id, answer)),
                        _ => break,
                    }
                }
            })
        })
        .collect();
    // Kill it mid-stream, once enough writes were acknowledged.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while acknowledged.lock().unwrap().len() < 50 {
        assert!(
            std::time::Instant::now() < deadline,
            "the writers never got going"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = Command::new("kill")
        .arg("-KILL")
        .arg(process.pid().to_string())
        .status();
    for writer in writers {
        writer.await.unwrap();
    }
    let _ = process.terminate();
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() > 20,
        "only {} writes before the kill",
        acknowledged.len()
    );

    let (_again, base) = serve(dir.path(), &[]).await;
    for (id, answer) in &acknowledged {
        let (status, now) = get_user(&client, &base, &json!({"user_group_id": id}))
            .await
            .unwrap();
        assert_eq!(status, 200, "{id}: {now}");
        assert_eq!(
            now["new_user_group"], false,
            "{id} was acknowledged but lost"
        );
        assert_eq!(
            now["user_group"]["team_id"],
            answer["user_group"]["team_id"]
        );
        assert_eq!(
            now["user_group"]["properties"],
            answer["user_group"]["properties"]
        );
    }
    let listed: Value = client
        .get(format!("{base}/api/users?limit=1000"))
        .header("Authorization", format!("Token {KEY}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for group in listed["user_groups"].as_array().unwrap() {
        let id = group["provided_id"].as_str().unwrap();
        assert_eq!(
            group["properties"]["tenant"], id,
            "a partial record: {group}"
        );
    }
}

fn export(dir: &Path, envs: &[(&str, String)]) -> String {
    let output = output_within_30s({
        let mut command = tessera(dir);
        command.arg("export");
        for (name, value) in envs {
            command.env(name, value);
        }
        command
    });
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut lines: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines.join("\n")
}

fn import(
    dir: &Path,
    envs: &[(&str, String)],
    input: &str,
    extra: &[&str],
) -> std::process::Output {
    let file = dir.join("import.jsonl");
    std::fs::write(&file, input).unwrap();
    output_within_30s({
        let mut command = tessera(dir);
        command
            .arg("import")
            .args(extra)
            .stdin(std::fs::File::open(&file).unwrap());
        for (name, value) in envs {
            command.env(name, value);
        }
        command
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_import_move_an_embedded_store_into_redis() {
    let dir = tempfile::tempdir().unwrap();
    let (mut process, base) = serve(dir.path(), &[]).await;
    let client = reqwest::Client::new();
    for i in 0..30 {
        let body = json!({"user_group_id": format!("g{i}"), "name": format!("Group {i}"), "mapping": {"1": i}, "properties": {"i": i}});
        assert_eq!(get_user(&client, &base, &body).await.unwrap().0, 200);
    }
    let revoked = client
        .post(format!("{base}/api/user/g3/revoke"))
        .header("Authorization", format!("Token {KEY}"))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 200);
    assert!(process.terminate().success());

    let embedded = export(dir.path(), &[]);
    assert_eq!(embedded.lines().count(), 30);
    let redis = RedisServer::start();
    let to_redis = [("TESSERA_REDIS_URL", redis.url())];
    let bad = format!("{}\n{{\"team_id\": 0}}\n", embedded.lines().next().unwrap());
    let refused = import(dir.path(), &to_redis, &bad, &[]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("line 2"),
        "the bad line is named"
    );
    assert_eq!(
        export(dir.path(), &to_redis),
        "",
        "nothing of a bad file is imported"
    );

    let imported = import(dir.path(), &to_redis, &embedded, &[]);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    assert_eq!(
        export(dir.path(), &to_redis),
        embedded,
        "both exports are identical"
    );

    let again = import(
        dir.path(),
        &to_redis,
        &embedded.replace("\"Group 1\"", "\"Renamed\""),
        &[],
    );
    assert!(
        !again.status.success(),
        "a conflicting record is refused without --overwrite"
    );
    let overwritten = import(
        dir.path(),
        &to_redis,
        &embedded.replace("\"Group 1\"", "\"Renamed\""),
        &["--overwrite"],
    );
    assert!(overwritten.status.success());
    assert!(export(dir.path(), &to_redis).contains("\"Renamed\""));

    let (_redis_served, base) = serve(dir.path(), &to_redis).await;
    let (_, fresh) = get_user(&client, &base, &json!({"user_group_id": "new"}))
        .await
        .unwrap();
    assert!(
        fresh["user_group"]["team_id"].as_u64().unwrap() > 30,
        "the counter moved past the imported ids"
    );
    let (_, g3) = get_user(&client, &base, &json!({"user_group_id": "g3"}))
        .await
        .unwrap();
    assert_eq!(
        crate::common::app::jwt_part(g3["user_group"]["token"].as_str().unwrap(), 1)["gen"],
        2
    );
}

#[tokio::test]
async fn the_admin_listing_pages_without_tokens() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    for i in 0..7 {
        app.get_user(&json!({"user_group_id": format!("g{i}")}))
            .await;
    }
    let list = |query: &str| {
        let request = app
            .client
            .get(format!("{}/api/users{query}", app.base))
            .header("Authorization", format!("Token {OPERATOR_KEY}"));
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let (status, first) = list("?limit=3").await;
    assert_eq!(status, 200);
    let page: Vec<_> = first["user_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["provided_id"].clone())
        .collect();
    assert_eq!(page, vec!["g0", "g1", "g2"]);
    assert!(
        first["user_groups"][0].get("token").is_none(),
        "no tokens in a listing"
    );
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let (_, second) = list(&format!("?limit=3&cursor={cursor}")).await;
    assert_eq!(second["user_groups"][0]["provided_id"], "g3");
    let (_, rest) = list(&format!(
        "?limit=1000&cursor={}",
        second["next_cursor"].as_str().unwrap()
    ))
    .await;
    assert_eq!(rest["user_groups"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_cursor"], Value::Null);
    // A last page that is exactly full says it is the last.
    let (_, exact) = list(&format!("?limit=4&cursor={cursor}")).await;
    assert_eq!(exact["user_groups"].as_array().unwrap().len(), 4);
    assert_eq!(exact["next_cursor"], Value::Null, "{exact}");
    let (_, everything) = list("?limit=7").await;
    assert_eq!(everything["next_cursor"], Value::Null);
    let (_, all) = list("").await;
    assert_eq!(
        all["user_groups"].as_array().unwrap().len(),
        7,
        "default limit 100"
    );
    let (_, capped) = list("?limit=5000").await;
    assert_eq!(
        capped["user_groups"].as_array().unwrap().len(),
        7,
        "limit is capped, not refused"
    );

    for bad in [
        "?limit=0",
        "?limit=x",
        "?cursor=abc",
        "?cursor=0",
        "?page=2",
    ] {
        let (status, body) = list(bad).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("invalid_request")),
            "{bad}"
        );
    }
    let anonymous = app
        .client
        .get(format!("{}/api/users", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
}

/// `data/` and `keys/` are 0700 and their files 0600, whatever the umask.
#[tokio::test]
async fn data_and_keys_are_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let mut command = crate::common::process::tessera_after(dir.path(), "umask 000");
    command
        .env("TESSERA_LISTEN", "127.0.0.1:0")
        .env("TESSERA_API_KEY", KEY);
    let process = Tessera::spawn(command);
    let base = process.listening_base();
    assert_eq!(
        wait_status(&format!("{base}/readyz"), 200, Duration::from_secs(15)).await,
        200
    );
    let mode = |path: &str| {
        std::fs::metadata(dir.path().join(path))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("data"), 0o700);
    assert_eq!(mode("data/tessera.redb"), 0o600);
    assert_eq!(mode("data/LOCK"), 0o600);
    assert_eq!(mode("keys"), 0o700);
    for entry in std::fs::read_dir(dir.path().join("keys")).unwrap() {
        let path = entry.unwrap().path();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
}

/// A running embedded service is backed up through the online export, and
/// `tessera import` restores it elsewhere; the offline export says what to
/// do while the service holds the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_embedded_service_is_backed_up_online() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    // A bulk load from one backend key: the per-key limit is turned off.
    let (_service, base) = serve(dir.path(), &[("TESSERA_RATE_LIMIT_ADMIN", "0".to_owned())]).await;
    for i in 0..1203 {
        let (status, _) = get_user(
            &client,
            &base,
            &json!({"user_group_id": format!("g{i}"), "properties": {"n": i}}),
        )
        .await
        .unwrap();
        assert_eq!(status, 200);
    }

    let offline = output_within_30s({
        let mut command = tessera(dir.path());
        command.arg("export");
        command
    });
    assert_eq!(offline.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&offline.stderr);
    assert!(stderr.contains("/api/users/export"), "{stderr}");

    let unauthorized = client
        .get(format!("{base}/api/users/export"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status().as_u16(), 401);
    let response = client
        .get(format!("{base}/api/users/export"))
        .header("Authorization", format!("Token {KEY}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/jsonl");
    let text = response.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1203, "every group, across pages");
    let first: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(
        (first["team_id"].as_u64(), first["gen"].as_u64()),
        (Some(1), Some(1))
    );

    // The same lines restore into another store.
    let redis = RedisServer::start();
    let restore_dir = tempfile::tempdir().unwrap();
    let mut command = tessera(restore_dir.path());
    command
        .env("TESSERA_REDIS_URL", redis.url())
        .arg("import")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("1203 written"));
}
