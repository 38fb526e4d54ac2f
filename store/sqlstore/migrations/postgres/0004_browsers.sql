-- PostgreSQL translation of migrations/sqlite/0004_browsers.sql (see 0001_init.sql).
-- Paired browsers: one-time pairing links (only their hashes), the
-- sessions they become (only the cookie secret's hash), and each click's
-- spend against the session's caps.
CREATE TABLE browser_pairings (
  token_hash       TEXT PRIMARY KEY,
  account_id       TEXT NOT NULL REFERENCES accounts (id),
  per_purchase_cap BIGINT NOT NULL CHECK (per_purchase_cap >= 0),
  daily_cap        BIGINT NOT NULL CHECK (daily_cap >= 0),
  created_at       BIGINT NOT NULL,
  expires_at       BIGINT NOT NULL,
  used_at          BIGINT NOT NULL DEFAULT 0,
  session_id       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX browser_pairings_account ON browser_pairings (account_id, created_at);

CREATE TABLE browser_sessions (
  id               TEXT PRIMARY KEY,
  secret_hash      TEXT NOT NULL UNIQUE,
  account_id       TEXT NOT NULL REFERENCES accounts (id),
  label            TEXT NOT NULL DEFAULT '',
  per_purchase_cap BIGINT NOT NULL CHECK (per_purchase_cap >= 0),
  daily_cap        BIGINT NOT NULL CHECK (daily_cap >= 0),
  created_at       BIGINT NOT NULL,
  last_used_at     BIGINT NOT NULL DEFAULT 0,
  expires_at       BIGINT NOT NULL,
  revoked_at       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX browser_sessions_account ON browser_sessions (account_id, created_at);

CREATE TABLE browser_payments (
  session_id  TEXT NOT NULL REFERENCES browser_sessions (id),
  click       TEXT NOT NULL,
  shop_id     TEXT NOT NULL,
  day         BIGINT NOT NULL, -- UTC days since 1970-01-01: daily caps reset at 00:00 UTC
  amount      BIGINT NOT NULL CHECK (amount >= 0),
  status      TEXT NOT NULL CHECK (status IN ('reserved', 'paid')),
  purchase_id TEXT NOT NULL DEFAULT '',
  confirmed   BIGINT NOT NULL DEFAULT 0,
  created_at  BIGINT NOT NULL,
  updated_at  BIGINT NOT NULL,
  PRIMARY KEY (session_id, click)
);
CREATE INDEX browser_payments_day ON browser_payments (session_id, day);
