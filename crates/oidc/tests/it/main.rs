//! The relying party's tests, one binary: against a real provider (`real_idp`, panva's
//! oidc-provider run by node), against a forged one that serves whatever token a test mints
//! (`forged`), and the callback parser (`callback`).

mod callback;
mod common;
mod forged;
mod real_idp;
