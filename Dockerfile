# rwsplit container image: build with the Rust toolchain, run as non-root on Debian slim.
#
#   docker build -t rwsplit .
#   docker run -d --name rwsplit -p 127.0.0.1:3306:3306 \
#       -v /etc/rwsplit:/etc/rwsplit --env-file /etc/rwsplit/rwsplit.env rwsplit
#
# The configuration is read from /etc/rwsplit/proxy.toml. Inside a container the proxy must
# listen on all interfaces to be reachable: `listen = "0.0.0.0:3306"` (and likewise the
# [admin] / [metrics] listeners if you publish 6033 / 9104). Passwords written as
# "env:NAME" come from the container's environment (--env-file, or a Kubernetes Secret).
#
# Mount the *directory* /etc/rwsplit, not just the file, if the topology hooks edit it: they
# replace proxy.toml by a rename, which a single-file bind mount does not follow (the container
# would keep seeing the old file). The hooks are in the image:
#   docker exec rwsplit /usr/local/lib/rwsplit/hooks/host-up.sh 10.0.0.13:3306
# (the directory must then be writable by uid 10001). Or reload by hand: docker kill -s HUP rwsplit.
#
# Other subcommands work through the entrypoint:
#   docker run --rm -v /etc/rwsplit:/etc/rwsplit:ro rwsplit check-config
#   docker run --rm -v /etc/rwsplit:/etc/rwsplit:ro rwsplit topology list

ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS build
WORKDIR /src

# 1. Dependencies only. Build the real manifest against placeholder sources, so this layer (the
#    slow part) stays cached until Cargo.toml or Cargo.lock change. benches/classify.rs must
#    exist because Cargo.toml declares that bench target.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && echo 'fn main() {}' > benches/classify.rs \
    && cargo build --release --locked --bin rwsplit \
    && rm -rf src benches

# 2. The proxy itself. COPY keeps the files' modification times, which may be older than the
#    placeholder build above: touch them so cargo rebuilds the crate, not just links the stub.
COPY src ./src
COPY benches ./benches
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --bin rwsplit \
    && strip --strip-debug target/release/rwsplit \
    && target/release/rwsplit --version

FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="rwsplit" \
      org.opencontainers.image.description="MySQL/MariaDB read/write-splitting sidecar proxy" \
      org.opencontainers.image.licenses="Apache-2.0"

# A fixed uid/gid, so a mounted /etc/rwsplit can be chown'ed to it from the host and
# Kubernetes' runAsNonRoot can check it.
RUN groupadd --system --gid 10001 rwsplit \
    && useradd --system --uid 10001 --gid rwsplit --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin rwsplit \
    && install -d -o rwsplit -g rwsplit -m 0755 /run/rwsplit \
    && install -d -m 0755 /etc/rwsplit /usr/local/lib/rwsplit/hooks

COPY --from=build /src/target/release/rwsplit /usr/local/bin/rwsplit
COPY examples/hooks/*.sh /usr/local/lib/rwsplit/hooks/
# No syslog daemon in the container: hooks log to stderr only.
ENV RWSPLIT_HOOK_SYSLOG=0 \
    RWSPLIT_HEALTH_PORT=3306

USER 10001:10001
# 3306 client connections, 6033 admin interface, 9104 Prometheus metrics.
EXPOSE 3306 6033 9104
# SIGTERM: stop accepting, let running statements finish (--drain-timeout, 30 s by default).
# Give `docker stop` a longer timeout than that: docker stop -t 40.
STOPSIGNAL SIGTERM
# Liveness only: the client port accepts TCP connections. (A connection that closes before
# logging in costs the proxy nothing and is logged at debug level.) `rwsplit check-config`
# checks the file, not the running process, so it is no health check. Set
# RWSPLIT_HEALTH_PORT if `listen` uses another port.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${RWSPLIT_HEALTH_PORT}"]

ENTRYPOINT ["/usr/local/bin/rwsplit", "--config", "/etc/rwsplit/proxy.toml", "--pid-file", "/run/rwsplit/rwsplit.pid"]
CMD ["run"]
