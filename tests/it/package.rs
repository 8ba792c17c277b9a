//! The packaging, checked as an operator would meet it: the Debian package built by cargo-deb
//! over the tests' own binary, installed with dpkg, its files, user, data directory and systemd
//! unit checked, the installed binary started as the `vestibule` user with the installed
//! configuration, and the package purged; the packaged configuration kept equal to the example
//! by its one rule; the Dockerfile linted with hadolint and checked for what matters.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::ops::tool;
use crate::common::{repo_root, ADMIN_PASSWORD};

/// The packaged configuration, installed as /etc/vestibule/vestibule.toml.
const PACKAGED_CONFIG: &str = "packaging/debian/vestibule.toml";
/// The rule that makes it from the example: the data directory's line, set to the package's.
const EXAMPLE_DATA_DIR: &str = "# data_dir = \"./vestibule-data\"";
const PACKAGED_DATA_DIR: &str = "data_dir = \"/var/lib/vestibule\"";
/// The same rule as a command (docs/operations.md, "Packaging").
const REFRESH: &str = "sed 's|^# data_dir = \"./vestibule-data\"$|data_dir = \"/var/lib/vestibule\"|' \
                       vestibule.example.toml > packaging/debian/vestibule.toml";

fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `cmd`, panicking with its output unless it succeeds; its stdout.
fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: cannot run: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}\n{}", out.status, text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_packaged_configuration_is_the_example_with_the_data_directory_set() {
    let example = read(repo_root().join("vestibule.example.toml"));
    assert_eq!(
        example.lines().filter(|l| *l == EXAMPLE_DATA_DIR).count(),
        1,
        "vestibule.example.toml should name its data directory once as `{EXAMPLE_DATA_DIR}`; \
         change the rule here and in docs/operations.md with it"
    );
    let want: String = example
        .lines()
        .map(|l| {
            if l == EXAMPLE_DATA_DIR {
                PACKAGED_DATA_DIR
            } else {
                l
            }
        })
        .flat_map(|l| [l, "\n"])
        .collect();
    let have = read(repo_root().join(PACKAGED_CONFIG));
    let first_difference = want
        .lines()
        .zip(have.lines())
        .position(|(w, h)| w != h)
        .map_or("a different length".to_string(), |i| format!("line {}", i + 1));
    assert!(
        have == want,
        "{PACKAGED_CONFIG} is not vestibule.example.toml with its data directory set (first \
         difference: {first_difference}); refresh it with\n  {REFRESH}"
    );
    // And it is a configuration the binary accepts as it is.
    let out = Command::new(env!("CARGO_BIN_EXE_vestibule"))
        .env_clear()
        .args(["check-config"])
        .arg(repo_root().join(PACKAGED_CONFIG))
        .output()
        .expect("run check-config");
    assert!(out.status.success(), "check-config: {}", text(&out));
}

/// `[Section]` → key → values (a key may repeat, as `SystemCallFilter=` does).
type Unit = BTreeMap<String, BTreeMap<String, Vec<String>>>;

fn parse_unit(unit: &str) -> Unit {
    let mut parsed = Unit::new();
    let mut section = String::new();
    for line in unit.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not a key=value line in the unit: {line}"));
        parsed
            .entry(section.clone())
            .or_default()
            .entry(key.trim().to_string())
            .or_default()
            .push(value.trim().to_string());
    }
    parsed
}

/// The unit's hardening and the command it runs; the flags of that command are the binary's own
/// (the test below starts the installed binary with them).
fn check_unit(unit: &Unit) {
    let service = unit.get("Service").expect("a [Service] section");
    let one = |key: &str| -> &str {
        match service.get(key).map(Vec::as_slice) {
            Some([value]) => value,
            other => panic!("[Service] {key}: want one value, found {other:?}"),
        }
    };
    assert_eq!(
        one("ExecStart"),
        "/usr/bin/vestibule serve --config /etc/vestibule/vestibule.toml"
    );
    // SIGHUP reloads the TLS certificate and never stops the server (tests/it/ops_tls.rs).
    assert_eq!(one("ExecReload"), "/bin/kill -HUP $MAINPID");
    for (key, want) in [
        ("User", "vestibule"),
        ("Group", "vestibule"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ReadWritePaths", "/var/lib/vestibule"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("PrivateMounts", "yes"),
        ("CapabilityBoundingSet", ""),
        ("AmbientCapabilities", ""),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("RestrictNamespaces", "yes"),
        ("RestrictSUIDSGID", "yes"),
        ("LockPersonality", "yes"),
        ("MemoryDenyWriteExecute", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectControlGroups", "yes"),
        ("SystemCallArchitectures", "native"),
    ] {
        assert_eq!(one(key), want, "[Service] {key}");
    }
    assert_eq!(
        service.get("SystemCallFilter").map(Vec::as_slice),
        Some(&["@system-service".to_string(), "~@privileged".to_string()][..])
    );
    assert_eq!(
        unit.get("Install")
            .and_then(|i| i.get("WantedBy"))
            .map(Vec::as_slice),
        Some(&["multi-user.target".to_string()][..])
    );
}

#[test]
fn the_systemd_unit_is_hardened_and_runs_serve_with_the_installed_configuration() {
    check_unit(&parse_unit(&read(
        repo_root().join("packaging/debian/vestibule.service"),
    )));
}

/// `getent DATABASE NAME`'s fields, or `None` when there is no such entry.
fn getent(database: &str, name: &str) -> Option<Vec<String>> {
    let out = Command::new("getent")
        .args([database, name])
        .output()
        .expect("run getent");
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .split(':')
            .map(str::to_string)
            .collect()
    })
}

fn installed_status() -> String {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${Status}", "vestibule"])
        .output()
        .expect("run dpkg-query");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Purges the package when the test ends before its own purge (a failed assertion).
struct Purge {
    done: bool,
}

impl Drop for Purge {
    fn drop(&mut self) {
        if !self.done {
            let _ = Command::new("dpkg").args(["--purge", "vestibule"]).output();
        }
    }
}

/// A command run as the package's user, as systemd's `User=`/`Group=` would.
fn as_vestibule(program: &str) -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.args([
        "--reuid",
        "vestibule",
        "--regid",
        "vestibule",
        "--init-groups",
        program,
    ]);
    cmd.env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("VESTIBULE_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("VESTIBULE_PASSWORD_MEMORY_KIB", "256")
        .env("VESTIBULE_PASSWORD_ITERATIONS", "1");
    cmd
}

#[cfg_attr(
    not(test_deb),
    ignore = "needs cargo-deb, dpkg and root (scripts/ci-install.sh; build.rs sets cfg(test_deb))"
)]
#[test]
fn the_debian_package_installs_starts_as_its_user_and_purges() {
    assert_ne!(
        installed_status(),
        "install ok installed",
        "a vestibule package is installed already; this test installs and purges its own \
         (dpkg --purge vestibule first)"
    );
    assert!(
        getent("passwd", "vestibule").is_none(),
        "a vestibule user exists already; this test's package makes and, on purge, removes it"
    );

    // The package, made from the binary these tests run (no release build).
    let out_dir = tempfile::tempdir().expect("temp dir");
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let built = run(Command::new(cargo)
        .current_dir(repo_root())
        .args([
            "deb",
            "--no-build",
            // A Cargo.lock out of date fails the build here instead of being rewritten.
            "--locked",
            "--profile",
            "dev",
            "--fast",
            "-p",
            "vestibule",
        ])
        .arg("--output")
        .arg(out_dir.path()));
    let debs: Vec<PathBuf> = std::fs::read_dir(out_dir.path())
        .expect("read the output directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "deb"))
        .collect();
    let [deb] = debs.as_slice() else {
        panic!("want one .deb in the output, found {debs:?}; cargo deb said: {built}");
    };
    let depends = run(Command::new("dpkg-deb").arg("--field").arg(deb).arg("Depends"));
    let depends: Vec<&str> = depends
        .split(',')
        .filter_map(|d| d.split_whitespace().next())
        .collect();
    for dep in ["libxmlsec1", "libssl3", "adduser"] {
        assert!(depends.contains(&dep), "Depends should name {dep}: {depends:?}");
    }
    // The container image's runtime installs the same libraries (those dpkg-shlibdeps found the
    // binary linking), but for what debian:bookworm-slim has already.
    let dockerfile = dockerfile_instructions(&read(repo_root().join("Dockerfile")));
    let runtime_from = dockerfile.iter().rposition(|(i, _)| i == "FROM").expect("a FROM");
    let runtime_runs: Vec<&str> = dockerfile[runtime_from..]
        .iter()
        .filter(|(i, _)| i == "RUN")
        .flat_map(|(_, a)| a.split_whitespace())
        .collect();
    for dep in depends {
        if !["adduser", "libc6", "libgcc-s1"].contains(&dep) {
            assert!(
                runtime_runs.contains(&dep),
                "the Dockerfile's runtime stage does not install {dep}, which the binary needs"
            );
        }
    }

    let mut purge = Purge { done: false };
    run(Command::new("dpkg").arg("-i").arg(deb));
    assert_eq!(installed_status(), "install ok installed");

    // Files, conffiles, the unit.
    let files = run(Command::new("dpkg").args(["-L", "vestibule"]));
    let unit_path = files
        .lines()
        .find(|l| l.ends_with("/systemd/system/vestibule.service"))
        .unwrap_or_else(|| panic!("no systemd unit among the package's files:\n{files}"));
    for path in ["/usr/bin/vestibule", "/etc/vestibule/vestibule.toml"] {
        assert!(files.lines().any(|l| l == path), "{path} not in:\n{files}");
    }
    let conffiles = run(Command::new("dpkg-query").args(["-W", "-f", "${Conffiles}", "vestibule"]));
    assert!(
        conffiles.contains("/etc/vestibule/vestibule.toml "),
        "the configuration is a conffile: {conffiles}"
    );
    let binary = std::fs::metadata("/usr/bin/vestibule").expect("/usr/bin/vestibule");
    assert_eq!(binary.permissions().mode() & 0o7777, 0o755);
    let unit = read(unit_path);
    check_unit(&parse_unit(&unit));
    if Path::new("/usr/bin/systemd-analyze").exists() {
        // Offline: no running systemd is needed to check the unit's syntax and its paths.
        let verify = Command::new("systemd-analyze")
            .args(["verify", unit_path])
            .output()
            .expect("run systemd-analyze");
        assert!(
            verify.status.success(),
            "systemd-analyze verify: {}",
            text(&verify)
        );
        // systemd's own exposure score of the unit, 0 (locked down) to 10: at most 2.0 ("OK";
        // 1.4 when written).
        let security = Command::new("systemd-analyze")
            .args(["security", "--offline=true", "--threshold=20", unit_path])
            .output()
            .expect("run systemd-analyze security");
        assert!(
            security.status.success(),
            "systemd-analyze security: exposure above 2.0:\n{}",
            text(&security)
        );
    }

    // The user, its group, the data directory and who may read the configuration.
    let user = getent("passwd", "vestibule").expect("the vestibule user");
    let group = getent("group", "vestibule").expect("the vestibule group");
    let (uid, gid): (u32, u32) = (user[2].parse().expect("uid"), user[3].parse().expect("gid"));
    assert!(uid < 1000, "a system user: uid {uid}");
    assert_eq!(group[2], user[3], "its own group");
    assert_eq!(user[5], "/var/lib/vestibule", "home: {user:?}");
    assert_eq!(user[6], "/usr/sbin/nologin", "shell: {user:?}");
    let data = std::fs::metadata("/var/lib/vestibule").expect("/var/lib/vestibule");
    assert!(data.is_dir());
    assert_eq!((data.uid(), data.gid()), (uid, gid), "/var/lib/vestibule owner");
    assert_eq!(data.permissions().mode() & 0o7777, 0o750);
    let config = std::fs::metadata("/etc/vestibule/vestibule.toml").expect("config");
    assert_eq!((config.uid(), config.gid()), (0, gid), "root:vestibule");
    assert_eq!(config.permissions().mode() & 0o7777, 0o640);
    assert_eq!(
        read("/etc/vestibule/vestibule.toml"),
        read(repo_root().join(PACKAGED_CONFIG))
    );

    // The installed configuration's data directory is usable by the user: migrate makes the
    // embedded store there.
    run(as_vestibule("/usr/bin/vestibule").args(["migrate", "--config", "/etc/vestibule/vestibule.toml"]));
    let made: Vec<_> = std::fs::read_dir("/var/lib/vestibule")
        .expect("read /var/lib/vestibule")
        .filter_map(|e| e.ok())
        .collect();
    assert!(!made.is_empty(), "migrate made no store in /var/lib/vestibule");
    for entry in &made {
        let meta = entry.metadata().expect("metadata");
        assert_eq!(meta.uid(), uid, "{:?} is the user's", entry.path());
    }

    // The unit's command, as its user, on a scratch data directory and a free port.
    let scratch = tempfile::tempdir().expect("temp dir");
    std::os::unix::fs::chown(scratch.path(), Some(uid), Some(gid)).expect("chown scratch");
    let exec_start = parse_unit(&unit)["Service"]["ExecStart"][0].clone();
    let mut words = exec_start.split_whitespace();
    let program = words.next().expect("a program");
    let mut child = as_vestibule(program)
        .args(words)
        .arg("--data-dir")
        .arg(scratch.path())
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the installed vestibule");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let stderr_reader = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
            .join("\n")
    });
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("vestibule listening on ") {
                let _ = tx.send(url.to_string());
            }
        }
    });
    let Ok(base) = rx.recv_timeout(Duration::from_secs(30)) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "the installed vestibule did not start:\n{}",
            stderr_reader.join().unwrap_or_default()
        );
    };
    let status = read(format!("/proc/{}/status", child.id()));
    let real_uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().next())
        .map(str::to_string);
    assert_eq!(real_uid, Some(uid.to_string()), "runs as vestibule");

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (code, body) = runtime.block_on(async {
        let resp = crate::common::client()
            .get(format!("{base}/health/ready"))
            .send()
            .await
            .expect("ask /health/ready");
        let code = resp.status().as_u16();
        (code, resp.text().await.unwrap_or_default())
    });
    assert_eq!(code, 200, "/health/ready: {body}");
    assert!(body.contains("\"ready\""), "{body}");
    // The container's health check command, from the installed binary.
    run(Command::new("/usr/bin/vestibule").args(["healthcheck", "--url", &format!("{base}/health/ready")]));

    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let exit = child.wait().expect("wait");
    let server_stderr = stderr_reader.join().unwrap_or_default();
    assert_eq!(exit.code(), Some(0), "exit after SIGTERM:\n{server_stderr}");
    let store: Vec<_> = std::fs::read_dir(scratch.path())
        .expect("read scratch")
        .filter_map(|e| e.ok())
        .collect();
    assert!(!store.is_empty(), "no store in the scratch directory");
    for entry in &store {
        assert_eq!(entry.metadata().expect("metadata").uid(), uid);
    }

    // Purge: binary, configuration, data, user and group go.
    run(Command::new("dpkg").args(["--purge", "vestibule"]));
    purge.done = true;
    for path in [
        "/usr/bin/vestibule",
        "/etc/vestibule",
        "/var/lib/vestibule",
        unit_path,
    ] {
        assert!(!Path::new(path).exists(), "{path} is left after the purge");
    }
    assert!(getent("passwd", "vestibule").is_none(), "the user is left");
    assert!(getent("group", "vestibule").is_none(), "the group is left");
    assert_ne!(installed_status(), "install ok installed");
}

/// The Dockerfile's instructions, continuation lines joined, comments and parser directives
/// dropped: (INSTRUCTION, arguments).
fn dockerfile_instructions(file: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in file.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (current.is_empty() && trimmed.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                let (word, rest) = current.split_once(' ').unwrap_or((&current, ""));
                out.push((word.to_ascii_uppercase(), rest.trim().to_string()));
                current.clear();
            }
        }
    }
    out
}

#[test]
fn the_dockerfile_passes_hadolint_and_runs_vestibule_unprivileged_with_its_healthcheck() {
    let test = "the Dockerfile test";
    let hadolint = tool(
        "tests/hadolint/.venv/bin/hadolint",
        test,
        "bash scripts/compat-setup.sh",
    );
    run(Command::new(hadolint)
        .current_dir(repo_root())
        .args(["--no-color", "Dockerfile"]));

    let instructions = dockerfile_instructions(&read(repo_root().join("Dockerfile")));
    // Stages: a builder, then the runtime.
    let froms: Vec<usize> = (0..instructions.len())
        .filter(|&i| instructions[i].0 == "FROM")
        .collect();
    assert_eq!(froms.len(), 2, "two stages: {instructions:?}");
    let (builder, runtime) = (&instructions[froms[0]..froms[1]], &instructions[froms[1]..]);
    let rust_version = read(repo_root().join("Cargo.toml"))
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .map(|v| v.trim_matches('"').to_string())
        .expect("rust-version in Cargo.toml");
    assert_eq!(
        builder[0].1,
        format!("rust:{rust_version}-bookworm AS build"),
        "the builder is the Rust of rust-version"
    );
    assert_eq!(runtime[0].1, "debian:bookworm-slim");
    let runs = |stage: &[(String, String)]| -> String {
        stage
            .iter()
            .filter(|(i, _)| i == "RUN")
            .map(|(_, a)| a.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    for dev in [
        "libxmlsec1-dev",
        "libxml2-dev",
        "libclang-dev",
        "libssl-dev",
        "pkg-config",
    ] {
        assert!(runs(builder).contains(dev), "the builder installs {dev}");
    }
    assert!(
        !runs(runtime).contains("-dev"),
        "no -dev package at run time: {}",
        runs(runtime)
    );
    for lib in ["libxmlsec1-openssl", "libxml2", "libssl3", "ca-certificates"] {
        assert!(runs(runtime).contains(lib), "the runtime installs {lib}");
    }
    assert!(
        runtime.iter().any(|(i, a)| i == "COPY"
            && a.starts_with("--from=build ")
            && a.ends_with(" /usr/bin/vestibule")),
        "the runtime copies the built binary: {runtime:?}"
    );

    // Not root: the last USER of the runtime names the user it makes.
    let user = runtime
        .iter()
        .rev()
        .find(|(i, _)| i == "USER")
        .map(|(_, a)| a.clone())
        .expect("a USER in the runtime stage");
    let uid = user.split(':').next().unwrap_or_default();
    assert!(!["", "0", "root"].contains(&uid), "USER {user}");
    assert!(
        runs(runtime).contains(&format!("--uid {uid} ")),
        "the runtime makes user {uid}"
    );
    let volume = runtime
        .iter()
        .find(|(i, _)| i == "VOLUME")
        .map(|(_, a)| a.as_str());
    assert_eq!(volume, Some("[\"/var/lib/vestibule\"]"));
    let expose = runtime
        .iter()
        .find(|(i, _)| i == "EXPOSE")
        .map(|(_, a)| a.as_str());
    assert_eq!(expose, Some("8080"));
    let env = runtime
        .iter()
        .filter(|(i, _)| i == "ENV")
        .map(|(_, a)| a.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        env.contains("VESTIBULE_LISTEN=0.0.0.0:8080")
            && env.contains("VESTIBULE_DATA_DIR=/var/lib/vestibule"),
        "listens on the exposed port, stores in the volume: {env}"
    );

    // The health check is `vestibule healthcheck`, with flags the binary has.
    let healthcheck = runtime
        .iter()
        .find(|(i, _)| i == "HEALTHCHECK")
        .map(|(_, a)| a.clone())
        .expect("a HEALTHCHECK");
    let exec = healthcheck
        .split_once("CMD ")
        .map(|(_, cmd)| cmd)
        .expect("HEALTHCHECK … CMD [...]");
    let argv: Vec<String> = serde_json::from_str(exec).expect("CMD in exec (JSON) form");
    assert_eq!(argv[..2], ["vestibule", "healthcheck"], "{argv:?}");
    let help = run(Command::new(env!("CARGO_BIN_EXE_vestibule")).args(["healthcheck", "--help"]));
    for flag in argv.iter().filter(|a| a.starts_with("--")) {
        assert!(
            help.contains(flag.as_str()),
            "`vestibule healthcheck` has no {flag}:\n{help}"
        );
    }

    let ignore = read(repo_root().join(".dockerignore"));
    for path in ["target", ".git"] {
        assert!(
            ignore.lines().any(|l| l == path),
            ".dockerignore leaves out {path}"
        );
    }
}
