//! vestibule's integration tests, one binary (so it links once): each module drives the real
//! `vestibule` binary, started on an ephemeral port by [`common::TestServer`].

mod common;
mod smoke;
