# syntax=docker/dockerfile:1
# vestibule's container image: built in a Rust image with the -dev libraries the SAML (libxmlsec1
# over libxml2, bindings made by bindgen with libclang) and LDAP TLS (OpenSSL) code build against,
# run in a slim Debian with only their runtime libraries, as an unprivileged user.
#   docker build -t vestibule .
#   docker run -p 8080:8080 -e VESTIBULE_ADMIN_PASSWORD=… -v vestibule-data:/var/lib/vestibule vestibule
# docs/operations.md ("Packaging") has more; tests/it/package.rs lints this file with hadolint.

FROM rust:1.89-bookworm AS build
# Debian's packages are not version-pinned here: the bookworm suite is the pin (DL3008).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libclang-dev libssl-dev libxml2-dev libxmlsec1-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin vestibule \
    && install -m 0755 target/release/vestibule /usr/local/bin/vestibule

FROM debian:bookworm-slim
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates libssl3 libxml2 libxmlsec1 libxmlsec1-openssl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 vestibule \
    && useradd --system --uid 10001 --gid vestibule --home-dir /var/lib/vestibule --no-create-home \
        --shell /usr/sbin/nologin vestibule \
    && install -d -o vestibule -g vestibule -m 0750 /var/lib/vestibule
COPY --from=build /usr/local/bin/vestibule /usr/bin/vestibule
# Every setting is also a VESTIBULE_* variable; a configuration file can be mounted and named with
# VESTIBULE_CONFIG. Inside a container it listens on every address.
ENV VESTIBULE_LISTEN=0.0.0.0:8080 \
    VESTIBULE_DATA_DIR=/var/lib/vestibule
# Numeric, so that a runtime checking runAsNonRoot (Kubernetes) sees it is not root.
USER 10001:10001
WORKDIR /var/lib/vestibule
VOLUME ["/var/lib/vestibule"]
EXPOSE 8080
# Asks /health/ready on the configured listen address (on loopback): exit 0 when ready.
HEALTHCHECK --interval=30s --timeout=10s --start-period=10s --retries=3 \
    CMD ["vestibule", "healthcheck", "--timeout-secs", "5"]
ENTRYPOINT ["/usr/bin/vestibule"]
CMD ["serve"]
