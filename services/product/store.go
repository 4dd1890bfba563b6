package product

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
)

// productRow is a row of products: the product aggregate without its
// variants, images and reactions.
type productRow struct {
	ID          uuid.UUID
	SellerID    string
	CategoryID  uuid.UUID
	Name        string
	Slug        string
	Description string
	Price       int64
	Currency    string
	SKU         *string
	Status      string
	Properties  []contracts.Property
	Featured    bool
	Stock       int64
	Reserved    int64
	RatingSum   int64
	RatingCount int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// variantState is what a write needs to know of an existing variant: the
// units held for orders (a variant holding some cannot be removed) and its
// image.
type variantState struct {
	reserved int64
	image    *uuid.UUID
}

// categoryRow is a row of categories, as the tree is built from.
type categoryRow struct {
	ID        uuid.UUID
	ParentID  *uuid.UUID
	Name      string
	Slug      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// categoryState is what a category write needs to know of a locked
// category.
type categoryState struct {
	Path     []uuid.UUID // ancestors and itself, root first
	Name     string
	Children bool // it has sub-categories
	Products bool // products are attached to it
}

// Errors of catalogStore and catalogTx that the domain turns into answers
// (the adapter maps its constraint violations to them; other conflicts
// come as *contracts.Error conflict already).
var (
	// errSlugTaken: another product or category holds the slug.
	errSlugTaken = errors.New("slug taken")
	// errSiblingName: a sibling category has the same name (ignoring case).
	errSiblingName = errors.New("sibling category name taken")
	// errInUse: a row still references what was to be deleted.
	errInUse = errors.New("in use")
	// errAlreadyReviewed: the user has reviewed the product already.
	errAlreadyReviewed = errors.New("already reviewed")
)

// catalogStore is the persistence the domain's catalogue code needs
// (products, categories, the inventory RPCs, reviews, comments, reactions,
// synonyms, tombstones); the SQL is in the PostgreSQL adapter
// (pgcatalog.go, pgreviews.go, pgsocial.go), and that code sees only this
// interface (and catalogTx inside a write).
// Not-found conditions are *contracts.Error not_found unless a method says
// otherwise. Implementations are safe for concurrent use.
type catalogStore interface {
	// Write runs fn in one transaction, retried whole on serialization
	// failures and deadlocks (so fn must be repeatable): what fn did
	// through its catalogTx commits together with the events it wrote, or
	// not at all.
	Write(ctx context.Context, fn func(catalogTx) error) error
	// ProductOwner returns the seller and price of product id, unlocked
	// (a pre-check; a write's authority is its LockProduct).
	ProductOwner(ctx context.Context, id uuid.UUID) (sellerID string, price int64, err error)
	// VariantImages returns the image files of product id's variants.
	VariantImages(ctx context.Context, id uuid.UUID) (map[uuid.UUID]bool, error)
	// ProductIDBySlug finds a product by slug; ok is false for none.
	ProductIDBySlug(ctx context.Context, slug string) (id uuid.UUID, ok bool, err error)
	// LoadDocs builds the documents of ids in one snapshot (unknown ids
	// are absent from the map).
	LoadDocs(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*contracts.Product, error)
	// Categories returns every category ordered by name then id, and the
	// number of active products directly in each.
	Categories(ctx context.Context) ([]categoryRow, map[uuid.UUID]int64, error)
	// Inventory returns product id's seller and stock (its variants' too)
	// and up to limit ledger entries older than the entry numbered before,
	// newest first, with their numbers (seq).
	Inventory(ctx context.Context, id uuid.UUID, before int64, limit int) (sellerID string, inv *contracts.Inventory, seq []int64, err error)
	// DeletedProducts returns the tombstones (seller, last name and slug)
	// of those ids that name deleted products, by id.
	DeletedProducts(ctx context.Context, ids []string) (map[string]contracts.LookupItem, error)
	// Synonyms returns the search synonyms by term.
	Synonyms(ctx context.Context) ([]contracts.Synonym, error)
	// SetSynonyms replaces the search synonyms in one transaction (terms
	// stored folded; synonyms of terms that fold alike are merged).
	SetSynonyms(ctx context.Context, items []contracts.Synonym) error
	// Seed adds n synthetic products and their categories (for
	// development and benchmarks; see pgseed.go's Seed), then sets the
	// stock of every seeded product to stock when it is above 0.
	Seed(ctx context.Context, n int, stock int64) error

	reviewReads
	commentReads
}

// commentReads are the reads of comments.
type commentReads interface {
	// Comments returns up to limit top-level comments of product id,
	// newest first, older than after (nil: from the newest).
	Comments(ctx context.Context, id uuid.UUID, after *timeCursor, limit int) ([]contracts.Comment, error)
	// Replies returns the first max replies (oldest first) to each of
	// roots.
	Replies(ctx context.Context, roots []uuid.UUID, max int) ([]contracts.Comment, error)
}

// socialTx is what one write transaction does to comments and reactions.
type socialTx interface {
	// Comment loads comment id's product, parent (nil for a top-level
	// comment) and author, unlocked.
	Comment(ctx context.Context, id uuid.UUID) (productID uuid.UUID, parent *uuid.UUID, userID string, err error)
	// InsertComment inserts cm (its ID, ProductID, ParentID, UserID, Body,
	// IsQuestion and BySeller) and returns it as stored.
	InsertComment(ctx context.Context, cm contracts.Comment) (contracts.Comment, error)
	// LockComment locks comment id and returns its author.
	LockComment(ctx context.Context, id uuid.UUID) (userID string, err error)
	// DeleteComment deletes comment id and its replies.
	DeleteComment(ctx context.Context, id uuid.UUID) error
	// AddReaction records userID's reaction typ to product id (again is
	// a no-op).
	AddReaction(ctx context.Context, id uuid.UUID, userID, typ string) error
	// RemoveReactions removes userID's reaction typ to product id, or all
	// of theirs when typ is empty.
	RemoveReactions(ctx context.Context, id uuid.UUID, userID, typ string) error
	// ReactionCounts counts product id's reactions by type.
	ReactionCounts(ctx context.Context, id uuid.UUID) (map[string]int64, error)
}

// reviewReads are the reads of reviews and of what a review needs.
type reviewReads interface {
	// Product loads product id, unlocked.
	Product(ctx context.Context, id uuid.UUID) (productRow, error)
	// Bought reports whether userID has a paid order holding product id
	// (a committed reservation: an order cancelled or refunded before
	// shipping does not count).
	Bought(ctx context.Context, userID string, id uuid.UUID) (bool, error)
	// HasReviewed reports whether userID has reviewed product id.
	HasReviewed(ctx context.Context, id uuid.UUID, userID string) (bool, error)
	// Reviews returns up to limit reviews of product id, newest first,
	// older than after (nil: from the newest).
	Reviews(ctx context.Context, id uuid.UUID, after *timeCursor, limit int) ([]contracts.Review, error)
	// Review loads review id, unlocked.
	Review(ctx context.Context, id uuid.UUID) (contracts.Review, error)
}

// reviewTx is what one write transaction does to reviews and the
// product ratings they move.
type reviewTx interface {
	// Product and Bought are as reviewReads', inside the transaction.
	Product(ctx context.Context, id uuid.UUID) (productRow, error)
	Bought(ctx context.Context, userID string, id uuid.UUID) (bool, error)
	// InsertReview inserts a verified-purchase review (id, product, user,
	// rating, title, body and images taken from r) and returns it as
	// stored; a second review of the product by the user is
	// errAlreadyReviewed.
	InsertReview(ctx context.Context, r contracts.Review, images []uuid.UUID) (contracts.Review, error)
	// LockReview loads review id FOR UPDATE.
	LockReview(ctx context.Context, id uuid.UUID) (contracts.Review, error)
	// SetReviewImages replaces review id's images.
	SetReviewImages(ctx context.Context, id uuid.UUID, images []uuid.UUID) error
	// SaveReview writes r's rating, title and body, moves updated_at and
	// returns the review as stored.
	SaveReview(ctx context.Context, r contracts.Review) (contracts.Review, error)
	// DeleteReview deletes review id.
	DeleteReview(ctx context.Context, id uuid.UUID) error
	// AddRating moves product id's rating sum and count (one atomic
	// increment, so concurrent reviews keep the average exact) and
	// returns the product's identifying fields (id, seller, slug,
	// category, status, name).
	AddRating(ctx context.Context, id uuid.UUID, sum, count int64) (productRow, error)
}

// catalogTx is what one write transaction does to products and
// categories. Each method is one statement or a few; the rules (who may,
// what is valid, what a change implies) are the domain's.
type catalogTx interface {
	// LockProduct loads product id FOR UPDATE.
	LockProduct(ctx context.Context, id uuid.UUID) (productRow, error)
	// InsertProduct inserts p under the category path; a taken slug is
	// errSlugTaken, a taken SKU a conflict.
	InsertProduct(ctx context.Context, p productRow, categoryPath []uuid.UUID) error
	// SaveProduct writes p's name, description, price, SKU, status and
	// properties, and moves updated_at (a taken SKU is a conflict).
	SaveProduct(ctx context.Context, p productRow) error
	// MoveProduct puts product id in category catID with its path.
	MoveProduct(ctx context.Context, id, catID uuid.UUID, categoryPath []uuid.UUID) error
	// Touch moves product id's updated_at.
	Touch(ctx context.Context, id uuid.UUID) error
	// SetFeatured features product id (now) or stops featuring it.
	SetFeatured(ctx context.Context, id uuid.UUID, on bool) error
	// HeldUnits is how many units of product p (variants included) are
	// reserved for orders.
	HeldUnits(ctx context.Context, p productRow) (int64, error)
	// DeleteProduct deletes p and keeps its tombstone (for order
	// histories that name it).
	DeleteProduct(ctx context.Context, p productRow) error
	// AddStock moves the available stock of product id, or of its variant
	// variantID, by delta in one statement unless it would fall below
	// zero; ok is false then, and when the variant is not the product's.
	AddStock(ctx context.Context, id uuid.UUID, variantID *uuid.UUID, delta int64) (ok bool, err error)
	// HasVariant reports whether variantID is a variant of product id.
	HasVariant(ctx context.Context, id, variantID uuid.UUID) (bool, error)
	// Ledger appends a movement to the inventory ledger.
	Ledger(ctx context.Context, productID uuid.UUID, variantID *uuid.UUID, kind string, qty int64, reason, actorID string) error
	// InsertVariant inserts a variant of productID at pos and returns its
	// id (a taken SKU is a conflict).
	InsertVariant(ctx context.Context, productID uuid.UUID, pos int, v contracts.VariantInput) (uuid.UUID, error)
	// LockVariants loads productID's variants FOR UPDATE.
	LockVariants(ctx context.Context, productID uuid.UUID) (map[uuid.UUID]variantState, error)
	// DeleteVariant deletes variant id.
	DeleteVariant(ctx context.Context, id uuid.UUID) error
	// ReleaseVariantSKUs clears the SKUs of productID's variants and moves
	// them out of the positions 0…n, so that UpdateVariant can rewrite
	// them in any order without tripping the unique constraints midway.
	ReleaseVariantSKUs(ctx context.Context, productID uuid.UUID) error
	// UpdateVariant writes variant id's position, SKU, price, properties
	// and image (a taken SKU is a conflict).
	UpdateVariant(ctx context.Context, id uuid.UUID, pos int, v contracts.VariantInput) error
	// Images returns how many images product id has and whether fileID is
	// one of them.
	Images(ctx context.Context, id, fileID uuid.UUID) (n int, has bool, err error)
	// AddImage appends fileID to product id's images.
	AddImage(ctx context.Context, id, fileID uuid.UUID) error
	// RemoveImage removes fileID from product id's images and variants;
	// ok is false when it was not one of its images.
	RemoveImage(ctx context.Context, id, fileID uuid.UUID) (ok bool, err error)

	// CategoryPath returns category id's path, locked against deletion
	// (FOR SHARE); ok is false when there is no such category.
	CategoryPath(ctx context.Context, id uuid.UUID) (path []uuid.UUID, ok bool, err error)
	// LockCategory loads category id FOR UPDATE.
	LockCategory(ctx context.Context, id uuid.UUID) (categoryState, error)
	// FreeSlug returns base, or the first base-N no product (categories
	// false) or category (true) holds.
	FreeSlug(ctx context.Context, categories bool, base string) (string, error)
	// InsertCategory inserts a category and returns its creation time; a
	// taken slug is errSlugTaken, a taken sibling name errSiblingName.
	InsertCategory(ctx context.Context, c categoryRow, path []uuid.UUID) (time.Time, error)
	// SetCategorySlug changes category id's slug (errSlugTaken).
	SetCategorySlug(ctx context.Context, id uuid.UUID, slug string) error
	// RenameCategory renames category id (errSiblingName).
	RenameCategory(ctx context.Context, id uuid.UUID, name string) error
	// MoveCategory puts category id under parent (nil: a root) with
	// newPath, renaming it too when name is not nil, in one statement so
	// the sibling-name index sees its final place (errSiblingName); the
	// paths of its subtree and their products follow. depth is the length
	// of its old path.
	MoveCategory(ctx context.Context, id uuid.UUID, parent *uuid.UUID, name *string, newPath []uuid.UUID, depth int) error
	// DeleteCategory deletes category id (errInUse if something was
	// attached to it meanwhile).
	DeleteCategory(ctx context.Context, id uuid.UUID) error

	reviewTx
	socialTx

	// Event writes an event to the outbox.
	Event(ctx context.Context, typ string, data any) error
}

// productEventOf is the product.created/updated/deleted payload of p.
func productEventOf(p productRow) contracts.ProductChanged {
	return contracts.ProductChanged{
		ProductID: p.ID.String(), SellerID: p.SellerID, Slug: p.Slug,
		CategoryID: p.CategoryID.String(), Status: p.Status, Name: p.Name,
	}
}

// inventoryStore is the persistence of the reservations driven by order
// events (inventory.go, events.go); the SQL is in pginventory.go. Its
// transactions run at READ COMMITTED, and the domain's concurrency
// arguments (reserve and release commute, no oversell) rest on each
// inventoryTx method being one statement, seeing what committed before it
// started. Implementations are safe for concurrent use.
type inventoryStore interface {
	// Write runs fn in one transaction, retried whole on serialization
	// failures and deadlocks (so fn must be repeatable).
	Write(ctx context.Context, fn func(inventoryTx) error) error
	// HandleOnce runs fn in one transaction that also records ev as
	// handled by this service; an event handled before is skipped (fn is
	// not called) and nil returned.
	HandleOnce(ctx context.Context, ev contracts.Event, fn func(inventoryTx) error) error
}

// dueReservation is a held reservation past its time.
type dueReservation struct {
	orderID uuid.UUID
	userID  string
}

// inventoryTx is what one transaction does to stock and reservations. Each
// method is one statement unless it says otherwise.
type inventoryTx interface {
	// NewReservation inserts order oid's reservation as held; ok is false
	// when the order has one already (or a tombstone), which it waits for
	// if that one is uncommitted.
	NewReservation(ctx context.Context, oid uuid.UUID, userID string) (ok bool, err error)
	// Savepoint runs fn inside a savepoint of the transaction, on a
	// inventoryTx of that savepoint: rolled back when fn returns keep
	// false or an error, released otherwise.
	Savepoint(ctx context.Context, fn func(inventoryTx) (keep bool, err error)) error
	// Take moves l.qty units of a line from stock to reserved, only if
	// that many are available on an active product (ok false otherwise,
	// nothing changed). It returns the product's identifying fields (for
	// events) and its available stock after the move.
	Take(ctx context.Context, l stockLine) (ok bool, p productRow, after int64, err error)
	// Available returns the units of a line available now (0 for an
	// unknown or inactive product or variant).
	Available(ctx context.Context, l stockLine) (int64, error)
	// AddLine records line i of order oid's reservation.
	AddLine(ctx context.Context, oid uuid.UUID, i int, l stockLine) error
	// Lines loads the lines of order oid's reservation, in order.
	Lines(ctx context.Context, oid uuid.UUID) ([]stockLine, error)
	// MoveUnits adds dStock units to a line's available stock and
	// dReserved to its reserved units, and returns the product's
	// identifying fields and the available stock after; found is false
	// when the product or variant no longer exists.
	MoveUnits(ctx context.Context, l stockLine, dStock, dReserved int64) (p productRow, after int64, found bool, err error)
	// OrderLedger appends a movement of an order's line to the inventory
	// ledger.
	OrderLedger(ctx context.Context, l stockLine, kind, reason, actorID string, oid uuid.UUID) error
	// LockReservation locks order oid's reservation and returns its
	// status; found is false when it has none (visible to this
	// statement).
	LockReservation(ctx context.Context, oid uuid.UUID) (status string, found bool, err error)
	// Tombstone inserts a released reservation for order oid; ok is false
	// when the order has one already (committed before this statement,
	// or after it waited on it).
	Tombstone(ctx context.Context, oid uuid.UUID, userID, reason string) (ok bool, err error)
	// SetReservation moves order oid's reservation to status, with
	// reason (an empty reason keeps the one it has), and moves its
	// updated_at.
	SetReservation(ctx context.Context, oid uuid.UUID, status, reason string) error
	// DueReservations locks up to limit reservations held for longer than
	// ttl, oldest first, skipping those another transaction holds.
	DueReservations(ctx context.Context, ttl time.Duration, limit int) ([]dueReservation, error)
	// ForgetFile removes file fileID from every product's images and
	// variants and moves their updated_at; it returns those products
	// (locked, in id order) as they were.
	ForgetFile(ctx context.Context, fileID uuid.UUID) ([]productRow, error)
	// ForgetReviewImage removes file fileID from every review's images.
	ForgetReviewImage(ctx context.Context, fileID uuid.UUID) error
	// Event writes an event to the outbox.
	Event(ctx context.Context, typ string, data any) error
}

// wordLookup is what the store knows of one word of a search text.
type wordLookup struct {
	folded   string   // lower case, accents folded
	known    bool     // in the lexicon (search_words)
	prefixes bool     // the last word, and some lexicon word starts with it
	synonyms []string // the store's synonyms of the word (phrases)
	near     []string // for a word neither known nor a known prefix: nearest lexicon words by trigrams
	lexemes  int      // lexemes of the word in oc_search: 0 for a stop word
}

// searchStore is the persistence of search (search.go, searchq.go,
// facets.go, suggest.go); the SQL is in pgsearch.go. Each method is one
// statement, so the query plans measured in the package doc hold. The
// domain analyses the text, decides the page strategy (the term table,
// then the ranking query) and the caching; the store turns an analysed
// listQuery into its statement. Implementations are safe for concurrent
// use.
type searchStore interface {
	// Analyse looks a search text up in one round trip: the active
	// products whose SKU or a variant's SKU is text (when maybeSKU), and
	// each of words (the last one also as a prefix) in order.
	Analyse(ctx context.Context, words []string, maybeSKU bool, text string) (sku []string, found []wordLookup, err error)
	// Count returns the number of products q matches.
	Count(ctx context.Context, q *listQuery) (int64, error)
	// Keys returns the sort keys of q's page after q.after, up to
	// q.limit+1, in q's order (relevance ranks every match).
	Keys(ctx context.Context, q *listQuery) ([]cursor, error)
	// TermKeys is Keys for the exact matches (tiers above 0) of a query
	// the term table serves (q.termsServed()).
	TermKeys(ctx context.Context, q *listQuery) ([]cursor, error)
	// InexactKeys is Keys for the prefix-only matches (tier 0) of a query
	// the term table serves.
	InexactKeys(ctx context.Context, q *listQuery) ([]cursor, error)
	// Facets counts q's matches by each facet of q.facets, in one
	// statement; one JSON value per facet, in that order (see setFacet).
	Facets(ctx context.Context, q *listQuery) ([][]byte, error)
	// Suggest returns up to limit suggestions for the words typed (the
	// last a prefix): categories first, then product names (see
	// suggestSQL); inside also matches words inside names.
	Suggest(ctx context.Context, words []string, limit int, inside bool) ([]contracts.Suggestion, error)
}
