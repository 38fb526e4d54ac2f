-- Accounts are SSH public keys; money lives in the ledger tables below.
CREATE TABLE ledger_accounts (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  kind       INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);

-- Hot, small rows: TigerBeetle's four counters. The CHECKs are a backstop;
-- the writer's guarded UPDATEs keep them true.
CREATE TABLE balances (
  account_id      INTEGER PRIMARY KEY REFERENCES ledger_accounts (id),
  debits_posted   INTEGER NOT NULL DEFAULT 0,
  credits_posted  INTEGER NOT NULL DEFAULT 0,
  debits_pending  INTEGER NOT NULL DEFAULT 0,
  credits_pending INTEGER NOT NULL DEFAULT 0,
  debits_must_not_exceed_credits INTEGER NOT NULL DEFAULT 0,
  CHECK (debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0 AND credits_pending >= 0),
  CHECK (debits_must_not_exceed_credits = 0 OR debits_posted + debits_pending <= credits_posted)
);

-- Immutable: corrections are new transfers, never updates or deletes.
CREATE TABLE transfers (
  seq               INTEGER PRIMARY KEY,
  id                TEXT NOT NULL UNIQUE,
  debit_account_id  INTEGER NOT NULL,
  credit_account_id INTEGER NOT NULL,
  amount            INTEGER NOT NULL CHECK (amount > 0),
  code              INTEGER NOT NULL,
  flags             INTEGER NOT NULL DEFAULT 0,
  pending_id        TEXT,
  ref               TEXT NOT NULL DEFAULT '',
  created_at        INTEGER NOT NULL,
  CHECK (debit_account_id <> credit_account_id)
);
CREATE INDEX transfers_debit ON transfers (debit_account_id, seq);
CREATE INDEX transfers_credit ON transfers (credit_account_id, seq);

CREATE TABLE accounts (
  id         TEXT PRIMARY KEY,
  public_key TEXT NOT NULL,
  wallet_id  INTEGER NOT NULL UNIQUE REFERENCES ledger_accounts (id),
  created_at INTEGER NOT NULL
);

-- Roles may be granted to a fingerprint before its first connection.
CREATE TABLE roles (
  account_id TEXT NOT NULL,
  role       TEXT NOT NULL CHECK (role IN ('rights-holder', 'admin', 'signer')),
  granted_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, role)
);

CREATE TABLE shops (
  id             TEXT PRIMARY KEY,
  uploader       TEXT NOT NULL REFERENCES accounts (id),
  payee          TEXT NOT NULL REFERENCES accounts (id),
  name           TEXT NOT NULL,
  title          TEXT NOT NULL,
  description    TEXT NOT NULL DEFAULT '',
  search         TEXT NOT NULL DEFAULT '',
  size           INTEGER NOT NULL CHECK (size >= 0),
  price_sats     INTEGER NOT NULL CHECK (price_sats > 0),
  content_hash   TEXT NOT NULL,
  content_id     TEXT NOT NULL,
  file_key       BLOB NOT NULL,
  blob_size      INTEGER NOT NULL,
  frozen         INTEGER NOT NULL DEFAULT 0,
  -- set while a claim is disputed: the payee's share of new sales is held here
  escrow_account INTEGER REFERENCES ledger_accounts (id),
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
);
CREATE INDEX shops_created ON shops (created_at, id);
CREATE INDEX shops_price ON shops (price_sats, id);
CREATE INDEX shops_uploader ON shops (uploader);
CREATE INDEX shops_payee ON shops (payee);

-- A purchase is the entitlement: one per buyer and shop.
CREATE TABLE purchases (
  id         TEXT PRIMARY KEY,
  buyer      TEXT NOT NULL,
  shop_id    TEXT NOT NULL,
  price_sats INTEGER NOT NULL CHECK (price_sats > 0),
  fee_sats   INTEGER NOT NULL CHECK (fee_sats >= 0 AND fee_sats <= price_sats),
  payee      TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (buyer, shop_id)
);
CREATE INDEX purchases_shop ON purchases (shop_id);

CREATE TABLE deposit_addresses (
  idx        INTEGER PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts (id),
  address    TEXT NOT NULL UNIQUE,
  pk_script  BLOB NOT NULL UNIQUE,
  used       INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE INDEX deposit_addresses_account ON deposit_addresses (account_id, used);

-- One row per output paying a deposit address. generation counts credits,
-- so a deposit re-credited after a reorg gets fresh transfer ids.
CREATE TABLE deposits (
  txid        TEXT NOT NULL,
  vout        INTEGER NOT NULL,
  address_idx INTEGER NOT NULL REFERENCES deposit_addresses (idx),
  account_id  TEXT NOT NULL,
  amount      INTEGER NOT NULL CHECK (amount > 0),
  height      INTEGER,
  block_hash  TEXT,
  credited    INTEGER NOT NULL DEFAULT 0,
  generation  INTEGER NOT NULL DEFAULT 0,
  seen_at     INTEGER NOT NULL,
  PRIMARY KEY (txid, vout)
);
CREATE INDEX deposits_account ON deposits (account_id);
CREATE INDEX deposits_block ON deposits (block_hash);

CREATE TABLE chain_cursor (
  height INTEGER PRIMARY KEY,
  hash   TEXT NOT NULL
);
