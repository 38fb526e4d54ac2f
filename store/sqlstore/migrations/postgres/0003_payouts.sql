-- PostgreSQL translation of migrations/sqlite/0003_payouts.sql (see 0001_init.sql).
-- Withdrawals. A payout is held at once (a pending transfer from the
-- wallet to liab:payout-pending); batches pay many payouts in one
-- transaction, built unsigned here and signed away from the server.
CREATE TABLE payout_batches (
  id              TEXT PRIMARY KEY,
  status          TEXT NOT NULL CHECK (status IN ('unsigned', 'signed', 'broadcast', 'confirmed', 'failed', 'cancelled')),
  psbt            BYTEA NOT NULL,
  unsigned_tx     BYTEA NOT NULL,
  txid            TEXT NOT NULL,
  fee_rate        BIGINT NOT NULL CHECK (fee_rate > 0),
  fee             BIGINT NOT NULL CHECK (fee > 0),
  change_index    BIGINT NOT NULL DEFAULT -1,
  change_vout     BIGINT NOT NULL DEFAULT -1,
  change_amount   BIGINT NOT NULL DEFAULT 0,
  change_script   BYTEA,
  -- the signed transaction, stored before it is ever broadcast
  raw_tx          BYTEA,
  signer          TEXT NOT NULL DEFAULT '',
  height          BIGINT NOT NULL DEFAULT 0,
  block_hash      TEXT NOT NULL DEFAULT '',
  attempts        BIGINT NOT NULL DEFAULT 0,
  last_error      TEXT NOT NULL DEFAULT '',
  conflict_height BIGINT NOT NULL DEFAULT 0,
  created_at      BIGINT NOT NULL,
  signed_at       BIGINT NOT NULL DEFAULT 0,
  broadcast_at    BIGINT NOT NULL DEFAULT 0,
  confirmed_at    BIGINT NOT NULL DEFAULT 0,
  CHECK (status IN ('unsigned', 'cancelled') OR raw_tx IS NOT NULL)
);
CREATE INDEX payout_batches_status ON payout_batches (status, created_at);
-- At most one unsigned batch at a time.
CREATE UNIQUE INDEX payout_batches_open ON payout_batches (status) WHERE status = 'unsigned';

-- The outputs a batch spends, with their account key path.
CREATE TABLE payout_inputs (
  batch_id  TEXT NOT NULL REFERENCES payout_batches (id),
  txid      TEXT NOT NULL,
  vout      BIGINT NOT NULL,
  amount    BIGINT NOT NULL CHECK (amount > 0),
  pk_script BYTEA NOT NULL,
  branch    BIGINT NOT NULL CHECK (branch IN (0, 1)),
  idx       BIGINT NOT NULL,
  position  BIGINT NOT NULL,
  -- another transaction spent it (the batch failed): never spendable again
  spent_elsewhere BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (batch_id, txid, vout)
);
CREATE INDEX payout_inputs_outpoint ON payout_inputs (txid, vout);

CREATE TABLE payouts (
  id         TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts (id),
  wallet_id  BIGINT NOT NULL REFERENCES ledger_accounts (id),
  address    TEXT NOT NULL,
  pk_script  BYTEA NOT NULL,
  amount     BIGINT NOT NULL CHECK (amount > 0),
  fee        BIGINT NOT NULL CHECK (fee >= 0),
  status     TEXT NOT NULL CHECK (status IN ('pending', 'signed', 'broadcast', 'confirmed', 'failed')),
  batch_id   TEXT REFERENCES payout_batches (id),
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX payouts_account ON payouts (account_id, created_at);
CREATE INDEX payouts_batch ON payouts (batch_id);
CREATE INDEX payouts_open ON payouts (status, created_at) WHERE status = 'pending';
CREATE INDEX transfers_pending ON transfers (pending_id) WHERE pending_id IS NOT NULL;
