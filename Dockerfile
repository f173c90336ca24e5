# syntax=docker/dockerfile:1
#
# duckraft container image: build the release binary, ship it alone on
# Debian bookworm-slim as uid/gid 65532 (non-root).
#
#   docker build -t duckraft:0.1.0 .
#   docker run --rm -p 5433:5433 -e DUCKRAFT_PASSWORD=... duckraft:0.1.0
#
# Build stages:
#   1. build:   the workspace's Cargo.lock, `cargo build --release --locked -p duckraft`
#               (DuckDB is compiled from its bundled C++ sources, which takes a while;
#               BuildKit cache mounts keep the registry and target/ between builds).
#   2. runtime: bookworm-slim (same glibc as the builder), the binary, a
#               non-root user, and the directories the Helm chart mounts over.
# See docs/operations/kubernetes.md ("Building the image").

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS build
WORKDIR /src
# The rust image (buildpack-deps) already has gcc, g++ and make, which the
# bundled DuckDB (libduckdb-sys) and ring need.
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p duckraft \
 && install -D -m 0755 target/release/duckraft /out/duckraft

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
ARG DUCKRAFT_UID=65532
# ca-certificates for outbound HTTPS; libstdc++6 for the bundled DuckDB.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libstdc++6 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid ${DUCKRAFT_UID} duckraft \
 && useradd --system --uid ${DUCKRAFT_UID} --gid ${DUCKRAFT_UID} \
      --home-dir /data --no-create-home --shell /usr/sbin/nologin duckraft \
 && mkdir -p /data /tls /etc/duckraft \
 && chown ${DUCKRAFT_UID}:${DUCKRAFT_UID} /data \
 && chmod 0750 /data
COPY --from=build /out/duckraft /usr/local/bin/duckraft

LABEL org.opencontainers.image.title="duckraft" \
      org.opencontainers.image.description="Raft-replicated DuckDB behind the PostgreSQL protocol" \
      org.opencontainers.image.licenses="Apache-2.0"

USER ${DUCKRAFT_UID}:${DUCKRAFT_UID}
WORKDIR /data
ENV TMPDIR=/tmp
# PostgreSQL protocol, peer transport (mTLS), HTTP status/metrics/healthz/readyz.
EXPOSE 5433 7433 8433
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=6 \
  CMD ["duckraft", "probe", "live"]
ENTRYPOINT ["duckraft"]
# A one-voter cluster on the same code path; the Helm chart passes the full
# `serve` command line instead.
CMD ["serve", "--data-dir", "/data/duckraft", "--pg-listen", "0.0.0.0:5433", "--http-listen", "0.0.0.0:8433"]
