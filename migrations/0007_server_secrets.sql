-- Secrets every instance on this database must share (the key that signs swarm
-- tokens and presence passes): made at the first start when none is
-- configured, and used from then on, so a default install never signs with a
-- well-known value and a restart keeps the tokens it handed out valid.
CREATE TABLE server_secrets (
    name       TEXT   NOT NULL PRIMARY KEY,
    value      TEXT   NOT NULL,
    created_ms BIGINT NOT NULL
);
