-- Sales counts per shop, kept by the ledger batch (one statement per
-- batch for every shop it sold) instead of counted through an index on
-- purchases(shop_id): that index took a random page write per purchase.
-- A table of its own, not a column of shops: a batch share-locks the
-- shops it sells (FOR SHARE), and updating those rows would deadlock two
-- servers selling the same shop.
CREATE TABLE shop_sales (
  shop_id TEXT PRIMARY KEY,
  n       BIGINT NOT NULL CHECK (n >= 0)
);
INSERT INTO shop_sales (shop_id, n) SELECT shop_id, COUNT(*) FROM purchases GROUP BY shop_id;
DROP INDEX purchases_shop;
