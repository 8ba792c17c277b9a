#!/usr/bin/env bash
# System packages the test suite needs, from Debian's archive (CI runs as root). Skips what is
# already installed.
set -euo pipefail
packages=()
need() { dpkg -s "$1" >/dev/null 2>&1 || packages+=("$1"); }
# (each feature adds the packages its tests need here)
need slapd        # LDAP tests: a private OpenLDAP server (tests/it/common/ldap.rs)
need ldap-utils   # ldapadd/ldapsearch, handy when debugging the LDAP tests
need openssl      # makes the test CA and certificate for the LDAP TLS tests
need libssl-dev   # native TLS of the LDAP client (ldaps://, StartTLS), found with pkg-config
need pkg-config
need nodejs       # ThoughtSpot TypeScript SDK compatibility test (compat/ts_sdk.mjs), the SSO providers
# Debian's nodejs does not bring npm (NodeSource's does): ask for Debian's npm only when none is found.
command -v npm >/dev/null 2>&1 || need npm
need python3-venv # the compat/.venv of the official Python clients
need python3      # holds a SQLite lock from outside in tests/it/mstr_errors.rs (store outage → 503)
need chromium     # the API explorer browser test (tests/browser, driven by tests/it/explorer.rs)
need redis-server # the restart tests kill a Redis of their own (tests/it/redis_restart.rs, crates/store/tests)
need redis-tools  # redis-cli: the Redis Cluster tests make a cluster of their own with it (redis_cluster.rs)
need libxml2-dev     # SAML: samael's XML signature checks run on libxmlsec1 over libxml2 (crates/saml)
need libxmlsec1-dev
need libclang-dev    # samael's bindings to libxmlsec1 are made by bindgen at build time
need xmlsec1         # signs and encrypts the SAML attack tests' crafted responses
need libxml2-utils   # xmllint: the SP metadata checked against the SAML metadata schema
need dpkg-dev        # dpkg-shlibdeps: cargo-deb finds the Debian package's library dependencies
need adduser         # the Debian package's maintainer scripts make the vestibule user
need util-linux      # setpriv: the package test starts the installed binary as that user
if [ ${#packages[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi
# The test runner: cargo-nextest, built from crates.io when this machine's Rust lacks it.
if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install --locked cargo-nextest
fi
# The Debian package test (tests/it/package.rs) and the unused-dependency check
# (tests/it/unused_deps.rs): pinned, built from crates.io when missing (about two minutes each).
if ! cargo deb --version 2>/dev/null | grep -qx 'cargo-deb 3.8.0'; then
  cargo install --locked cargo-deb@3.8.0
fi
if ! cargo machete --version 2>/dev/null | grep -q '0.9.2'; then
  cargo install --locked cargo-machete@0.9.2
fi
