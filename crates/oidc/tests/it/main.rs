//! The relying party's tests, one binary: against a forged provider that serves whatever token a
//! test mints (`forged`), and the callback parser (`callback`).

mod callback;
mod common;
mod forged;
