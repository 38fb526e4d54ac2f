-- Who was credited by which purchase, written by the ledger's sweeper with
-- the balances (deferred.go) instead of as two index entries per purchase
-- (purchases_credit, purchases_fee): a payee's or the fee account's page of
-- that index was written once per batch, now about once per sweep cycle.
-- History reads it, plus the purchases after the account's legs_through.
CREATE TABLE credit_legs (
  account_id INTEGER NOT NULL,
  purchase   INTEGER NOT NULL, -- purchases.rowid
  PRIMARY KEY (account_id, purchase)
) WITHOUT ROWID;
INSERT INTO credit_legs (account_id, purchase)
  SELECT credit_account, rowid FROM purchases WHERE credit_account IS NOT NULL AND price_sats > fee_sats;
INSERT INTO credit_legs (account_id, purchase)
  SELECT fee_account, rowid FROM purchases WHERE fee_account IS NOT NULL AND fee_sats > 0 ON CONFLICT DO NOTHING;
DROP INDEX purchases_credit;
DROP INDEX purchases_fee;
