-- A purchase is one linked pair of transfers (buyer → payee or escrow for
-- the price less the fee, buyer → fee account for the fee). From here on
-- the pair is recorded in the purchase row itself instead of as two rows
-- in transfers: the two rows and their four index entries were about a
-- third of the purchase path at a million accounts. Rows written before
-- this migration keep their legs in transfers and leave these columns
-- NULL. History, the ledger totals and the balance check read both.
ALTER TABLE purchases ADD COLUMN buyer_wallet BIGINT;
ALTER TABLE purchases ADD COLUMN credit_account BIGINT;
ALTER TABLE purchases ADD COLUMN fee_account BIGINT;
CREATE INDEX purchases_credit ON purchases (credit_account, created_at) WHERE credit_account IS NOT NULL;
CREATE INDEX purchases_fee ON purchases (fee_account, created_at) WHERE fee_account IS NOT NULL;
