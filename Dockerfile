# The cinemesh image: the web client and the server built with the same
# commands as scripts/start.sh (checked by scripts/check-deploy.sh), run on
# Debian with ffmpeg for ingest and the demo movie.

FROM rust:1-bookworm AS server
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY services services
COPY migrations migrations
COPY config config
RUN cargo build --release -p cinemesh-server --bin cinemesh

FROM node:20-bookworm AS web
WORKDIR /src/web
COPY web/ ./
RUN npm ci --no-audit --no-fund
RUN npm run build

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg curl ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=server /src/target/release/cinemesh /usr/local/bin/cinemesh
COPY --from=web /src/web/dist /app/web/dist
WORKDIR /app
ENV CINEMESH_SERVER_BIND=0.0.0.0:8080 \
    CINEMESH_SERVER_WEB_DIR=/app/web/dist \
    CINEMESH_STORAGE_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --retries=20 CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
CMD ["cinemesh", "serve"]
