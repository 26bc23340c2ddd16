# Multi-stage build: compile with the Rust toolchain, run on a small Debian image as non-root.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
RUN cargo build --release --locked --bin rwsplit

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home /nonexistent --shell /usr/sbin/nologin rwsplit
COPY --from=build /src/target/release/rwsplit /usr/local/bin/rwsplit
USER rwsplit
# Mount the configuration at /etc/rwsplit/proxy.toml. Inside a container the proxy must listen
# on 0.0.0.0 to be reachable: set `listen = "0.0.0.0:3306"` in that file.
EXPOSE 3306
ENTRYPOINT ["/usr/local/bin/rwsplit", "--config", "/etc/rwsplit/proxy.toml"]
