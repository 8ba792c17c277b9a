//! A helper process that prints its base URL as its first stdout line once it listens (the test
//! identity providers, `compat/oidc_idp.mjs` and `compat/saml_idp.mjs`): started, its URL read,
//! its stderr kept for failure messages, killed when dropped.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Announcer {
    child: Child,
    /// The first stdout line, trimmed (`http://127.0.0.1:PORT`).
    pub url: String,
    stderr: Arc<Mutex<String>>,
}

impl Drop for Announcer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Announcer {
    /// Runs `cmd` and waits (60 s at most) for its URL line, which must start with `http://127.0.0.1:`.
    pub fn start(mut cmd: Command, what: &str) -> Announcer {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("run {what}: {e}"));
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().expect("stderr");
        let kept = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = String::new();
            let _ = err.read_to_string(&mut buf);
            kept.lock().unwrap().push_str(&buf);
        });
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut out = BufReader::new(out);
            let mut line = String::new();
            let _ = out.read_line(&mut line);
            let _ = tx.send(line);
            let _ = std::io::copy(&mut out, &mut std::io::sink());
        });
        let line = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
        let started = Announcer {
            child,
            url: line.trim().to_string(),
            stderr,
        };
        assert!(
            started.url.starts_with("http://127.0.0.1:"),
            "{what} did not start: {line:?}\n{}",
            started.stderr()
        );
        started
    }

    /// What it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}
