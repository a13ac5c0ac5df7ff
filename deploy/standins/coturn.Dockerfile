# A stand-in for the coturn image, from Debian's packages (coturn 4.6 in
# bookworm), for machines that reach no image registry. Like the official
# image it runs turnserver as nobody and has turnutils for health checks.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends coturn \
    && rm -rf /var/lib/apt/lists/*
USER nobody
EXPOSE 3478 3478/udp
CMD ["turnserver"]
