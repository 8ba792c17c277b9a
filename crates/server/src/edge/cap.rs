//! The connection cap: how many connections may be open at once, from `server.max_connections` or,
//! when that is `0`, from the process's open-file limit.
//!
//! Every connection is a file descriptor, and so are the stores' connections, the data directory's
//! files, the log and the LDAP connections. A server out of descriptors cannot accept, cannot open
//! its store, and every request times out, so the cap keeps some free: a derived cap leaves
//! [`DERIVED_RESERVE`], and a configured one must leave at least [`CONFIGURED_RESERVE`]. The soft
//! limit is taken as it is (not raised towards the hard limit): it is the operator's setting
//! (`ulimit -n`, systemd's `LimitNOFILE=`).

use std::fmt;

/// Descriptors a derived cap leaves for everything that is not a client connection.
pub const DERIVED_RESERVE: u64 = 128;
/// The least a derived cap is, however low the limit.
pub const DERIVED_MIN: u64 = 16;
/// Descriptors a configured cap must leave; a larger cap is refused at start.
pub const CONFIGURED_RESERVE: u64 = 32;
/// The most any cap is: the shutdown waits for every connection's permit in one `acquire_many`,
/// which counts in `u32`.
const MAX_CAP: u64 = u32::MAX as u64;

/// A configured cap the open-file limit cannot hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapError(String);

impl fmt::Display for CapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CapError {}

/// The cap for `configured` (`server.max_connections`, `0` = derived) under the soft open-file
/// limit `soft_limit` (`None` = unlimited or unknown).
pub fn connection_cap(configured: u64, soft_limit: Option<u64>) -> Result<usize, CapError> {
    let cap = match (configured, soft_limit) {
        (0, Some(limit)) => limit.saturating_sub(DERIVED_RESERVE).max(DERIVED_MIN),
        (0, None) => MAX_CAP,
        (n, Some(limit)) if n > limit.saturating_sub(CONFIGURED_RESERVE) => {
            return Err(CapError(format!(
                "server.max_connections: {n} is more than the open-file limit allows: the soft limit \
                 (ulimit -n) is {limit} and {CONFIGURED_RESERVE} files are kept for the stores, the \
                 data directory and the logs, so at most {}; raise the limit (ulimit -n, systemd \
                 LimitNOFILE=) or lower server.max_connections (0 derives it from the limit)",
                limit.saturating_sub(CONFIGURED_RESERVE)
            )))
        }
        (n, _) => n,
    };
    Ok(usize::try_from(cap.min(MAX_CAP)).unwrap_or(usize::MAX))
}

/// The process's soft limit on open files; `None` when unlimited or unknown.
pub fn open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rustix::process::getrlimit(rustix::process::Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_derived_cap_leaves_128_files_and_is_at_least_16() {
        assert_eq!(connection_cap(0, Some(1024)), Ok(896));
        assert_eq!(connection_cap(0, Some(600)), Ok(472));
        assert_eq!(connection_cap(0, Some(140)), Ok(16));
        assert_eq!(connection_cap(0, Some(20)), Ok(16));
        assert_eq!(connection_cap(0, Some(0)), Ok(16));
        assert_eq!(connection_cap(0, None), Ok(u32::MAX as usize));
    }

    #[test]
    fn a_configured_cap_must_leave_32_files() {
        assert_eq!(connection_cap(20, Some(1024)), Ok(20));
        assert_eq!(connection_cap(992, Some(1024)), Ok(992));
        let e = connection_cap(993, Some(1024)).unwrap_err().to_string();
        assert!(e.starts_with("server.max_connections: 993 "), "{e}");
        assert!(e.contains("1024") && e.contains("at most 992"), "{e}");
        assert!(connection_cap(1, Some(32)).is_err());
        assert_eq!(connection_cap(5_000_000, None), Ok(5_000_000));
        assert_eq!(connection_cap(u64::MAX, None), Ok(u32::MAX as usize));
    }
}
