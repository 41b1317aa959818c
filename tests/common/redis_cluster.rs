//! A three-master Redis Cluster of `redis-server` processes on loopback
//! (optionally with a replica per master), started and joined by the test
//! (`redis-cli --cluster create`).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running cluster; every node is killed when dropped.
pub struct RedisCluster {
    nodes: Vec<(u16, Option<Child>)>,
    _dir: tempfile::TempDir,
}

/// A port below 55000 whose cluster bus port (+10000) is free too.
fn cluster_port(taken: &[u16]) -> u16 {
    loop {
        let port = super::free_port();
        if port >= 55_000 || taken.contains(&port) {
            // Ephemeral ports are often above 55000: pick from below instead.
            let candidate = 20_000 + (port % 30_000);
            if !taken.contains(&candidate) && bindable(candidate) && bindable(candidate + 10_000) {
                return candidate;
            }
            continue;
        }
        if bindable(port + 10_000) {
            return port;
        }
    }
}

/// Starts one cluster node on a free port and waits for its `PONG`. A
/// port found free can be taken by another test before the server binds
/// it: a node that exits is started again on another port.
fn spawn_node(dir: &std::path::Path, taken: &[u16]) -> (u16, Child) {
    for _ in 0..10 {
        let port = cluster_port(taken);
        let node_dir = dir.join(port.to_string());
        std::fs::create_dir_all(&node_dir).expect("node dir");
        let mut child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"])
            .args(["--cluster-require-full-coverage", "no"])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .arg("--dir")
            .arg(&node_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server");
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                break;
            }
            let pong = Command::new("redis-cli")
                .args(["-h", "127.0.0.1", "-p", &port.to_string(), "PING"])
                .output()
                .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).contains("PONG"));
            if pong {
                return (port, child);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("no cluster node could be started");
}

fn bindable(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

impl RedisCluster {
    /// Starts three masters and joins them; waits until the cluster is ok.
    pub fn start() -> Self {
        Self::start_with(0)
    }

    /// Three masters with `replicas` replicas each; waits until the
    /// cluster is ok and every replica is in sync with its master.
    pub fn start_with(replicas: usize) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut nodes: Vec<(u16, Option<Child>)> = Vec::new();
        for _ in 0..3 * (1 + replicas) {
            let taken: Vec<u16> = nodes.iter().map(|(port, _)| *port).collect();
            let (port, child) = spawn_node(dir.path(), &taken);
            nodes.push((port, Some(child)));
        }
        let ports: Vec<u16> = nodes.iter().map(|(port, _)| *port).collect();
        let cluster = Self { nodes, _dir: dir };
        let addresses: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .output()
            .expect("redis-cli");
        assert!(
            created.status.success(),
            "cluster create failed: {}",
            String::from_utf8_lossy(&created.stdout)
        );
        for port in &ports {
            cluster.wait_for(*port, "CLUSTER INFO", "cluster_state:ok");
        }
        for port in cluster.replicas() {
            cluster.wait_for(port, "INFO replication", "master_link_status:up");
        }
        cluster
    }

    /// The ports of the nodes that are replicas now.
    pub fn replicas(&self) -> Vec<u16> {
        self.ports()
            .into_iter()
            .filter(|port| self.cli(*port, "ROLE").starts_with("slave"))
            .collect()
    }

    /// Waits until every live replica has received everything its master
    /// acknowledged so far (their replication offsets agree).
    pub fn wait_replicated(&self) {
        let offset = |port: u16, field: &str| -> Option<u64> {
            self.cli(port, "INFO replication")
                .lines()
                .find_map(|line| line.strip_prefix(field))
                .and_then(|value| value.trim().parse().ok())
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        for replica in self.replicas() {
            let master: u16 = self
                .cli(replica, "INFO replication")
                .lines()
                .find_map(|line| line.strip_prefix("master_port:"))
                .and_then(|port| port.trim().parse().ok())
                .expect("a replica names its master");
            let wanted = offset(master, "master_repl_offset:").expect("a master offset");
            while offset(replica, "slave_repl_offset:").is_none_or(|got| got < wanted) {
                assert!(
                    Instant::now() < deadline,
                    "replica {replica} never caught up"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// The port of the replica of the master on `master`.
    pub fn replica_of(&self, master: u16) -> u16 {
        self.replicas()
            .into_iter()
            .find(|replica| {
                self.cli(*replica, "INFO replication")
                    .lines()
                    .any(|line| line.trim() == format!("master_port:{master}"))
            })
            .expect("the master has a replica")
    }

    /// Whether the node on `port` is a master now.
    pub fn is_master(&self, port: u16) -> bool {
        self.cli(port, "ROLE").starts_with("master")
    }

    fn cli(&self, port: u16, command: &str) -> String {
        let output = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args(command.split_whitespace())
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn wait_for(&self, port: u16, command: &str, expected: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.cli(port, command).contains(expected) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("node {port} never answered {command} with {expected}");
    }

    /// `host:port,host:port,host:port`, as TESSERA_REDIS_CLUSTER takes it.
    pub fn nodes(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|(port, _)| format!("127.0.0.1:{port}"))
            .collect()
    }

    /// The port of the master serving `key`.
    pub fn master_of(&self, key: &str) -> u16 {
        let slot: u16 = self
            .cli(self.nodes[0].0, &format!("CLUSTER KEYSLOT {key}"))
            .trim()
            .parse()
            .expect("a slot");
        let shards = self.cli(self.nodes[0].0, "CLUSTER NODES");
        for line in shards.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let port: u16 = fields[1]
                .split(['@', ':'])
                .nth(1)
                .and_then(|p| p.parse().ok())
                .expect("a port");
            for range in &fields[8..] {
                let (low, high) = range.split_once('-').unwrap_or((range, range));
                let (low, high): (u16, u16) = (low.parse().unwrap_or(1), high.parse().unwrap_or(0));
                if (low..=high).contains(&slot) {
                    return port;
                }
            }
        }
        panic!("no master serves slot {slot}");
    }

    /// Kills the node on `port` with SIGKILL.
    pub fn kill(&mut self, port: u16) {
        for (node, child) in &mut self.nodes {
            if *node == port
                && let Some(mut child) = child.take()
            {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    /// The ports of every node started (masters and replicas, live or
    /// killed).
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|(port, _)| *port).collect()
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for (_, child) in &mut self.nodes {
            if let Some(mut child) = child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
