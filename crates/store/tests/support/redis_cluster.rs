//! A Redis Cluster of a test's own: three masters with one replica each, six `redis-server`
//! processes without persistence on free loopback ports (data and cluster-bus ports both picked
//! by binding port 0), in a temporary directory; every process is killed when it is dropped.
//! Shared by the store's tests and the binary's (`tests/it/redis_cluster.rs` includes it).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a node may miss pings before it is deemed failed (`cluster-node-timeout`): short, so
/// that a failover in a test takes seconds.
pub const NODE_TIMEOUT_MS: u64 = 1000;

pub struct RedisCluster {
    nodes: Vec<Node>,
    dir: tempfile::TempDir,
}

struct Node {
    port: u16,
    child: Option<Child>,
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            n.kill();
        }
    }
}

impl Node {
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn bin(name: &str) -> PathBuf {
    ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{name} is missing (installed by bash scripts/ci-install.sh)"))
}

/// `n` distinct free loopback ports: the listeners are held until all are picked.
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("a free port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local address").port())
        .collect()
}

impl RedisCluster {
    /// Starts the six nodes, makes the cluster (`redis-cli --cluster create … --cluster-replicas
    /// 1`) and waits until every node says `cluster_state:ok` and every replica is in sync.
    /// A port taken by another process meanwhile makes the whole cluster start again on others.
    pub fn start() -> RedisCluster {
        let mut last = String::new();
        for _ in 0..5 {
            match RedisCluster::try_start() {
                Ok(c) => return c,
                Err(e) => last = e,
            }
        }
        panic!("no Redis Cluster could be started: {last}");
    }

    fn try_start() -> Result<RedisCluster, String> {
        let ports = free_ports(12);
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mut cluster = RedisCluster {
            nodes: Vec::new(),
            dir,
        };
        for pair in ports.chunks(2) {
            let (port, bus) = (pair[0], pair[1]);
            let child = Command::new(bin("redis-server"))
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--cluster-enabled", "yes", "--cluster-port", &bus.to_string()])
                .arg("--cluster-config-file")
                .arg(cluster.dir.path().join(format!("nodes-{port}.conf")))
                .args(["--cluster-node-timeout", &NODE_TIMEOUT_MS.to_string()])
                .args(["--appendonly", "no", "--save", ""])
                .arg("--dir")
                .arg(cluster.dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("start redis-server: {e}"))?;
            cluster.nodes.push(Node {
                port,
                child: Some(child),
            });
        }
        for n in &cluster.nodes {
            let port = n.port;
            cluster.wait(
                &format!("node {port} answers PING"),
                Duration::from_secs(10),
                |c| c.cli(port, &["PING"]).trim() == "PONG",
            )?;
        }
        let mut create = Command::new(bin("redis-cli"));
        create.arg("--cluster").arg("create");
        for n in &cluster.nodes {
            create.arg(format!("127.0.0.1:{}", n.port));
        }
        let out = create
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("redis-cli --cluster create: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "redis-cli --cluster create failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        cluster.wait_ok(Duration::from_secs(30))?;
        Ok(cluster)
    }

    /// `redis-cli -p port args…`, its standard output ("" when it could not run).
    pub fn cli(&self, port: u16, args: &[&str]) -> String {
        Command::new(bin("redis-cli"))
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    fn wait(&self, what: &str, within: Duration, done: impl Fn(&RedisCluster) -> bool) -> Result<(), String> {
        let deadline = Instant::now() + within;
        while !done(self) {
            if Instant::now() > deadline {
                return Err(format!("not within {within:?}: {what}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// The ports of the nodes still running.
    pub fn running(&self) -> Vec<u16> {
        self.nodes
            .iter()
            .filter(|n| n.child.is_some())
            .map(|n| n.port)
            .collect()
    }

    /// Waits until every running node says `cluster_state:ok`, knows three masters that serve
    /// slots, and every running replica's link to its master is up.
    pub fn wait_ok(&self, within: Duration) -> Result<(), String> {
        self.wait("the cluster is ok on every node", within, |c| {
            c.running().iter().all(|&p| {
                let info = c.cli(p, &["CLUSTER", "INFO"]);
                let replication = c.cli(p, &["INFO", "replication"]);
                info.contains("cluster_state:ok")
                    && c.masters_seen_by(p).len() == 3
                    && (replication.contains("role:master") || replication.contains("master_link_status:up"))
            })
        })
    }

    /// The ports of the masters that serve slots, as node `port` sees them (`CLUSTER NODES`).
    fn masters_seen_by(&self, port: u16) -> Vec<u16> {
        let mut masters: Vec<u16> = self
            .cli(port, &["CLUSTER", "NODES"])
            .lines()
            .filter_map(|line| {
                let f: Vec<&str> = line.split_whitespace().collect();
                let serves = f.len() > 8;
                let master = f
                    .get(2)
                    .is_some_and(|flags| flags.contains("master") && !flags.contains("fail"));
                let addr = f.get(1)?.split('@').next()?;
                let port = addr.rsplit(':').next()?.parse().ok()?;
                (serves && master).then_some(port)
            })
            .collect();
        masters.sort();
        masters
    }

    /// The port of the master that serves `slot` now.
    pub fn master_of_slot(&self, slot: u16) -> Option<u16> {
        let port = *self.running().first()?;
        self.cli(port, &["CLUSTER", "NODES"]).lines().find_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let flags = f.get(2)?;
            if !flags.contains("master") || flags.contains("fail") {
                return None;
            }
            let serves = f.iter().skip(8).any(|range| {
                let (a, b) = range.split_once('-').unwrap_or((range, range));
                matches!((a.parse::<u16>(), b.parse::<u16>()), (Ok(a), Ok(b)) if a <= slot && slot <= b)
            });
            let addr = f.get(1)?.split('@').next()?;
            serves.then(|| addr.rsplit(':').next()?.parse().ok()).flatten()
        })
    }

    /// The cluster's URL for vestibule: every node (the client needs one that answers, and
    /// learns the rest from it).
    pub fn url(&self) -> String {
        let nodes: Vec<String> = self.running().iter().map(|p| format!("127.0.0.1:{p}")).collect();
        format!("redis+cluster://{}", nodes.join(","))
    }

    /// kill -9 the node on `port`.
    pub fn kill9(&mut self, port: u16) {
        for n in &mut self.nodes {
            if n.port == port {
                n.kill();
            }
        }
    }
}
