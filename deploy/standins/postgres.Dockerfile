# A stand-in for the postgres image, from Debian's packages, for machines that
# reach no image registry (scripts/compose-test.sh). Debian bookworm's
# PostgreSQL is 15: tag it as such. It honours what docker-compose.yml uses of
# the official image: POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB on first
# start, data in /var/lib/postgresql/data, pg_isready for the health check.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
    && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
USER postgres
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
