# The cinemesh image: the web client and the server built with the same
# commands as scripts/start.sh, and the native seeder with the README's
# (checked by scripts/check-deploy.sh), run on Debian with ffmpeg for ingest
# and the demo movie, as an unprivileged user.
#
# Two ways to fill it, over one runtime stage:
# - the default (last) stage builds everything in the image: `docker build .`;
# - `--target prebuilt` packages what was built on the host with the README's
#   own commands (target/release/cinemesh and cinemesh-seeder, web/dist), for machines whose
#   containers cannot fetch a toolchain (scripts/compose-test.sh uses it, with
#   `--build-arg PREBUILT_PROFILE=debug`: the binaries its test run built already).
# The runtime and prebuilt stages come first: Docker's classic builder builds
# every stage before the target, and the prebuilt one needs no toolchain.

ARG RUST_IMAGE=rust:1-bookworm
ARG NODE_IMAGE=node:20-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUNTIME_IMAGE} AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg curl ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /app --no-create-home cinemesh \
    && mkdir -p /app/web /data /media \
    && chown cinemesh:cinemesh /data /media
WORKDIR /app
# Named volumes mounted on /data and /media start with these folders' owner.
VOLUME ["/data"]
USER cinemesh
ENV CINEMESH_SERVER_BIND=0.0.0.0:8080 \
    CINEMESH_SERVER_WEB_DIR=/app/web/dist \
    CINEMESH_STORAGE_DATA_DIR=/data
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --retries=20 CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
CMD ["cinemesh", "serve"]

FROM runtime AS prebuilt
ARG PREBUILT_PROFILE=release
COPY target/${PREBUILT_PROFILE}/cinemesh target/${PREBUILT_PROFILE}/cinemesh-seeder /usr/local/bin/
COPY web/dist /app/web/dist

FROM ${RUST_IMAGE} AS server
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY services services
COPY migrations migrations
COPY config config
RUN cargo build --release -p cinemesh-server --bin cinemesh
RUN cargo build --release -p cinemesh-seeder

FROM ${NODE_IMAGE} AS web
WORKDIR /src/web
COPY web/ ./
RUN npm ci --no-audit --no-fund
RUN npm run build

FROM runtime AS built
COPY --from=server /src/target/release/cinemesh /src/target/release/cinemesh-seeder /usr/local/bin/
COPY --from=web /src/web/dist /app/web/dist
