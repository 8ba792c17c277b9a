//! The test kit: starts the real `vestibule` binary on an ephemeral port with its own data
//! directory, and offers clients that behave like the official ones. The submodules are the
//! helpers of one area each: a private slapd (`ldap`), the modeling API (`model`), the
//! MicroStrategy and ThoughtSpot dialects (`mstr`, `ts`), an OpenID provider and a server set up
//! for single sign-on (`oidc`), the operations tools (`ops`), a fresh
//! PostgreSQL database (`pg`), a TCP proxy (`proxy`) and a Redis of a test's own (`redis`).
#![allow(dead_code)]

pub mod announcer;
pub mod ldap;
pub mod model;
pub mod mstr;
pub mod oidc;
pub mod ops;
pub mod pg;
pub mod proxy;
pub mod redis;
pub mod saml;
pub mod ts;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const ADMIN_PASSWORD: &str = "admin-pass";

/// A running `vestibule serve`.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    child: Option<Child>,
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    /// Everything the server wrote to stderr, for tests that read logs.
    pub stderr_lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// The thread copying the running child's stderr into `stderr_lines`; it ends at the pipe's
    /// end, after the child's last line.
    stderr_reader: Option<std::thread::JoinHandle<()>>,
    /// Everything the server wrote to stdout (the audit log by default, the listening line).
    pub stdout_lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stdout_reader: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server with cheap password hashing (tests are not benchmarks) and `extra`
    /// `VESTIBULE_*` settings.
    pub fn start_with(extra: &[(&str, &str)]) -> TestServer {
        TestServer::try_start_with(extra)
            .unwrap_or_else(|stderr| panic!("vestibule did not start; stderr:\n{stderr}"))
    }

    /// As [`TestServer::start_with`], listening on `listen` (for settings that must name the
    /// server's own URL before it starts, such as `sso.public_url`).
    pub fn start_on(listen: &str, extra: &[(&str, &str)]) -> TestServer {
        let mut server = TestServer::unstarted(extra);
        server
            .try_spawn(listen)
            .unwrap_or_else(|stderr| panic!("vestibule did not start; stderr:\n{stderr}"));
        server
    }

    /// As [`TestServer::start_with`], but a server that exits or stays silent is `Err` with its
    /// stderr instead of a panic.
    pub fn try_start_with(extra: &[(&str, &str)]) -> Result<TestServer, String> {
        let mut server = TestServer::unstarted(extra);
        server.try_spawn("127.0.0.1:0")?;
        Ok(server)
    }

    /// `n` servers with the same `extra` settings, spawned together: each from its own thread,
    /// all released at once by a barrier, so every process is running before any is waited for.
    /// Each `Err` holds that server's stderr.
    pub fn start_together(n: usize, extra: &[(&str, &str)]) -> Vec<Result<TestServer, String>> {
        let barrier = std::sync::Barrier::new(n);
        std::thread::scope(|scope| {
            let starts: Vec<_> = (0..n)
                .map(|_| {
                    scope.spawn(|| {
                        let mut server = TestServer::unstarted(extra);
                        barrier.wait();
                        server.try_spawn("127.0.0.1:0").map(|()| server)
                    })
                })
                .collect();
            starts
                .into_iter()
                .map(|s| {
                    s.join()
                        .unwrap_or_else(|_| Err("the starting thread panicked".into()))
                })
                .collect()
        })
    }

    /// A server's data directory and environment, not yet started.
    fn unstarted(extra: &[(&str, &str)]) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut env: Vec<(String, String)> = vec![
            ("VESTIBULE_ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into()),
            ("VESTIBULE_PASSWORD_MEMORY_KIB".into(), "256".into()),
            ("VESTIBULE_PASSWORD_ITERATIONS".into(), "1".into()),
            // Many tests send wrong passwords on purpose from 127.0.0.1; throttling is tested in
            // throttle.rs with its own settings, so it is off here.
            ("VESTIBULE_THROTTLE_ACCOUNT_LOCKOUT_FAILURES".into(), "0".into()),
            ("VESTIBULE_THROTTLE_ADDRESS_LOCKOUT_FAILURES".into(), "0".into()),
            ("VESTIBULE_THROTTLE_BASE_DELAY_MS".into(), "0".into()),
            ("VESTIBULE_LOG_LEVEL".into(), "info".into()),
        ];
        for (k, v) in extra {
            env.retain(|(ek, _)| ek != k);
            env.push((k.to_string(), v.to_string()));
        }
        TestServer {
            base: String::new(),
            child: None,
            dir,
            env,
            stderr_lines: Default::default(),
            stderr_reader: None,
            stdout_lines: Default::default(),
            stdout_reader: None,
        }
    }

    /// A server started on a fresh data directory holding `db_file` as its store (a restored
    /// backup), with `extra` settings.
    pub fn start_restored(db_file: &Path, extra: &[(&str, &str)]) -> TestServer {
        let mut server = TestServer::unstarted(extra);
        std::fs::copy(db_file, server.data_dir().join("vestibule.db")).expect("restore the backup");
        server.try_spawn("127.0.0.1:0").unwrap_or_else(|stderr| {
            panic!("vestibule did not start on the restored store; stderr:\n{stderr}")
        });
        server
    }

    pub fn start() -> TestServer {
        TestServer::start_with(&[])
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The binary with this server's environment and data directory, for CLI commands.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vestibule"));
        cmd.env_clear();
        for key in ["PATH", "HOME", "TMPDIR"] {
            if let Ok(v) = std::env::var(key) {
                cmd.env(key, v);
            }
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        cmd.arg("--data-dir").arg(self.dir.path());
        cmd
    }

    /// Starts the binary on `listen`. The URL comes from the child's own "listening on" line,
    /// which it prints after binding, so the listener at that address is the child's. `Err` (with
    /// the child's stderr) when it exits or stays silent instead.
    fn try_spawn(&mut self, listen: &str) -> Result<(), String> {
        let mut child = self
            .command()
            .args(["serve", "--listen", listen])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start vestibule");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let own_stderr: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
        let (lines, own) = (self.stderr_lines.clone(), own_stderr.clone());
        let (tx, rx) = mpsc::channel();
        let json_tx = tx.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // In JSON mode the listening line is a log line on stderr.
                if let Some(url) = json_listening_url(&line) {
                    let _ = json_tx.send(url);
                }
                own.lock().unwrap().push(line.clone());
                lines.lock().unwrap().push(line);
            }
        });
        let out_lines = self.stdout_lines.clone();
        let stdout_reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("vestibule listening on ") {
                    let _ = tx.send(url.to_string());
                }
                out_lines.lock().unwrap().push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(url) = rx.recv_timeout(Duration::from_millis(20)) {
                self.base = url;
                self.child = Some(child);
                self.stderr_reader = Some(reader);
                self.stdout_reader = Some(stdout_reader);
                return Ok(());
            }
            let exited = matches!(child.try_wait(), Ok(Some(_)));
            if exited || Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                let _ = reader.join();
                return Err(own_stderr.lock().unwrap().join("\n"));
            }
        }
    }

    /// Starts again on this server's port (clients keep their URLs), retrying while the port is
    /// briefly held by another socket.
    fn respawn_on_same_port(&mut self) {
        let port = self.port();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match self.try_spawn(&format!("127.0.0.1:{port}")) {
                Ok(()) => return,
                Err(stderr) if stderr.contains("cannot listen") && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(stderr) => panic!("vestibule did not start again on port {port}; stderr:\n{stderr}"),
            }
        }
    }

    fn port(&self) -> String {
        self.base.rsplit(':').next().unwrap_or("0").to_string()
    }

    /// `host:port` of the listener, for raw TCP requests.
    pub fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }

    /// SIGKILL, then start again on the same port and data directory.
    pub fn kill9_and_restart(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.respawn_on_same_port();
    }

    /// Sends SIGTERM without waiting for the exit (see [`TestServer::wait_exit`]).
    pub fn send_sigterm(&self) {
        let c = self.child.as_ref().expect("running");
        let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
    }

    /// Waits for the server to exit and returns its status.
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        self.child.take().expect("running").wait().expect("wait")
    }

    /// SIGTERM and wait for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        self.send_sigterm();
        self.wait_exit()
    }

    /// SIGTERM, and waits for the exit and for the last line the server wrote: afterwards
    /// [`TestServer::stderr`] and the files it wrote (the audit log) are complete, so a check
    /// that something is absent from them cannot pass early.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let status = self.terminate();
        for reader in [self.stderr_reader.take(), self.stdout_reader.take()]
            .into_iter()
            .flatten()
        {
            let _ = reader.join();
        }
        status
    }

    /// Restarts after a SIGTERM, on the same port and data directory.
    pub fn restart(&mut self) {
        if self.child.is_some() {
            self.terminate();
        }
        self.respawn_on_same_port();
    }

    /// Runs `vestibule ARGS` against this server's data directory, with `stdin` as input.
    pub fn cli(&self, args: &[&str], stdin: &str) -> std::process::Output {
        use std::io::Write;
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run vestibule");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("wait")
    }

    /// Adds a local user with a password through the CLI.
    pub fn add_user(&self, name: &str, password: &str) {
        let out = self.cli(
            &["user", "add", name, "--password-stdin"],
            &format!("{password}\n"),
        );
        assert!(
            out.status.success(),
            "user add failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn stderr(&self) -> String {
        self.stderr_lines.lock().unwrap().join("\n")
    }

    /// The running server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub fn stdout(&self) -> String {
        self.stdout_lines.lock().unwrap().join("\n")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The URL of a JSON log line `{"target":"vestibule::start","fields":{"message":"listening","url":…}}`.
fn json_listening_url(line: &str) -> Option<String> {
    if !line.starts_with('{') {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    if v["target"] != "vestibule::start" || v["fields"]["message"] != "listening" {
        return None;
    }
    v["fields"]["url"].as_str().map(str::to_string)
}

/// A client with a cookie jar, like `requests.Session`.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// A MicroStrategy session as mstrio holds it: the client (with its cookie) and the token.
pub struct MstrSession {
    pub client: reqwest::Client,
    pub token: String,
}

impl MstrSession {
    pub fn get(&self, url: &str) -> reqwest::RequestBuilder {
        self.client.get(url).header("X-MSTR-AuthToken", &self.token)
    }
    pub fn post(&self, url: &str) -> reqwest::RequestBuilder {
        self.client.post(url).header("X-MSTR-AuthToken", &self.token)
    }
    pub fn put(&self, url: &str) -> reqwest::RequestBuilder {
        self.client.put(url).header("X-MSTR-AuthToken", &self.token)
    }
    pub fn delete(&self, url: &str) -> reqwest::RequestBuilder {
        self.client.delete(url).header("X-MSTR-AuthToken", &self.token)
    }
    pub fn patch(&self, url: &str) -> reqwest::RequestBuilder {
        self.client.patch(url).header("X-MSTR-AuthToken", &self.token)
    }
    pub fn request(&self, method: reqwest::Method, url: String) -> reqwest::RequestBuilder {
        self.client
            .request(method, url)
            .header("X-MSTR-AuthToken", &self.token)
    }
}

/// Logs in with loginMode 1 (form-encoded, as mstrio does) and asserts success.
pub async fn mstr_login(server: &TestServer, user: &str, password: &str) -> MstrSession {
    let client = client();
    let resp = client
        .post(server.url("/MicroStrategyLibrary/api/auth/login"))
        .form(&[
            ("loginMode", "1"),
            ("applicationType", "76"),
            ("username", user),
            ("password", password),
        ])
        .send()
        .await
        .expect("login request");
    assert_eq!(resp.status(), 204, "login failed: {:?}", resp.text().await);
    let token = resp.headers()["x-mstr-authtoken"].to_str().unwrap().to_string();
    MstrSession { client, token }
}

/// The JSON body of a response, with its status.
pub async fn json(resp: reqwest::Response) -> (u16, serde_json::Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

/// Sends a request that must reach the server; the response, unchecked.
pub async fn send(req: reqwest::RequestBuilder) -> reqwest::Response {
    req.send().await.unwrap()
}

/// A GET through client `c`: the status and JSON body.
pub async fn fetch_json(c: &reqwest::Client, url: impl reqwest::IntoUrl) -> (u16, serde_json::Value) {
    json(c.get(url).send().await.unwrap()).await
}

/// A GET from a fresh client (no cookies, no headers); the response, unchecked.
pub async fn plain_get(url: impl reqwest::IntoUrl) -> reqwest::Response {
    client().get(url).send().await.unwrap()
}

/// An environment variable naming an external service for backend tests. A test that calls it
/// is `#[ignore]`d where the variable was not set at build time (`cfg(test_postgres)`,
/// `cfg(test_redis)` from build.rs), so here a missing one fails, as it must under `CI=true`.
pub fn backend_url(var: &str, test: &str) -> String {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!("{var} must be set (needed by {test})"),
    }
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// An HTTP/1.1 request written byte for byte to the server's socket, for what HTTP clients refuse
/// to send (control characters in a header, say): `head` is the request line and headers without
/// the blank line; `Content-Length` and `Connection: close` are added. The status and the body.
pub async fn raw_request(server: &TestServer, head: &[u8], body: &[u8]) -> (u16, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.addr())
        .await
        .expect("connect");
    let mut request = head.to_vec();
    request.extend_from_slice(
        format!("\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).as_bytes(),
    );
    request.extend_from_slice(body);
    stream.write_all(&request).await.expect("write request");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read response");
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of headers in {:?}", String::from_utf8_lossy(&answer)));
    let head = String::from_utf8_lossy(&answer[..split]).to_ascii_lowercase();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let mut body = answer[split + 4..].to_vec();
    if head.contains("\r\ntransfer-encoding: chunked") {
        body = unchunk(&body);
    }
    (status, body)
}

/// The payload of a chunked body.
fn unchunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size_text = String::from_utf8_lossy(&rest[..line_end]).to_string();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or_else(|_| panic!("bad chunk size {size_text:?}"));
        rest = &rest[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// Polls `done` every 50 ms until it holds; fails after a generous 20 s naming `what`. Tests
/// wait for a state this way rather than sleeping for a guessed time.
pub async fn wait_for<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `vestibule_sessions_live` gauge: sessions the store holds, expired ones until swept.
pub async fn live_sessions(server: &TestServer) -> f64 {
    let text = send(client().get(server.url("/metrics")))
        .await
        .text()
        .await
        .unwrap();
    let samples = crate::common::ops::parse_prometheus(&text);
    crate::common::ops::sample(&samples, "vestibule_sessions_live").expect("vestibule_sessions_live")
}

/// Waits until the sweep has removed every session: a session is swept only once it has expired,
/// so this observes expiry without a request that would extend a session. The server needs a
/// short `VESTIBULE_SESSION_SWEEP_INTERVAL_SECS`.
pub async fn wait_until_swept(server: &TestServer) {
    wait_for("the sweep to remove every session", || async {
        live_sessions(server).await == 0.0
    })
    .await;
}
