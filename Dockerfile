# Multi-stage build: compile with the full toolchain, run on a small Debian with only the
# shared libraries lexgate links (libpq for PostgreSQL; SQLite is bundled).
FROM rust:1-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY connectors connectors
COPY migrations migrations
COPY src src
RUN cargo build --release --locked --bin lexgate

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/lexgate --create-home lexgate
COPY --from=build /src/target/release/lexgate /usr/local/bin/lexgate
USER lexgate
WORKDIR /var/lib/lexgate
# Production runs on PostgreSQL: pass DATABASE_URL=postgres://user:password@host/db.
ENV LEXGATE_BIND=0.0.0.0:8080
# Orchestrators probe GET /healthz (liveness) and GET /readyz (database reachable).
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/lexgate"]
CMD ["serve"]
