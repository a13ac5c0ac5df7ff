# A stand-in for the redis image, from Debian's packages (Redis 7.0 in
# bookworm), for machines that reach no image registry. Like the official
# image it keeps its data in /data and accepts connections from other
# containers (protected mode off: only the compose network reaches it).
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends redis-server redis-tools \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /data && chown redis:redis /data
WORKDIR /data
USER redis
EXPOSE 6379
# Whatever command compose gives (docker-compose.yml adds --appendonly yes).
ENTRYPOINT ["/bin/sh", "-c", "exec \"$@\" --protected-mode no", "redis"]
CMD ["redis-server"]
