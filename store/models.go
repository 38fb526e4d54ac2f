package store

// Roles an operator may grant.
const (
	RoleRightsHolder = "rights-holder"
	RoleAdmin        = "admin"
	RoleSigner       = "signer"
)

// Account is one SSH public key. Its id is the key's SHA256 fingerprint.
type Account struct {
	ID        string
	PublicKey string // authorized_keys form
	WalletID  int64  // the ledger account holding this account's money
	Roles     []string
	CreatedAt int64 // unix µs
}

// HasRole reports whether the account holds role.
func (a *Account) HasRole(role string) bool {
	for _, r := range a.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// Shop is one uploaded file and its terms.
type Shop struct {
	ID          string
	Uploader    string
	Payee       string
	Name        string // the file name given at upload
	Title       string
	Description string
	Size        int64 // plaintext bytes
	PriceSats   int64
	ContentHash string // blake3 of the plaintext, hex; private to the shop
	ContentID   string // blake3 of the age file, hex; public
	FileKey     []byte // the age file key, sealed
	BlobSize    int64  // container bytes
	Sales       int64
	Frozen      bool // price frozen (a disputed claim)
	CreatedAt   int64
	UpdatedAt   int64
}

// Sort orders for ListShops.
const (
	SortNewest    = "newest"
	SortPriceAsc  = "price"
	SortPriceDesc = "price-desc"
)

// ShopQuery selects a page of the catalogue.
type ShopQuery struct {
	Text   string // matched against title, name and description
	Party  string // when set: shops this account uploaded or is paid for
	Sort   string
	Limit  int
	Offset int
}

// ShopPage is one page of a query plus the total count, for pagination.
type ShopPage struct {
	Shops []Shop
	Total int
}

// AccountKind is a ledger account's accounting kind.
type AccountKind int

// Ledger account kinds.
const (
	KindAsset     AccountKind = 1
	KindLiability AccountKind = 2
	KindRevenue   AccountKind = 3
	KindExpense   AccountKind = 4
	KindEquity    AccountKind = 5
)

// Well-known ledger account names.
const (
	AccountOnchain = "asset:onchain"
	AccountFees    = "rev:platform-fee"
)

// Balance is a ledger account's four TigerBeetle-style counters.
type Balance struct {
	DebitsPosted   int64
	CreditsPosted  int64
	DebitsPending  int64
	CreditsPending int64
}

// Available is what a liability account (a wallet) may still spend.
func (b Balance) Available() int64 {
	return b.CreditsPosted - b.DebitsPosted - b.DebitsPending
}

// TransferCode says why money moved.
type TransferCode int

// Transfer codes.
const (
	CodePurchase TransferCode = 1
	CodeFee      TransferCode = 2
	CodeDeposit  TransferCode = 3
	CodePayout   TransferCode = 4
	CodeReversal TransferCode = 5
	CodeEscrow   TransferCode = 6
	CodeRelease  TransferCode = 7
)

// Transfer is one immutable double-entry movement.
type Transfer struct {
	Seq       int64
	ID        string // idempotency id, unique
	Debit     int64
	Credit    int64
	Amount    int64
	Code      TransferCode
	Ref       string
	CreatedAt int64
	Flags     int    // 0, or FlagPending / FlagPostPending / FlagVoidPending
	PendingID string // post and void: the pending transfer they resolve
}

// LedgerTotals sums every balance row.
type LedgerTotals struct {
	DebitsPosted, CreditsPosted   int64
	DebitsPending, CreditsPending int64
	NegativeWallets               int // wallets whose debits exceed credits
	Transfers                     int64
	TransferSum                   int64 // Σ amount over transfers
	Purchases                     int64
	// SalesMismatches counts shops whose sales count differs from their
	// purchase rows (or, when the counts' sum differs from Purchases, 1).
	SalesMismatches int64
}

// Purchase is a buyer's entitlement to a shop.
type Purchase struct {
	ID        string
	Buyer     string
	Shop      string
	PriceSats int64
	FeeSats   int64
	Payee     string // who was credited (or "escrow:<claim>")
	CreatedAt int64
}

// LibraryItem is a purchase with its shop's title.
type LibraryItem struct {
	Purchase
	Title string
	Name  string // the file name
}

// Op is one entry of a ledger batch.
type Op interface{ isOp() }

// BuyOp records a purchase: the entitlement row, a guarded debit of the
// buyer at the shop's live price, the credit of its current payee and the
// platform fee, all or nothing.
type BuyOp struct {
	PurchaseID  string // idempotency key; a repeat returns the first result
	Buyer       string
	BuyerWallet int64
	Shop        string
	MaxPrice    int64 // 0: no limit
	FeeBps      int64
	FeeAccount  int64
	At          int64
}

// TransferOp applies linked transfers: all of them or none. Debits of
// wallets are guarded so no wallet goes below zero.
type TransferOp struct {
	Transfers []Transfer
}

func (BuyOp) isOp()      {}
func (TransferOp) isOp() {}

// OpResult is the outcome of one op.
type OpResult struct {
	Purchase *Purchase // BuyOp: the purchase (new or the one already owned)
	Existing bool      // nothing was charged: a repeat or an owned shop
	Err      error     // refused: nothing changed
	// BuyOp, when Purchase is set: the shop's title and the buyer's wallet
	// right after the op, so a purchase needs no read besides its batch.
	Title   string
	Balance Balance
}

// Refusals an op may end in.
var (
	ErrInsufficientFunds = errorString("insufficient funds")
	ErrPriceAboveMax     = errorString("price is above --max-price")
	ErrSelfPurchase      = errorString("you are this shop's payee")
	// ErrClaimed: the shop already has an active or disputed claim.
	ErrClaimed = errorString("the shop already has an open claim")
)

type errorString string

func (e errorString) Error() string { return string(e) }

// ChainCursor is one processed block.
type ChainCursor struct {
	Height int64
	Hash   string // hex, as block explorers print it
}

// ChainOutput is a transaction output paying a watched script.
type ChainOutput struct {
	TxID     string
	Vout     uint32
	PkScript []byte
	Amount   int64
}

// FPChunk is one content-defined chunk of a fingerprinted file.
type FPChunk struct {
	Off  int64
	Len  int32
	Hash uint64 // below 2^63
	Low  bool   // low entropy: kept for evidence, never scored
}

// FPFile is the fingerprint of a shop file or of one archive member.
type FPFile struct {
	ID        int64
	Shop      string
	Owner     string // the uploader
	Member    string // "" for the whole file
	MemberOff int64
	Stored    bool // the member's bytes appear as is at MemberOff
	Size      int64
	Blake3    string
	Tier      int
	FirstSeen int64
	Chunks    []FPChunk
	Postings  []uint64 // the sampled hashes indexed for this file
}

// HashStat says how common a chunk hash is among indexed files.
type HashStat struct {
	Files, Owners int
}

// Ref is reference content a rights holder registered.
type Ref struct {
	ID        string
	Holder    string
	Name      string
	Size      int64
	Blake3    string
	CreatedAt int64
	Chunks    []FPChunk // every chunk (loaded by Ref, not by Refs)
	Hashes    []uint64  // distinct scored hashes, indexed
}

// Match statuses.
const (
	MatchOpen      = "open"
	MatchApproved  = "approved"
	MatchDismissed = "dismissed"
)

// Match links a reference to a shop file it was found in.
type Match struct {
	ID        string
	Ref       string
	Holder    string
	Shop      string
	FileID    int64
	Score     float64
	Strength  string
	Status    string
	Evidence  string // JSON, the matched ranges and coverage
	CreatedAt int64
	UpdatedAt int64
}

// Claim statuses.
const (
	ClaimActive   = "active"
	ClaimDisputed = "disputed"
	ClaimUpheld   = "upheld"
	ClaimReversed = "reversed"
)

// Claim is an approved match: the rights holder became the shop's payee.
type Claim struct {
	ID        string
	Match     string
	Shop      string
	Holder    string
	Uploader  string
	Status    string
	PrevPayee string
	PrevPrice int64
	Price     int64
	Escrow    int64 // ledger account holding disputed sales; 0: none
	Reason    string
	CreatedAt int64
	UpdatedAt int64
}

// ClaimEvent is one entry of a claim's audit log.
type ClaimEvent struct {
	Seq      int64
	Claim    string
	Actor    string
	Kind     string
	Body     string
	At       int64
	PrevHash string
	Hash     string
}

// ApproveParams turn a match into a claim.
type ApproveParams struct {
	ClaimID string
	MatchID string
	Holder  string
	Price   int64 // 0: keep the shop's price
	At      int64
	Note    string // audit body
}

// Resolution of a disputed claim.
const (
	Uphold  = "uphold"
	Reverse = "reverse"
)

// Transfer flags: TigerBeetle's two-phase transfers. A pending transfer
// moves its amount into the accounts' pending counters (a hold); a later
// post-pending transfer (PendingID naming it) moves it to the posted
// counters, or a void-pending transfer releases it. Plain transfers have
// no flags.
const (
	FlagPending     = 2
	FlagPostPending = 4
	FlagVoidPending = 8
)

// Ledger accounts of the payout side.
const (
	// AccountPayoutPending holds withdrawals between the hold and the
	// confirmation of their transaction (a liability).
	AccountPayoutPending = "liab:payout-pending"
	// AccountPayoutFees collects the fees charged on withdrawals.
	AccountPayoutFees = "rev:payout-fee"
	// AccountNetworkFees is what the shop paid miners.
	AccountNetworkFees = "exp:network-fee"
)

// CodeNetworkFee books the fee a payout transaction paid to miners.
const CodeNetworkFee TransferCode = 8

// Payout statuses, as `payouts` shows them.
const (
	PayoutPending   = "pending"   // held; waiting for a batch or a signature
	PayoutSigned    = "signed"    // the signed transaction is stored, not yet sent
	PayoutBroadcast = "broadcast" // sent to the node; waiting for a block
	PayoutConfirmed = "confirmed" // mined: the hold is posted
	PayoutFailed    = "failed"    // the transaction can never confirm: the hold is voided
)

// Batch statuses. An unsigned batch that expires is cancelled and its
// payouts wait for the next one; nothing was ever signed for it.
const (
	BatchUnsigned  = "unsigned"
	BatchSigned    = "signed"
	BatchBroadcast = "broadcast"
	BatchConfirmed = "confirmed"
	BatchFailed    = "failed"
	BatchCancelled = "cancelled"
)

// Payout is one withdrawal: amount to an address, fee charged on top.
type Payout struct {
	ID        string
	Account   string
	Wallet    int64
	Address   string
	PkScript  []byte
	Amount    int64
	Fee       int64
	Status    string
	Batch     string // "" until batched
	TxID      string // "" until signed
	CreatedAt int64
	UpdatedAt int64
}

// HoldID is the id of the payout's pending transfer.
func (p *Payout) HoldID() string { return "payout:" + p.ID }

// SpendableOutput is one of the shop's own confirmed outputs: a credited
// deposit (Branch 0) or the change of a confirmed batch (Branch 1), at
// account key path Branch/Index.
type SpendableOutput struct {
	TxID     string
	Vout     uint32
	Amount   int64
	PkScript []byte
	Branch   uint32
	Index    uint32
}

// PayoutBatch is one payout transaction. Its unsigned transaction is fixed
// when it is built; the signed one must match it exactly.
type PayoutBatch struct {
	ID             string
	Status         string
	PSBT           []byte // the unsigned PSBT, binary
	UnsignedTx     []byte
	TxID           string // of the unsigned tx; a segwit signature does not change it
	FeeRate        int64  // sat/vB it was built at
	Fee            int64  // Σ inputs − Σ outputs
	ChangeIndex    int64  // -1: no change
	ChangeVout     int64  // -1: no change
	ChangeAmount   int64
	ChangeScript   []byte
	Inputs         []SpendableOutput
	RawTx          []byte // the signed transaction, once submitted
	Signer         string
	Height         int64 // confirmed: the block
	BlockHash      string
	Attempts       int
	LastError      string
	ConflictHeight int64 // > 0: from this height an input was seen spent elsewhere
	CreatedAt      int64
	SignedAt       int64
	BroadcastAt    int64
	ConfirmedAt    int64
}

// Pairing is a one-time link that pairs a browser with an account. Only
// the hash of its token is kept.
type Pairing struct {
	TokenHash      string
	Account        string
	PerPurchaseCap int64 // suggested caps, the reader may change them
	DailyCap       int64
	CreatedAt      int64
	ExpiresAt      int64
	UsedAt         int64
	Session        string // the session it became
}

// BrowserSession is a paired browser. Its cookie holds a secret whose
// hash is kept; ID is the public name `sessions` lists.
type BrowserSession struct {
	ID             string
	SecretHash     string
	Account        string
	Label          string
	PerPurchaseCap int64 // a click above it asks first
	DailyCap       int64 // per UTC day; a click that would pass it asks first
	SpentToday     int64 // reserved or paid on the day asked about
	CreatedAt      int64
	LastUsedAt     int64
	ExpiresAt      int64
	RevokedAt      int64
}

// Browser payment statuses.
const (
	BrowserReserved = "reserved"
	BrowserPaid     = "paid"
)

// BrowserPayment is one click of a paired browser: reserved against the
// session's caps before the purchase, settled (or released) after it.
type BrowserPayment struct {
	Session   string
	Click     string
	Shop      string
	Day       int64 // UTC days since 1970-01-01
	Amount    int64
	Status    string
	Purchase  string
	Confirmed bool // the reader confirmed a click above a cap
	CreatedAt int64
	UpdatedAt int64
}

// Refusals of the browser store.
var (
	ErrOverCap     = errorString("above this browser's spending cap")
	ErrRateLimited = errorString("too many requests; try again later")
)
