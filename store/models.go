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
}

// LedgerTotals sums every balance row.
type LedgerTotals struct {
	DebitsPosted, CreditsPosted   int64
	DebitsPending, CreditsPending int64
	NegativeWallets               int // wallets whose debits exceed credits
	Transfers                     int64
	TransferSum                   int64 // Σ amount over transfers
	Purchases                     int64
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
}

// Refusals an op may end in.
var (
	ErrInsufficientFunds = errorString("insufficient funds")
	ErrPriceAboveMax     = errorString("price is above --max-price")
	ErrSelfPurchase      = errorString("you are this shop's payee")
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
