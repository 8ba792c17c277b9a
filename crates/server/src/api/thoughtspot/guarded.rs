//! Throttling for the ThoughtSpot logins that do not go through `Core::authenticate`: a secret
//! key (trusted authentication) or a token presented in place of a password. Guessing either is
//! counted, delayed and locked out like guessing a password.

use std::future::Future;
use std::net::IpAddr;

use vestibule_core::{Core, CoreError};

/// Runs `check` (which verifies the key or token) behind the login gate: a locked account or
/// blocked address is refused before the check, and a `BadCredentials` answer counts as a failed
/// login. Other errors (trusted authentication off, a store failure) are not guesses and are not
/// counted.
pub async fn guarded<T>(
    core: &Core,
    mode: i32,
    account: Option<&str>,
    addr: Option<IpAddr>,
    check: impl Future<Output = Result<T, CoreError>>,
) -> Result<T, CoreError> {
    let account = account.filter(|a| !a.is_empty());
    core.login_gate(mode, account, addr).await?;
    let result = check.await;
    if matches!(result, Err(CoreError::BadCredentials)) {
        core.login_failed(mode, account, addr).await;
    }
    result
}
