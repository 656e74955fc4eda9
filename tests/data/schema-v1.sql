-- A database as schema version 1 of sauthd's store left it: the schema of
-- migration step 1 in sauthd/store.c, verbatim, plus a few rows. The
-- upgrade test opens it with the current store and expects the rows intact.
-- The password hash is a well-formed dummy, not the hash of any password.

CREATE TABLE IF NOT EXISTS schema_version (
 version INTEGER PRIMARY KEY,
 applied BIGINT NOT NULL);

CREATE TABLE people (
 id TEXT PRIMARY KEY,
 name TEXT NOT NULL,
 identity TEXT NOT NULL UNIQUE,
 picture TEXT NOT NULL DEFAULT '',
 created BIGINT NOT NULL);
CREATE TABLE contacts (
 id TEXT PRIMARY KEY,
 uid TEXT NOT NULL REFERENCES people(id),
 type TEXT NOT NULL,
 info TEXT NOT NULL,
 status TEXT NOT NULL CHECK (status IN ('unconfirmed', 'active')),
 created BIGINT NOT NULL);
CREATE INDEX contacts_uid ON contacts(uid);
CREATE TABLE accounts (
 id TEXT PRIMARY KEY,
 uid TEXT NOT NULL UNIQUE REFERENCES people(id),
 username TEXT NOT NULL UNIQUE,
 password TEXT NULL,
 must_change INTEGER NOT NULL DEFAULT 1,
 status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
 is_admin INTEGER NOT NULL DEFAULT 0,
 created BIGINT NOT NULL,
 last_login BIGINT NOT NULL DEFAULT 0);
CREATE TABLE tokens (
 hash TEXT PRIMARY KEY,
 uid TEXT NOT NULL REFERENCES people(id),
 purpose TEXT NOT NULL,
 created BIGINT NOT NULL,
 expires BIGINT NOT NULL,
 used BIGINT NULL);
CREATE INDEX tokens_uid_purpose ON tokens(uid, purpose, created);

INSERT INTO schema_version (version, applied) VALUES (1, 1600000000);

INSERT INTO people (id, name, identity, picture, created)
 VALUES ('x-00000000000000a1', 'Olga Oldtimer', 'olga@example.org', '', 1600000000);
INSERT INTO contacts (id, uid, type, info, status, created)
 VALUES ('x-00000000000000c1', 'x-00000000000000a1', 'email', 'olga@example.org', 'active', 1600000000);
INSERT INTO accounts (id, uid, username, password, must_change, status, is_admin, created, last_login)
 VALUES ('x-00000000000000b1', 'x-00000000000000a1', 'olga',
         '$argon2id$v=19$m=65536,t=2,p=1$ZHVtbXlzYWx0ZHVtbXlzYWx0$ZHVtbXloYXNoZHVtbXloYXNoZHVtbXloYXNoZHVtbXk',
         0, 'active', 1, 1600000000, 1600000500);
INSERT INTO tokens (hash, uid, purpose, created, expires, used)
 VALUES ('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff',
         'x-00000000000000a1', 'reset', 1600000000, 4000000000, NULL);
