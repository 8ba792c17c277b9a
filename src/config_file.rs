//! Loading the configuration: defaults ← TOML file ← `VESTIBULE_*` environment (flags are
//! applied by the caller), then [`Config::validate`].
//!
//! Every leaf setting `section.key` can also be given as the environment variable
//! `VESTIBULE_SECTION_KEY` (top-level keys as `VESTIBULE_KEY`).

use std::collections::BTreeMap;
use std::path::Path;

use vestibule_core::config::{Config, ConfigError};

/// Environment variables that start with `VESTIBULE_` but are not settings.
const NOT_SETTINGS: &[&str] = &["VESTIBULE_ADMIN_PASSWORD", "VESTIBULE_CONFIG"];
const NOT_SETTINGS_PREFIXES: &[&str] = &["VESTIBULE_TEST_", "VESTIBULE_BENCH_", "VESTIBULE_COMPAT_"];

fn err<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(msg.into()))
}

/// Defaults, then the TOML file (if any), then `VESTIBULE_*` variables from `env`.
pub fn load(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigError> {
    let mut value = toml::Value::try_from(Config::default())
        .map_err(|e| ConfigError(format!("internal: default configuration: {e}")))?;
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read configuration file {}: {e}", path.display())))?;
        let from_file: toml::Value = text.parse().map_err(|e: toml::de::Error| {
            // The line the parser stopped at, so the person can find it.
            let line = e
                .span()
                .map(|s| {
                    format!(
                        ", line {}",
                        text.get(..s.start).unwrap_or(&text).matches('\n').count() + 1
                    )
                })
                .unwrap_or_default();
            ConfigError(format!(
                "configuration file {}{line}: {}",
                path.display(),
                one_line(e.message())
            ))
        })?;
        merge(&mut value, from_file, "")?;
    }
    apply_env(&mut value, env)?;
    let config: Config = value
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError(format!("configuration: {}", one_line(e.message()))))?;
    config.validate()?;
    vestibule_server::telemetry::check_log_filter(&config.log.level).map_err(ConfigError)?;
    Ok(config)
}

/// The names of every setting as environment variables, with their defaults (the docs test
/// checks each is documented).
#[cfg(test)]
fn env_names() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Ok(v) = toml::Value::try_from(Config::default()) {
        for (path, leaf) in leaves(&v, "") {
            out.insert(env_name(&path), leaf.to_string());
        }
    }
    out
}

/// Every problem `vestibule check-config` can name: all the unknown settings and wrong types
/// of the file at once, else the first problem [`load`] finds (syntax, environment,
/// rules across settings). Empty when the configuration is valid.
pub fn check(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Vec<ConfigError> {
    if let Some(path) = file {
        let parsed = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| text.parse::<toml::Value>().ok());
        if let (Some(from_file), Ok(defaults)) = (parsed, toml::Value::try_from(Config::default())) {
            let mut out = Vec::new();
            structure_problems(&defaults, &from_file, "", &mut out);
            if !out.is_empty() {
                return out;
            }
        }
    }
    load(file, env).err().into_iter().collect()
}

/// A parser message on one line: configuration errors are reported as a single line.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

fn env_name(path: &str) -> String {
    format!("VESTIBULE_{}", path.replace('.', "_").to_uppercase())
}

fn leaves<'a>(v: &'a toml::Value, prefix: &str) -> Vec<(String, &'a toml::Value)> {
    match v {
        toml::Value::Table(t) => t
            .iter()
            .flat_map(|(k, v)| {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(v, &path)
            })
            .collect(),
        _ => vec![(prefix.to_string(), v)],
    }
}

/// Every unknown setting and wrong type of `from` against the defaults, not just the first.
fn structure_problems(defaults: &toml::Value, from: &toml::Value, prefix: &str, out: &mut Vec<ConfigError>) {
    match (defaults, from) {
        (toml::Value::Table(a), toml::Value::Table(b)) => {
            for (k, v) in b {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match a.get(k) {
                    Some(slot) => structure_problems(slot, v, &path, out),
                    None => out.push(ConfigError(format!("unknown setting '{path}'"))),
                }
            }
        }
        (slot, v) if std::mem::discriminant(slot) != std::mem::discriminant(v) => out.push(ConfigError(
            format!("{prefix}: expected {}, found {}", slot.type_str(), v.type_str()),
        )),
        _ => {}
    }
}

/// Overlays `from` onto `into`, refusing keys the defaults do not have.
fn merge(into: &mut toml::Value, from: toml::Value, prefix: &str) -> Result<(), ConfigError> {
    match (into, from) {
        (toml::Value::Table(a), toml::Value::Table(b)) => {
            for (k, v) in b {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match a.get_mut(&k) {
                    Some(slot) => merge(slot, v, &path)?,
                    None => return err(format!("unknown setting '{path}'")),
                }
            }
            Ok(())
        }
        (slot, v) => {
            if std::mem::discriminant(slot) != std::mem::discriminant(&v) {
                return err(format!(
                    "{prefix}: expected {}, found {}",
                    slot.type_str(),
                    v.type_str()
                ));
            }
            *slot = v;
            Ok(())
        }
    }
}

/// Whether `name=raw` is one of the variables Kubernetes (and Docker's legacy links) put in every
/// pod for a Service named `vestibule`: `VESTIBULE_SERVICE_HOST`, `VESTIBULE_SERVICE_PORT[_NAME]`,
/// `VESTIBULE_PORT=tcp://ip:port` and `VESTIBULE_PORT_<port>_<TCP|UDP|SCTP>[_PROTO|_PORT|_ADDR]`.
/// They are not settings; only names that are no setting are matched, so a typo still fails.
fn is_service_link(name: &str, raw: &str) -> bool {
    let Some(rest) = name.strip_prefix("VESTIBULE_") else {
        return false;
    };
    if rest == "SERVICE_HOST" || rest == "SERVICE_PORT" || rest.starts_with("SERVICE_PORT_") {
        return true;
    }
    let url = |v: &str| ["tcp://", "udp://", "sctp://"].iter().any(|p| v.starts_with(p));
    if rest == "PORT" {
        return url(raw);
    }
    let Some(link) = rest.strip_prefix("PORT_") else {
        return false;
    };
    let mut parts = link.splitn(3, '_');
    let port = parts.next().unwrap_or("");
    let proto = parts.next().unwrap_or("");
    let field = parts.next();
    !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && matches!(proto, "TCP" | "UDP" | "SCTP")
        && match field {
            None => url(raw),
            Some(f) => matches!(f, "PROTO" | "PORT" | "ADDR"),
        }
}

fn apply_env(
    value: &mut toml::Value,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    let known: BTreeMap<String, String> = leaves(value, "")
        .into_iter()
        .map(|(path, _)| (env_name(&path), path))
        .collect();
    for (name, raw) in env {
        if !name.starts_with("VESTIBULE_")
            || NOT_SETTINGS.contains(&name.as_str())
            || NOT_SETTINGS_PREFIXES.iter().any(|p| name.starts_with(p))
        {
            continue;
        }
        let Some(path) = known.get(&name) else {
            if is_service_link(&name, &raw) {
                continue;
            }
            return err(format!("{name}: no such setting (see docs/configuration.md)"));
        };
        let slot = lookup_mut(value, path)
            .ok_or_else(|| ConfigError(format!("internal: setting {path} vanished")))?;
        *slot = match slot {
            toml::Value::String(_) => toml::Value::String(raw),
            toml::Value::Integer(_) => toml::Value::Integer(
                raw.trim()
                    .parse()
                    .map_err(|_| ConfigError(format!("{name}: '{raw}' is not a whole number")))?,
            ),
            toml::Value::Boolean(_) => toml::Value::Boolean(match raw.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => return err(format!("{name}: '{raw}' is not true or false")),
            }),
            other => {
                return err(format!(
                    "{name}: cannot set a {} from the environment",
                    other.type_str()
                ))
            }
        };
    }
    Ok(())
}

fn lookup_mut<'a>(v: &'a mut toml::Value, path: &str) -> Option<&'a mut toml::Value> {
    path.split('.').try_fold(v, |v, k| v.get_mut(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(load(None, vec![]).unwrap(), Config::default());
    }

    #[test]
    fn env_overrides_and_types_are_checked() {
        let c = load(
            None,
            env(&[
                ("VESTIBULE_LISTEN", "127.0.0.1:9"),
                ("VESTIBULE_SESSION_SERVER_TIMEOUT_SECS", "5"),
                ("VESTIBULE_SESSION_HTTP_TIMEOUT_SECS", "6"),
                ("VESTIBULE_AUTH_GUEST_ENABLED", "true"),
                ("VESTIBULE_ADMIN_PASSWORD", "ignored"),
                ("PATH", "/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:9");
        assert_eq!(c.session.server_timeout_secs, 5);
        assert!(c.auth.guest_enabled);
        let e = load(None, env(&[("VESTIBULE_SESSION_SERVER_TIMEOUT_SECS", "soon")])).unwrap_err();
        assert!(e.0.contains("not a whole number"), "{e}");
        let e = load(None, env(&[("VESTIBULE_NO_SUCH", "1")])).unwrap_err();
        assert!(e.0.contains("no such setting"), "{e}");
    }

    /// `vestibule.example.toml` checks as it is, and with every `# key = value` line uncommented
    /// it names every setting (but the provider arrays it shows as examples) at its default.
    #[test]
    fn the_example_configuration_holds_every_setting_at_its_default() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("vestibule.example.toml");
        assert!(check(Some(&path), []).is_empty(), "{:?}", check(Some(&path), []));
        let text = std::fs::read_to_string(&path).expect("read the example");
        let uncommented: String = text
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest)
                    if rest.split_once(" = ").is_some_and(|(k, _)| {
                        !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    }) =>
                {
                    rest
                }
                _ => l,
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let dir = std::env::temp_dir().join(format!("vestibule-example-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let full = dir.join("vestibule.toml");
        std::fs::write(&full, &uncommented).expect("write");
        let loaded = load(Some(&full), []).expect("the uncommented example loads");
        assert_eq!(loaded, Config::default(), "the example's values are the defaults");
        let named: toml::Value = uncommented.parse().expect("toml");
        let named: Vec<String> = leaves(&named, "").into_iter().map(|(p, _)| p).collect();
        for setting in env_names().keys() {
            let path = leaves(&toml::Value::try_from(Config::default()).expect("defaults"), "")
                .into_iter()
                .map(|(p, _)| p)
                .find(|p| env_name(p) == *setting)
                .expect("a path");
            if path == "sso.oidc" || path == "sso.saml" {
                continue;
            }
            assert!(named.contains(&path), "vestibule.example.toml lacks {path}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_log_filter_that_does_not_parse_is_refused() {
        for bad in ["verbose", "info,,=foo[["] {
            let e = load(None, env(&[("VESTIBULE_LOG_LEVEL", bad)])).expect_err(bad);
            assert!(e.0.starts_with("log.level: "), "{bad}: {e}");
        }
        assert!(load(None, env(&[("VESTIBULE_LOG_LEVEL", "warn,vestibule=debug")])).is_ok());
    }

    #[test]
    fn kubernetes_service_links_are_not_settings() {
        let links = [
            ("VESTIBULE_PORT", "tcp://10.96.0.12:8080"),
            ("VESTIBULE_PORT_8080_TCP", "tcp://10.96.0.12:8080"),
            ("VESTIBULE_PORT_8080_TCP_PROTO", "tcp"),
            ("VESTIBULE_PORT_8080_TCP_PORT", "8080"),
            ("VESTIBULE_PORT_8080_TCP_ADDR", "10.96.0.12"),
            ("VESTIBULE_SERVICE_HOST", "10.96.0.12"),
            ("VESTIBULE_SERVICE_PORT", "8080"),
            ("VESTIBULE_SERVICE_PORT_HTTP", "8080"),
        ];
        let env = links.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        let c = load(None, env).expect("service links are ignored");
        assert_eq!(c.listen, Config::default().listen);
        // Near misses are still unknown settings.
        for (k, v) in [
            ("VESTIBULE_PORT", "8080"),
            ("VESTIBULE_PORT_HTTP_TCP", "tcp://10.0.0.1:80"),
            ("VESTIBULE_PORT_8080_TCP_NAME", "x"),
            ("VESTIBULE_SERVICE_HOSTS", "x"),
        ] {
            let e = load(None, [(k.to_string(), v.to_string())]).expect_err(k);
            assert!(e.0.contains("no such setting"), "{k}: {e}");
        }
    }

    #[test]
    fn http_timeout_must_exceed_server_timeout() {
        let e = load(
            None,
            env(&[
                ("VESTIBULE_SESSION_SERVER_TIMEOUT_SECS", "60"),
                ("VESTIBULE_SESSION_HTTP_TIMEOUT_SECS", "60"),
            ]),
        )
        .unwrap_err();
        assert!(e.0.contains("must be greater than"), "{e}");
    }

    #[test]
    fn file_keys_are_checked() {
        let dir = std::env::temp_dir().join(format!("vestibule-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("c.toml");
        std::fs::write(
            &f,
            "listen = \"127.0.0.1:1\"\n[session]\nserver_timeout_secs = 10\n",
        )
        .unwrap();
        let c = load(Some(&f), vec![]).unwrap();
        assert_eq!(c.session.server_timeout_secs, 10);
        std::fs::write(&f, "[session]\nbogus = 1\n").unwrap();
        assert!(load(Some(&f), vec![])
            .unwrap_err()
            .0
            .contains("unknown setting 'session.bogus'"));
        std::fs::write(&f, "listen = 5\n").unwrap();
        assert!(load(Some(&f), vec![]).unwrap_err().0.contains("expected string"));
    }
}

#[cfg(test)]
mod docs_tests {
    use super::*;

    /// docs/configuration.md names every setting, so the documentation cannot fall behind.
    #[test]
    fn every_setting_is_documented() {
        let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/configuration.md"))
            .expect("docs/configuration.md");
        let missing: Vec<String> = env_names()
            .into_keys()
            .map(|name| name.trim_start_matches("VESTIBULE_").to_string())
            .filter(|short| !docs.contains(&format!("(`{short}`)")))
            .collect();
        assert!(
            missing.is_empty(),
            "docs/configuration.md does not document: {missing:?}"
        );
    }
}
