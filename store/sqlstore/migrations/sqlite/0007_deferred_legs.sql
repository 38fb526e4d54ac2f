-- Write-behind balances and sales counts (deferred.go). A purchase's legs are durable in
-- its purchase row at COMMIT; the balance rows they move are brought up to
-- date later, a range of accounts at a time, so a hot page is written once
-- for many purchases instead of once per purchase.
--   legs_through:  this account's balance includes the legs of every
--                  purchase up to this purchases rowid.
--   counted_through: the same for a shop's sales count.
--   swept_through: every balance and sales count includes every purchase
--                  up to this rowid (recovery starts after it).
ALTER TABLE balances ADD COLUMN legs_through INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shop_sales ADD COLUMN counted_through INTEGER NOT NULL DEFAULT 0;
CREATE TABLE ledger_state (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  swept_through INTEGER NOT NULL
);
-- Until now every leg was applied at once.
INSERT INTO ledger_state (id, swept_through) SELECT 1, COALESCE(MAX(rowid), 0) FROM purchases;
