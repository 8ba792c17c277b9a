//! vestibule's integration tests, one binary (so it links once): each module drives the real
//! `vestibule` binary, started on an ephemeral port by [`common::TestServer`].

mod audit;
mod cli;
mod common;
mod compat_model;
mod compat_mstr;
mod compat_ts;
mod credentials;
mod durability;
mod edge;
mod explorer;
mod fuzz;
mod ldap;
mod login_protection;
mod model_attributes;
mod model_changesets;
mod model_objects;
mod mstr_auth;
mod mstr_errors;
mod mstr_sessions;
mod ops_check_config;
mod ops_logs;
mod ops_metrics;
mod ops_openapi;
mod ops_request_id;
mod ops_shutdown;
mod proxies;
mod redis_restart;
mod rejections;
mod scale_out;
mod smoke;
mod throttle;
mod ts_cross;
mod ts_v1;
mod ts_v2;
