//! Throttling for the ThoughtSpot logins that do not go through `Core::authenticate`: a secret
//! key (trusted authentication) or a token presented in place of a password. Guessing either is
//! counted, delayed and locked out like guessing a password.

use std::future::Future;
use std::net::IpAddr;

use vestibule_core::guard::Attempter;
use vestibule_core::login_name::account_key;
use vestibule_core::{Core, CoreError};

use crate::sso::DIALECT_THOUGHTSPOT;

/// Runs `check` (which verifies the key or token) as a guarded attempt of `account` (the user
/// the key is presented for, by its normal name) and `addr`: see `Core::guarded`.
pub async fn guarded<T>(
    core: &Core,
    mode: i32,
    account: Option<&str>,
    addr: Option<IpAddr>,
    check: impl Future<Output = Result<T, CoreError>>,
) -> Result<T, CoreError> {
    let typed = account.filter(|a| !a.is_empty());
    let identity = typed.map(account_key).filter(|k| !k.is_empty());
    let who = Attempter {
        dialect: DIALECT_THOUGHTSPOT,
        mode,
        typed,
        identity: identity.as_deref(),
        addr,
        provider: None,
    };
    core.guarded(who, check).await
}
