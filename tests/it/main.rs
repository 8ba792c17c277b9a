//! vestibule's integration tests, one binary (so it links once): each module drives the real
//! `vestibule` binary, started on an ephemeral port by [`common::TestServer`].

mod common;
mod smoke;
mod mstr_auth;
mod mstr_sessions;
mod mstr_errors;
mod durability;
mod cli;
mod compat_mstr;
mod explorer;
mod fuzz;
mod ops_check_config;
mod ops_kit;
mod ops_logs;
mod ops_metrics;
mod ops_openapi;
mod ops_shutdown;
mod scale_out;
mod audit;
mod ldap;
mod ldap_kit;
mod throttle;
mod ts_kit;
mod ts_v1;
mod ts_v2;
mod ts_cross;
mod compat_ts;
mod model_kit;
mod model_attributes;
mod model_changesets;
mod model_objects;
mod compat_model;
mod ops_request_id;
