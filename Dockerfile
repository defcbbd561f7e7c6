# The lexgate image: lexgate on a small Debian 12 with only the shared libraries it links
# (libpq for PostgreSQL; SQLite is bundled), run as the non-root user lexgate (uid 10001).
#
# With a registry, from the repository's root:
#   podman build -t lexgate .        (or docker build)
# compiles lexgate in the `compile` stage (the Rust image) and puts it on Debian's image.
#
# Without a registry, container/build builds this same file with
#   --build-arg BASE=<a Debian 12 made with debootstrap> --build-arg BINARY=context
# and a build context holding only a `lexgate` binary built on a Debian 12 host: the
# `compile` stage is then never built, and the Rust image never pulled.
ARG BASE=docker.io/library/debian:bookworm-slim
ARG RUST_IMAGE=docker.io/library/rust:1-slim-bookworm
# Where the binary comes from: `compile` (built here) or `context` (given in the context).
ARG BINARY=compile

FROM ${RUST_IMAGE} AS compile
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY connectors connectors
COPY migrations migrations
COPY assets assets
COPY src src
RUN cargo build --release --locked --bin lexgate \
 && cp target/release/lexgate /lexgate

FROM scratch AS context
COPY lexgate /lexgate

FROM ${BINARY} AS binary

FROM ${BASE}
# A base that already has libpq5, ca-certificates and the user (container/build's) skips
# this; Debian's own image gets them here.
RUN if ! id -u lexgate >/dev/null 2>&1; then \
      apt-get update \
      && apt-get install -y --no-install-recommends libpq5 ca-certificates \
      && rm -rf /var/lib/apt/lists/* \
      && useradd --system --uid 10001 --user-group --home-dir /var/lib/lexgate \
           --create-home lexgate; \
    fi
COPY --from=binary /lexgate /usr/local/bin/lexgate
USER 10001:10001
WORKDIR /var/lib/lexgate
# Production runs on PostgreSQL: pass DATABASE_URL=postgres://user:password@host/db.
ENV LEXGATE_BIND=0.0.0.0:8080
# Orchestrators probe GET /healthz (liveness) and GET /readyz (database reachable).
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/lexgate"]
CMD ["serve"]
