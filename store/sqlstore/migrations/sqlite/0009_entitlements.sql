-- Who owns what, written behind like the balances (deferred.go).
--
-- UNIQUE (buyer, shop_id) on purchases made every purchase insert into a
-- random page of that index, and that page went into the WAL at the
-- batch's COMMIT: with a million accounts it was most of what a purchase
-- cost (docs/ledger.md). The ledger writer now decides ownership itself
-- (it is the only writer of purchases: one process keeps a SQLite
-- ledger), and the sweeper records each purchase here with the buyer's
-- balance, in key order, so a page of this table is written about once
-- per sweep cycle. An entitlement is in this table once its purchase is
-- within the buyer wallet's balances.legs_through (or swept_through);
-- readers add the purchases after that (a short scan of the newest rows).
CREATE TABLE entitlements (
  wallet   INTEGER NOT NULL, -- the buyer's wallet (accounts.wallet_id)
  shop_id  TEXT NOT NULL,
  purchase INTEGER NOT NULL, -- purchases.seq
  PRIMARY KEY (wallet, shop_id)
) WITHOUT ROWID;

-- purchases again, without the unique index. seq names the rowid, so it
-- stays put through a VACUUM: credit_legs, legs_through, counted_through
-- and swept_through all refer to it.
CREATE TABLE purchases_new (
  seq            INTEGER PRIMARY KEY,
  id             TEXT NOT NULL UNIQUE,
  buyer          TEXT NOT NULL,
  shop_id        TEXT NOT NULL,
  price_sats     INTEGER NOT NULL CHECK (price_sats > 0),
  fee_sats       INTEGER NOT NULL CHECK (fee_sats >= 0 AND fee_sats <= price_sats),
  payee          TEXT NOT NULL,
  created_at     INTEGER NOT NULL,
  buyer_wallet   INTEGER,
  credit_account INTEGER,
  fee_account    INTEGER
);
INSERT INTO purchases_new (seq, id, buyer, shop_id, price_sats, fee_sats, payee, created_at, buyer_wallet, credit_account, fee_account)
  SELECT rowid, id, buyer, shop_id, price_sats, fee_sats, payee, created_at, buyer_wallet, credit_account, fee_account
  FROM purchases;

-- Every purchase whose legs the buyer's balance already includes; the
-- rest are rebuilt in memory from the purchase rows when the ledger opens.
INSERT INTO entitlements (wallet, shop_id, purchase)
  SELECT a.wallet_id, p.shop_id, p.seq FROM purchases_new p
  JOIN accounts a ON a.id = p.buyer
  LEFT JOIN balances b ON b.account_id = p.buyer_wallet
  WHERE p.buyer_wallet IS NULL OR p.seq <= (SELECT swept_through FROM ledger_state WHERE id = 1)
    OR p.seq <= b.legs_through;

DROP TABLE purchases;
ALTER TABLE purchases_new RENAME TO purchases;
