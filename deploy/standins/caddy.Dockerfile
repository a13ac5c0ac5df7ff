# A stand-in for the caddy image, from Debian's packages (Caddy 2.6 in
# bookworm), for machines that reach no image registry. Like the official
# image it reads /etc/caddy/Caddyfile, keeps certificates and its CA under
# /data and its state under /config, and logs to the container's output;
# wget is there for health checks, as busybox's is in the official image.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends caddy wget ca-certificates \
    && rm -rf /var/lib/apt/lists/*
ENV XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data
EXPOSE 80 443
CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
