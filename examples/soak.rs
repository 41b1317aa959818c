//! The load side of the soak harness (`bench/soak.sh`): a steady, mixed
//! load on one Tessera for a given time, every call's outcome kept with
//! its time, the service's memory and descriptors sampled, and at the end
//! a summary judged against the fault windows the harness wrote.
//!
//! The mix, per 20 calls: 2 get-user for a new group, 6 for an existing
//! one, 6 verifications, 3 SQL resolutions, 2 refreshes and one revoke
//! round (create a group, revoke it, check its old token is refused:
//! three calls). Every call expects `200`, but the old token after a
//! revoke, which expects `401 token_revoked`. Anything else is an error;
//! no answer within 10 s (a hang) or a reset connection is "unanswered".
//!
//! ```text
//! soak BASE ADMIN_KEY SECONDS RATE FAULTS_FILE PID [WARM]
//! ```
//! `RATE` is calls per second in all; `FAULTS_FILE` holds one fault a
//! line, `START_MS END_MS what` (Unix milliseconds), read at the end;
//! `PID` is the service's process, sampled every 5 s from `/proc`.
//! `WARM` (default 0) distinct tokens are issued and verified before the
//! load starts, so that the service's bounded caches (the verified-token
//! cache holds 10 000 by default) are full before the first minute: the
//! memory comparison is then between two minutes of the steady state, and
//! growth in it is a leak, not a cache filling up. Not part of the
//! service; used by `bench/soak.sh`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// Concurrent callers.
const WORKERS: u64 = 32;
/// Groups created before the load, used by the existing-group, verify,
/// SQL and refresh calls.
const POOL: usize = 500;
/// A call without an answer after this long is a hang.
const HANG: Duration = Duration::from_secs(10);
/// A window is the fault plus this much on each side of its end.
const AFTER_FAULT_MS: u64 = 2_000;

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// One call: when it was sent (Unix ms), what it was, what came back.
struct Call {
    at_ms: u64,
    kind: &'static str,
    /// The HTTP status; 0 when no answer came.
    status: u16,
    /// The error code of the body, "hang" or "reset" without an answer.
    code: String,
    expected: bool,
    micros: u64,
}

/// One `/proc` sample of the service.
struct Sample {
    at_ms: u64,
    rss_kib: u64,
    fds: u64,
}

struct Soak {
    base: String,
    admin: String,
    client: reqwest::Client,
    calls: Mutex<Vec<Call>>,
    tokens: Vec<String>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

impl Soak {
    /// Sends one call and records it; returns the body of a 200.
    async fn call(
        &self,
        kind: &'static str,
        request: reqwest::RequestBuilder,
        expect: (u16, Option<&str>),
    ) -> Option<Value> {
        let at_ms = now_ms();
        let started = Instant::now();
        let (status, code, body) = match request.timeout(HANG).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.json::<Value>().await {
                    Ok(body) => {
                        let code = body["error"]["code"].as_str().unwrap_or("").to_owned();
                        (status, code, Some(body))
                    }
                    Err(err) if err.is_timeout() => (0, "hang".to_owned(), None),
                    Err(_) => (status, "unreadable body".to_owned(), None),
                }
            }
            Err(err) if err.is_timeout() => (0, "hang".to_owned(), None),
            Err(_) => (0, "reset".to_owned(), None),
        };
        let expected = status == expect.0 && expect.1.is_none_or(|wanted| wanted == code);
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(Call {
                at_ms,
                kind,
                status,
                code,
                expected,
                micros,
            });
        }
        body.filter(|_| status == 200)
    }

    fn get_user(&self, id: &str) -> reqwest::RequestBuilder {
        get_user(&self.client, &self.base, &self.admin, id)
    }

    fn bearer(&self, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
    }

    async fn one(&self, worker: u64, n: u64) {
        const OK: (u16, Option<&str>) = (200, None);
        let token =
            &self.tokens[usize::try_from(n * WORKERS + worker).unwrap_or(0) % self.tokens.len()];
        let existing = format!("soak-pool-{}", (n * WORKERS + worker) % POOL as u64);
        match n % 20 {
            0 | 1 => {
                let id = format!("soak-new-{worker}-{n}");
                self.call("get-user new", self.get_user(&id), OK).await;
            }
            2..=7 => {
                self.call("get-user existing", self.get_user(&existing), OK)
                    .await;
            }
            8..=13 => {
                self.call("verify", self.bearer("/api/verify", token), OK)
                    .await;
            }
            14..=16 => {
                let sql = json!({
                    "sql": "SELECT * FROM orders WHERE tenant = {{tenant}} AND region IN ({{regions}})",
                    "dialect": "postgres",
                    "require": ["tenant"],
                });
                self.call(
                    "sql resolve",
                    self.bearer("/api/sql/resolve", token).json(&sql),
                    OK,
                )
                .await;
            }
            17 | 18 => {
                self.call("refresh", self.bearer("/api/token/refresh", token), OK)
                    .await;
            }
            _ => {
                let id = format!("soak-revoke-{worker}-{n}");
                let Some(body) = self.call("revoke: create", self.get_user(&id), OK).await else {
                    return;
                };
                let Some(old) = body["user_group"]["token"].as_str() else {
                    return;
                };
                let revoke = self
                    .client
                    .post(format!("{}/api/user/{id}/revoke", self.base))
                    .header("authorization", format!("Token {}", self.admin));
                if self.call("revoke", revoke, OK).await.is_some() {
                    self.call(
                        "revoke: old token",
                        self.bearer("/api/verify", old),
                        (401, Some("token_revoked")),
                    )
                    .await;
                }
            }
        }
    }
}

/// A get-user call for `id` with a name, a mapping and properties.
fn get_user(
    client: &reqwest::Client,
    base: &str,
    admin: &str,
    id: &str,
) -> reqwest::RequestBuilder {
    client
        .post(format!("{base}/api/user"))
        .header("authorization", format!("Token {admin}"))
        .json(&json!({
            "user_group_id": id,
            "name": format!("Soak {id}"),
            "mapping": {"40": "213", "134": "386"},
            "properties": {"tenant": id, "regions": ["eu", "us"]},
        }))
}

fn sample(pid: &str) -> Option<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count();
    Some(Sample {
        at_ms: now_ms(),
        rss_kib,
        fds: u64::try_from(fds).unwrap_or(u64::MAX),
    })
}

/// The `p`-th percentile (0..=100) of sorted values.
fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn median(values: impl Iterator<Item = u64>) -> f64 {
    let mut values: Vec<u64> = values.collect();
    values.sort_unstable();
    percentile(&values, 50.0) as f64
}

/// Issues `count` tokens (for one group: each call signs a fresh one) and
/// verifies each once, `WORKERS` at a time.
async fn warm_up(
    client: &reqwest::Client,
    base: &str,
    admin: &str,
    count: usize,
) -> Result<(), Failure> {
    use futures::{StreamExt as _, TryStreamExt as _};
    futures::stream::iter(0..count)
        .map(|_| async move {
            let body: Value = get_user(client, base, admin, "soak-warm-up")
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let token = body["user_group"]["token"].as_str().ok_or("no token")?;
            client
                .post(format!("{base}/api/verify"))
                .bearer_auth(token)
                .send()
                .await?
                .error_for_status()?;
            Ok::<(), Failure>(())
        })
        .buffer_unordered(usize::try_from(WORKERS)?)
        .try_collect::<()>()
        .await
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().collect();
    let (base, admin, seconds, rate, faults, pid, warm) = match args.as_slice() {
        [_, base, admin, seconds, rate, faults, pid] => {
            (base, admin, seconds, rate, faults, pid, "0")
        }
        [_, base, admin, seconds, rate, faults, pid, warm] => {
            (base, admin, seconds, rate, faults, pid, warm.as_str())
        }
        _ => return Err("usage: soak BASE ADMIN_KEY SECONDS RATE FAULTS_FILE PID [WARM]".into()),
    };
    let warm: usize = warm.parse()?;
    let seconds: u64 = seconds.parse()?;
    let rate: u64 = rate.parse()?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(usize::try_from(WORKERS)?)
        .build()?;

    // The pool of existing groups and their tokens.
    let mut tokens = Vec::with_capacity(POOL);
    for n in 0..POOL {
        let response = get_user(&client, base, admin, &format!("soak-pool-{n}"))
            .send()
            .await?
            .error_for_status()?;
        let body: Value = response.json().await?;
        let token = body["user_group"]["token"].as_str().ok_or("no token")?;
        tokens.push(token.to_owned());
    }

    let cold = sample(pid);
    warm_up(&client, base, admin, warm).await?;
    if let (Some(cold), Some(warm_sample)) = (cold, sample(pid)) {
        println!(
            "warm-up: {warm} tokens issued and verified; RSS {:.1} MiB before, {:.1} MiB after",
            cold.rss_kib as f64 / 1024.0,
            warm_sample.rss_kib as f64 / 1024.0
        );
    }

    let soak = Arc::new(Soak {
        base: base.clone(),
        admin: admin.clone(),
        client,
        calls: Mutex::new(Vec::new()),
        tokens,
    });
    let started_ms = now_ms();
    let until = Instant::now() + Duration::from_secs(seconds);
    let samples = Arc::new(Mutex::new(Vec::new()));
    let sampler = {
        let samples = samples.clone();
        let pid = pid.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            // The first sample once the load runs, not before it starts.
            tick.tick().await;
            while Instant::now() < until {
                tick.tick().await;
                if let (Some(found), Ok(mut samples)) = (sample(&pid), samples.lock()) {
                    samples.push(found);
                }
            }
        })
    };
    let workers: Vec<_> = (0..WORKERS)
        .map(|worker| {
            let soak = soak.clone();
            tokio::spawn(async move {
                let every = Duration::from_micros(1_000_000 * WORKERS / rate.max(1));
                let mut tick = tokio::time::interval(every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut n = 0;
                while Instant::now() < until {
                    tick.tick().await;
                    soak.one(worker, n).await;
                    n += 1;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await?;
    }
    sampler.await?;

    let windows: Vec<(u64, u64, String)> = std::fs::read_to_string(faults)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, ' ');
            let start = fields.next()?.parse().ok()?;
            let end: u64 = fields.next()?.parse().ok()?;
            Some((
                start,
                end + AFTER_FAULT_MS,
                fields.next().unwrap_or("").to_owned(),
            ))
        })
        .collect();
    let inside = |at: u64| {
        windows
            .iter()
            .any(|(start, end, _)| (*start..=*end).contains(&at))
    };
    let calls = std::mem::take(&mut *soak.calls.lock().map_err(|_| "poisoned")?);
    let samples = std::mem::take(&mut *samples.lock().map_err(|_| "poisoned")?);
    let secs = |at: u64| at.saturating_sub(started_ms) as f64 / 1000.0;

    println!("soak: {seconds} s at {rate} calls/s, {} calls", calls.len());
    println!(
        "\nfaults (window = the fault + {} s):",
        AFTER_FAULT_MS / 1000
    );
    for (start, end, what) in &windows {
        println!("  {:>8.1} s .. {:>8.1} s  {what}", secs(*start), secs(*end));
    }

    let mut by_outcome: BTreeMap<(&str, u16, &str), u64> = BTreeMap::new();
    for call in &calls {
        *by_outcome
            .entry((call.kind, call.status, call.code.as_str()))
            .or_default() += 1;
    }
    println!("\ncalls by outcome (kind, status, code):");
    for ((kind, status, code), count) in &by_outcome {
        println!("  {kind:<20} {status:>3} {code:<20} {count:>9}");
    }

    let errors: Vec<&Call> = calls.iter().filter(|call| !call.expected).collect();
    // Per code, the errors of each second of the run.
    let mut by_code: BTreeMap<String, BTreeMap<u64, (u64, bool)>> = BTreeMap::new();
    for call in &errors {
        let second = by_code
            .entry(format!("{} {}", call.status, call.code))
            .or_default()
            .entry(call.at_ms.saturating_sub(started_ms) / 1000)
            .or_default();
        second.0 += 1;
        second.1 |= !inside(call.at_ms);
    }
    println!(
        "\nerrors by code, per second of the run (\"14s:32\" = 32 errors in second 14; * = outside every fault window):"
    );
    for (code, seconds) in &by_code {
        let total: u64 = seconds.values().map(|(count, _)| count).sum();
        let shown: Vec<String> = seconds
            .iter()
            .map(|(second, (count, outside))| {
                format!("{second}s:{count}{}", if *outside { "*" } else { "" })
            })
            .collect();
        println!("  {code}: {total} ({})", shown.join(" "));
    }

    let errors_outside = errors.iter().filter(|call| !inside(call.at_ms)).count();
    let unanswered_inside = errors
        .iter()
        .filter(|call| call.status == 0 && inside(call.at_ms))
        .count();
    let mut outside: Vec<u64> = calls
        .iter()
        .filter(|call| !inside(call.at_ms))
        .map(|call| call.micros)
        .collect();
    outside.sort_unstable();
    println!(
        "\nlatency outside the fault windows ({} calls): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        outside.len(),
        percentile(&outside, 50.0) as f64 / 1000.0,
        percentile(&outside, 99.0) as f64 / 1000.0,
        outside.last().copied().unwrap_or(0) as f64 / 1000.0
    );

    let minute = |first: bool| -> Vec<&Sample> {
        let (Some(begin), Some(end)) = (samples.first(), samples.last()) else {
            return Vec::new();
        };
        samples
            .iter()
            .filter(|s| {
                if first {
                    s.at_ms <= begin.at_ms + 60_000
                } else {
                    s.at_ms + 60_000 >= end.at_ms
                }
            })
            .collect()
    };
    let (first, last) = (minute(true), minute(false));
    let rss = |set: &[&Sample]| median(set.iter().map(|s| s.rss_kib)) / 1024.0;
    let fds = |set: &[&Sample]| median(set.iter().map(|s| s.fds));
    let growth = if rss(&first) > 0.0 {
        (rss(&last) / rss(&first) - 1.0) * 100.0
    } else {
        0.0
    };
    println!(
        "\nservice (pid {pid}), medians of the samples every 5 s: RSS {:.1} MiB in the first minute, {:.1} MiB in the last ({growth:+.1} %); open descriptors {:.0} then {:.0}",
        rss(&first),
        rss(&last),
        fds(&first),
        fds(&last)
    );
    // The course over the run: the median of each minute.
    let minutes: BTreeMap<u64, Vec<&Sample>> = samples.iter().fold(BTreeMap::new(), |mut by, s| {
        by.entry(s.at_ms.saturating_sub(started_ms) / 60_000)
            .or_insert_with(Vec::new)
            .push(s);
        by
    });
    let course: Vec<String> = minutes
        .iter()
        .map(|(minute, set)| format!("{}:{:.1}/{:.0}", minute + 1, rss(set), fds(set)))
        .collect();
    println!("  by minute (MiB/descriptors): {}", course.join(" "));
    if let (Some(begin), Some(end)) = (samples.first(), samples.last()) {
        println!(
            "  first sample {:.1} MiB, {} fds; last sample {:.1} MiB, {} fds",
            begin.rss_kib as f64 / 1024.0,
            begin.fds,
            end.rss_kib as f64 / 1024.0,
            end.fds
        );
    }

    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!("\ntargets:");
    println!(
        "  errors outside the fault windows: {errors_outside} (target 0) {}",
        verdict(errors_outside == 0)
    );
    println!(
        "  calls without an answer inside them: {unanswered_inside} (target 0) {}",
        verdict(unanswered_inside == 0)
    );
    println!(
        "  RSS growth, first to last minute: {growth:+.1} % (target <= 10 %) {}",
        verdict(growth <= 10.0)
    );
    println!(
        "  descriptor growth: {:+.0} (target 0) {}",
        fds(&last) - fds(&first),
        verdict(fds(&last) <= fds(&first))
    );
    Ok(())
}
