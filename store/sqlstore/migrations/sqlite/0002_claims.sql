-- Byte-layer fingerprints of shop files (the whole file, and each member of
-- a zip or tar). chunks holds every chunk, for evidence; fp_postings holds
-- only the FracMinHash sample, for the index.
CREATE TABLE fp_files (
  id         INTEGER PRIMARY KEY,
  shop_id    TEXT NOT NULL REFERENCES shops (id),
  owner      TEXT NOT NULL,
  member     TEXT NOT NULL DEFAULT '',
  member_off INTEGER NOT NULL DEFAULT 0,
  stored     INTEGER NOT NULL DEFAULT 1,
  size       INTEGER NOT NULL,
  blake3     TEXT NOT NULL,
  tier       INTEGER NOT NULL,
  first_seen INTEGER NOT NULL,
  chunks     BLOB NOT NULL
);
CREATE INDEX fp_files_shop ON fp_files (shop_id);
CREATE INDEX fp_files_blake3 ON fp_files (blake3);

CREATE TABLE fp_postings (
  h       INTEGER NOT NULL,
  file_id INTEGER NOT NULL,
  PRIMARY KEY (h, file_id)
) WITHOUT ROWID;

-- Reference content registered by rights holders: every scored chunk hash.
CREATE TABLE refs (
  id         TEXT PRIMARY KEY,
  holder     TEXT NOT NULL REFERENCES accounts (id),
  name       TEXT NOT NULL,
  size       INTEGER NOT NULL,
  blake3     TEXT NOT NULL,
  chunks     BLOB NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX refs_holder ON refs (holder);

CREATE TABLE ref_chunks (
  h      INTEGER NOT NULL,
  ref_id TEXT NOT NULL,
  PRIMARY KEY (h, ref_id)
) WITHOUT ROWID;

CREATE TABLE matches (
  id         TEXT PRIMARY KEY,
  ref_id     TEXT NOT NULL REFERENCES refs (id),
  holder     TEXT NOT NULL,
  shop_id    TEXT NOT NULL REFERENCES shops (id),
  file_id    INTEGER NOT NULL,
  score      REAL NOT NULL,
  strength   TEXT NOT NULL,
  status     TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'approved', 'dismissed')),
  evidence   TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (ref_id, shop_id)
);
CREATE INDEX matches_holder ON matches (holder, status);
CREATE INDEX matches_shop ON matches (shop_id);

CREATE TABLE claims (
  id             TEXT PRIMARY KEY,
  match_id       TEXT NOT NULL UNIQUE REFERENCES matches (id),
  shop_id        TEXT NOT NULL REFERENCES shops (id),
  holder         TEXT NOT NULL,
  uploader       TEXT NOT NULL,
  status         TEXT NOT NULL CHECK (status IN ('active', 'disputed', 'upheld', 'reversed')),
  prev_payee     TEXT NOT NULL,
  prev_price     INTEGER NOT NULL,
  price          INTEGER NOT NULL,
  escrow_account INTEGER REFERENCES ledger_accounts (id),
  reason         TEXT NOT NULL DEFAULT '',
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
);
CREATE INDEX claims_holder ON claims (holder);
CREATE INDEX claims_uploader ON claims (uploader);
CREATE INDEX claims_shop ON claims (shop_id);

-- Append-only audit log; each entry's hash covers the previous one's.
CREATE TABLE claim_events (
  seq       INTEGER PRIMARY KEY,
  claim_id  TEXT NOT NULL REFERENCES claims (id),
  actor     TEXT NOT NULL,
  kind      TEXT NOT NULL,
  body      TEXT NOT NULL,
  at        INTEGER NOT NULL,
  prev_hash TEXT NOT NULL,
  hash      TEXT NOT NULL UNIQUE
);
CREATE INDEX claim_events_claim ON claim_events (claim_id, seq);
