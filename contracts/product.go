package contracts

import (
	"strings"
	"time"
)

// The product service's RPC methods (routed by edge/routes.go, see docs/API.md). Methods routed by
// the gateway take an Envelope (params + the client's body, the type named in
// the comment); product.lookup is service-to-service and takes
// LookupRequest directly.
const (
	MethodProductCategoriesTree   = "product.categories.tree"   // → CategoryTree
	MethodProductCategoriesGet    = "product.categories.get"    // params id → Category (with its subtree)
	MethodProductCategoriesCreate = "product.categories.create" // body CategoryInput → Category (201)
	MethodProductCategoriesUpdate = "product.categories.update" // params id, body CategoryPatch → Category
	MethodProductCategoriesDelete = "product.categories.delete" // params id → {} (204)
	MethodProductList             = "product.list"              // params ProductListParams → ProductList
	MethodProductFeaturedList     = "product.featured.list"     // params limit, cursor → List[Product]
	MethodProductGetBySlug        = "product.get_by_slug"       // params slug → Product
	MethodProductGet              = "product.get"               // params id → Product
	MethodProductCreate           = "product.create"            // body ProductInput → Product (201)
	MethodProductUpdate           = "product.update"            // params id, body ProductPatch → Product
	MethodProductDelete           = "product.delete"            // params id → {} (204)
	MethodProductFeaturedSet      = "product.featured.set"      // params id → Product
	MethodProductFeaturedUnset    = "product.featured.unset"    // params id → {} (204)
	MethodProductImagesAdd        = "product.images.add"        // params id, body ImageAddRequest → Image (201)
	MethodProductImagesRemove     = "product.images.remove"     // params id, file_id → {} (204)
	MethodProductInventoryGet     = "product.inventory.get"     // params id, limit, cursor → Inventory
	MethodProductInventoryAdjust  = "product.inventory.adjust"  // params id, body InventoryAdjustRequest → Inventory
	MethodProductReviewsList      = "product.reviews.list"      // params id, limit, cursor → List[Review]
	MethodProductReviewsCreate    = "product.reviews.create"    // params id, body ReviewInput → Review (201)
	MethodProductReviewsUpdate    = "product.reviews.update"    // params id (review), body ReviewPatch → Review
	MethodProductReviewsDelete    = "product.reviews.delete"    // params id (review) → {} (204)
	MethodProductCommentsList     = "product.comments.list"     // params id, limit, cursor → List[Comment]
	MethodProductCommentsCreate   = "product.comments.create"   // params id, body CommentInput → Comment (201)
	MethodProductCommentsReply    = "product.comments.reply"    // params id (comment), body CommentInput → Comment (201)
	MethodProductCommentsDelete   = "product.comments.delete"   // params id (comment) → {} (204)
	MethodProductReactionsSet     = "product.reactions.set"     // params id, body ReactionInput → ReactionReply
	MethodProductReactionsRemove  = "product.reactions.remove"  // params id, type? (query or body) → {} (204)
	MethodProductLookup           = "product.lookup"            // LookupRequest → LookupReply (service-to-service)
	MethodProductSuggest          = "product.suggest"           // params q, limit → SuggestReply
	MethodProductSynonymsGet      = "product.synonyms.get"      // → Synonyms (admin)
	MethodProductSynonymsSet      = "product.synonyms.set"      // body Synonyms → Synonyms (admin; replaces the set)
)

// The product service's events.
const (
	EventProductCreated = "product.created" // ProductChanged
	EventProductUpdated = "product.updated" // ProductChanged
	EventProductDeleted = "product.deleted" // ProductChanged
	// EventCategoriesChanged says the category tree changed (a category was
	// created, renamed, moved or deleted), so caches of the tree refresh.
	EventCategoriesChanged = "product.categories_changed" // CategoriesChanged
	EventInventoryReserved = "inventory.reserved"         // InventoryReserved
	EventInventoryRejected = "inventory.rejected"         // InventoryRejected
	EventInventoryReleased = "inventory.released"         // InventoryReleased
	EventReviewCreated     = "review.created"             // ReviewCreated
	EventCommentCreated    = "comment.created"            // CommentCreated
)

// Product statuses. Only active products are listed to the public and can
// be reserved; archived products stay readable by id (old links, order
// history); drafts are visible to their seller and admins only.
const (
	ProductDraft    = "draft"
	ProductActive   = "active"
	ProductArchived = "archived"
)

// Stock statuses shown to shoppers (the exact count is in Product.Stock).
const (
	StockInStock    = "in_stock"
	StockLow        = "low_stock" // 1..LowStockThreshold units available
	StockOutOfStock = "out_of_stock"
	// LowStockThreshold is the number of available units at or below which
	// a product is low_stock.
	LowStockThreshold = 5
)

// StockStatusOf maps an available quantity to a stock status.
func StockStatusOf(available int64) string {
	switch {
	case available <= 0:
		return StockOutOfStock
	case available <= LowStockThreshold:
		return StockLow
	default:
		return StockInStock
	}
}

// Inventory ledger kinds.
const (
	LedgerIncoming    = "incoming"    // stock received (positive)
	LedgerOutgoing    = "outgoing"    // reserved units sold (order paid)
	LedgerReservation = "reservation" // units held for an order
	LedgerRelease     = "release"     // held units returned (cancelled, expired)
	LedgerAdjustment  = "adjustment"  // manual correction (signed)
)

// Reasons of inventory.released and inventory.rejected.
const (
	ReleaseCancelled = "cancelled"
	ReleaseExpired   = "expired"
	RejectOutOfStock = "out_of_stock"
)

// ReactionTypes are the accepted reaction types.
var ReactionTypes = []string{"like", "love", "haha", "wow", "sad", "angry"}

// Category is one node of the category tree. ProductCount counts the active
// products of the category and all its sub-categories.
type Category struct {
	ID           string      `json:"id"`
	Name         string      `json:"name"`
	Slug         string      `json:"slug"`
	ParentID     *string     `json:"parent_id"`
	ProductCount int64       `json:"product_count"`
	Children     []*Category `json:"children"`
	CreatedAt    time.Time   `json:"created_at"`
	UpdatedAt    time.Time   `json:"updated_at"`
}

// CategoryTree is the reply of product.categories.tree: the root categories.
type CategoryTree struct {
	Items []*Category `json:"items"`
}

// CategoryInput is the body of product.categories.create. Slug is derived
// from Name when empty and made unique.
type CategoryInput struct {
	Name     string  `json:"name"`
	Slug     string  `json:"slug,omitempty"`
	ParentID *string `json:"parent_id,omitempty"`
}

// CategoryPatch is the body of product.categories.update. ParentID moves the
// category (with its subtree); an empty string makes it a root. Moving a
// category under itself or one of its descendants is invalid_argument.
type CategoryPatch struct {
	Name     *string `json:"name,omitempty"`
	Slug     *string `json:"slug,omitempty"`
	ParentID *string `json:"parent_id,omitempty"`
}

// Property is a key/value attribute of a product or a variant.
type Property struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Image is a product image: a file of the file service.
type Image struct {
	FileID       string `json:"file_id"`
	URL          string `json:"url"`
	ThumbnailURL string `json:"thumbnail_url"`
}

// ImageOf returns the Image of a file id with its public URLs.
func ImageOf(fileID string) Image {
	return Image{FileID: fileID, URL: "/api/v1/files/" + fileID, ThumbnailURL: "/api/v1/files/" + fileID + "/thumbnail"}
}

// Variant is a purchasable variation of a product (size, colour…) with its
// own price, SKU and stock (available units; reserved units excluded).
type Variant struct {
	ID          string     `json:"id"`
	SKU         string     `json:"sku,omitempty"`
	Price       Money      `json:"price"`
	Stock       int64      `json:"stock"`
	StockStatus string     `json:"stock_status"`
	Properties  []Property `json:"properties"`
	Image       *Image     `json:"image"`
}

// Rating is a product's review summary: Average is exactly Sum/Count (0
// when there are no reviews).
type Rating struct {
	Average float64 `json:"average"`
	Count   int64   `json:"count"`
}

// Product is the public shape of a product. Stock is the available
// quantity: of the product itself, or for a product with variants (which is
// bought by variant) the sum over its variants; StockStatus always agrees
// with Stock.
type Product struct {
	ID          string           `json:"id"`
	Slug        string           `json:"slug"`
	Name        string           `json:"name"`
	Description string           `json:"description"`
	CategoryID  string           `json:"category_id"`
	SellerID    string           `json:"seller_id"`
	Price       Money            `json:"price"`
	SKU         string           `json:"sku,omitempty"`
	Status      string           `json:"status"`
	Properties  []Property       `json:"properties"`
	Variants    []Variant        `json:"variants"`
	Images      []Image          `json:"images"`
	Stock       int64            `json:"stock"`
	StockStatus string           `json:"stock_status"`
	Rating      Rating           `json:"rating"`
	Reactions   map[string]int64 `json:"reactions"`
	Featured    bool             `json:"featured"`
	CreatedAt   time.Time        `json:"created_at"`
	UpdatedAt   time.Time        `json:"updated_at"`
}

// VariantInput describes a variant in ProductInput and ProductPatch. In a
// patch, a variant with ID updates that variant (Stock is ignored: use the
// inventory), one without ID is created with Stock as its initial stock, and
// existing variants left out are deleted (refused while they hold reserved
// units). ImageFileID must be a product_image file of the seller.
type VariantInput struct {
	ID          string     `json:"id,omitempty"`
	SKU         string     `json:"sku,omitempty"`
	Price       *Money     `json:"price,omitempty"` // default: the product's price
	Stock       int64      `json:"stock,omitempty"`
	Properties  []Property `json:"properties,omitempty"`
	ImageFileID string     `json:"image_file_id,omitempty"`
}

// ProductInput is the body of product.create. Price.Currency defaults to
// USD. Status defaults to active. Price (and each variant's) must be at
// least 1 minor unit and CategoryID is required. Stock is the initial
// product-level stock (an "incoming" ledger entry); a product with
// variants is bought by variant, so give each variant its stock instead.
// An admin may create for another seller with SellerID.
type ProductInput struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	CategoryID  string         `json:"category_id"`
	Price       Money          `json:"price"`
	SKU         string         `json:"sku,omitempty"`
	Status      string         `json:"status,omitempty"`
	Properties  []Property     `json:"properties,omitempty"`
	Variants    []VariantInput `json:"variants,omitempty"`
	Stock       int64          `json:"stock,omitempty"`
	SellerID    string         `json:"seller_id,omitempty"`
}

// ProductPatch is the body of product.update; absent fields are unchanged.
// Variants, when present, is the full new list (see VariantInput). The slug
// never changes (links stay valid). An empty SKU clears it.
type ProductPatch struct {
	Name        *string         `json:"name,omitempty"`
	Description *string         `json:"description,omitempty"`
	CategoryID  *string         `json:"category_id,omitempty"`
	Price       *Money          `json:"price,omitempty"`
	SKU         *string         `json:"sku,omitempty"`
	Status      *string         `json:"status,omitempty"`
	Properties  *[]Property     `json:"properties,omitempty"`
	Variants    *[]VariantInput `json:"variants,omitempty"`
}

// Sorts of product.list.
const (
	SortRelevance = "relevance" // needs q; without q it is newest
	SortNewest    = "newest"
	SortPriceAsc  = "price_asc"
	SortPriceDesc = "price_desc"
	SortRating    = "rating"
)

// ProductListParams documents the query parameters of product.list (they
// travel in Envelope.Params): q (search text; see below), category
// (repeatable; includes sub-categories), min_price and max_price (minor
// units, inclusive), sort, limit (1..100, default 20), cursor (opaque, from
// next_cursor; only valid with the same sort), total=true (adds the total
// number of matches), seller (a seller id; the seller themself or an admin
// also sees drafts and archived products, optionally filtered by status),
// in_stock (true: products with available units on the product or a
// variant; false: the others), min_rating (1..5: average rating at least
// that), property (repeatable "key:value", matched on the product or any
// variant; values of one key are alternatives, different keys must all
// match), and facets (comma-separated FacetCategory, FacetPrice,
// FacetRating, FacetInStock, FacetProperties: the reply's Facets).
//
// q: accents and case do not matter, words are stemmed (english), the last
// word also matches as a prefix (as one types), a word the catalogue does
// not know is replaced by the nearest known words (typos), a store's
// synonyms are added, and a q equal to a product's or variant's SKU finds
// that product first. Quotes, "or" and a leading "-" switch to web search
// syntax (phrases, alternatives, exclusions) without prefix, typo and
// synonym handling.
type ProductListParams struct {
	Q          string   `json:"q,omitempty"`
	Categories []string `json:"category,omitempty"`
	MinPrice   *int64   `json:"min_price,omitempty"`
	MaxPrice   *int64   `json:"max_price,omitempty"`
	Sort       string   `json:"sort,omitempty"`
	Limit      int      `json:"limit,omitempty"`
	Cursor     string   `json:"cursor,omitempty"`
	Total      bool     `json:"total,omitempty"`
	SellerID   string   `json:"seller,omitempty"`
	Status     string   `json:"status,omitempty"`
	InStock    *bool    `json:"in_stock,omitempty"`
	MinRating  int      `json:"min_rating,omitempty"`
	Properties []string `json:"property,omitempty"`
	Facets     string   `json:"facets,omitempty"`
}

// Facet names of ProductListParams.Facets.
const (
	FacetCategory   = "category"
	FacetPrice      = "price"
	FacetRating     = "rating"
	FacetInStock    = "in_stock"
	FacetProperties = "properties"
)

// ProductList is the reply of product.list: a page of products, and, when
// asked for, the total and the facets of all the matches (not only the
// page). Corrected is the query as searched when typos were corrected
// ("hedphones" → "headphones").
type ProductList struct {
	Items      []Product      `json:"items"`
	NextCursor string         `json:"next_cursor,omitempty"`
	Total      *int64         `json:"total,omitempty"`
	Corrected  string         `json:"corrected,omitempty"`
	Facets     *ProductFacets `json:"facets,omitempty"`
}

// ProductFacets counts the matches of a product.list by the values a
// shopper can narrow them with; each count is over all the matches of the
// current filters. Only the facets asked for are present.
type ProductFacets struct {
	// Categories counts matches per category (the product's own category;
	// filter with category=ID, which includes sub-categories), most first.
	Categories []CategoryFacet `json:"categories,omitempty"`
	// Price counts matches per price bucket (filter with min_price and
	// max_price of the bucket; Max is absent on the last, open bucket).
	Price []PriceFacet `json:"price,omitempty"`
	// Rating counts matches whose average rating is at least Min (filter
	// with min_rating), for Min 4, 3, 2, 1.
	Rating []RatingFacet `json:"rating,omitempty"`
	// InStock counts matches with and without available units (filter with
	// in_stock=true or false).
	InStock *InStockFacet `json:"in_stock,omitempty"`
	// Properties counts matches per property value, over the product's and
	// its variants' properties (filter with property=key:value).
	Properties []PropertyFacet `json:"properties,omitempty"`
}

// CategoryFacet is one category of ProductFacets.Categories.
type CategoryFacet struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// PriceFacet is one price bucket, in minor units, both ends inclusive.
type PriceFacet struct {
	Min   int64  `json:"min"`
	Max   *int64 `json:"max,omitempty"`
	Count int64  `json:"count"`
}

// RatingFacet counts the matches rated Min or better.
type RatingFacet struct {
	Min   int   `json:"min"`
	Count int64 `json:"count"`
}

// InStockFacet counts the matches in and out of stock.
type InStockFacet struct {
	InStock    int64 `json:"in_stock"`
	OutOfStock int64 `json:"out_of_stock"`
}

// PropertyFacet counts the matches per value of one property key (at most
// 20 values, most first).
type PropertyFacet struct {
	Key    string       `json:"key"`
	Values []ValueCount `json:"values"`
}

// ValueCount is one value of a PropertyFacet.
type ValueCount struct {
	Value string `json:"value"`
	Count int64  `json:"count"`
}

// Suggestion kinds.
const (
	SuggestProduct  = "product"
	SuggestCategory = "category"
)

// Suggestion is one entry of a search box's list: a product name (Slug is
// the most popular active product of that name) or a category.
type Suggestion struct {
	Kind string `json:"kind"`
	Text string `json:"text"`
	ID   string `json:"id"`
	Slug string `json:"slug"`
}

// SuggestReply is the reply of product.suggest (params q: what was typed,
// 1..100 characters; limit 1..10, default 10): categories whose name has a
// word starting with the last word typed, then product names matching
// every word (the last as a prefix), most popular first; accents and case
// do not matter.
type SuggestReply struct {
	Items []Suggestion `json:"items"`
}

// Synonym makes a query word also match each of its synonyms.
type Synonym struct {
	// Term is one word (letters and digits), compared without accents and
	// case.
	Term string `json:"term"`
	// Synonyms are words or phrases (1..10 of them, each at most 5 words).
	Synonyms []string `json:"synonyms"`
}

// Synonyms is the store's synonym set (product.synonyms.get/set): at most
// 500 terms, each once. Set replaces the whole set.
type Synonyms struct {
	Items []Synonym `json:"items"`
}

// ImageAddRequest is the body of product.images.add.
type ImageAddRequest struct {
	FileID string `json:"file_id"`
}

// LedgerEntry is one inventory movement. Quantity is positive except for
// adjustments, which are signed.
type LedgerEntry struct {
	Kind      string    `json:"kind"`
	Quantity  int64     `json:"quantity"`
	Reason    string    `json:"reason"`
	ActorID   string    `json:"actor_id"`
	OrderID   string    `json:"order_id,omitempty"`
	VariantID string    `json:"variant_id,omitempty"`
	At        time.Time `json:"at"`
}

// VariantStock is the stock of one variant.
type VariantStock struct {
	VariantID string `json:"variant_id"`
	SKU       string `json:"sku,omitempty"`
	Stock     int64  `json:"stock"`
	Reserved  int64  `json:"reserved"`
}

// Inventory is the reply of product.inventory.get/adjust: product-level
// Stock (available) and Reserved, the variants' stock, and the newest
// ledger entries (NextCursor pages on to older ones).
type Inventory struct {
	ProductID  string         `json:"product_id"`
	Stock      int64          `json:"stock"`
	Reserved   int64          `json:"reserved"`
	Variants   []VariantStock `json:"variants"`
	Ledger     []LedgerEntry  `json:"ledger"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// InventoryAdjustRequest is the body of product.inventory.adjust: Adjust is
// added to the available stock of the product (or VariantID); the result may
// not go below zero (failed_precondition). Kind is "adjustment" (default) or
// "incoming" (then Adjust must be positive). Reason is required.
type InventoryAdjustRequest struct {
	Adjust    int64  `json:"adjust"`
	Reason    string `json:"reason"`
	VariantID string `json:"variant_id,omitempty"`
	Kind      string `json:"kind,omitempty"`
}

// Review is a product review; one per user per product. Reviews are for
// customers who bought the product: a review is accepted only from a user
// with a paid order holding it, never from the product's seller.
type Review struct {
	ID        string `json:"id"`
	ProductID string `json:"product_id"`
	UserID    string `json:"user_id"`
	Rating    int    `json:"rating"`
	Title     string `json:"title"`
	Body      string `json:"body"`
	// VerifiedPurchase says the author bought the product (every review
	// written under the rule; older reviews only if a sale is on record).
	VerifiedPurchase bool `json:"verified_purchase"`
	// Images are the review's images (public files), in the order given.
	Images    []Image   `json:"images"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// MaxReviewImages bounds the images of one review.
const MaxReviewImages = 4

// ReviewInput is the body of product.reviews.create. ImageFileIDs are
// files of purpose review_image uploaded by the author (images); attaching
// makes them public.
type ReviewInput struct {
	Rating       int      `json:"rating"`
	Title        string   `json:"title,omitempty"`
	Body         string   `json:"body"`
	ImageFileIDs []string `json:"image_file_ids,omitempty"`
}

// ReviewPatch is the body of product.reviews.update; ImageFileIDs, when
// present, replaces the review's images ([] removes them all).
type ReviewPatch struct {
	Rating       *int      `json:"rating,omitempty"`
	Title        *string   `json:"title,omitempty"`
	Body         *string   `json:"body,omitempty"`
	ImageFileIDs *[]string `json:"image_file_ids,omitempty"`
}

// Comment is a question/comment on a product or a reply to one. Replies are
// one level deep: replying to a reply answers its root comment.
type Comment struct {
	ID         string    `json:"id"`
	ProductID  string    `json:"product_id"`
	ParentID   *string   `json:"parent_id"`
	UserID     string    `json:"user_id"`
	Body       string    `json:"body"`
	IsQuestion bool      `json:"is_question"`
	BySeller   bool      `json:"by_seller"`
	Replies    []Comment `json:"replies,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// CommentInput is the body of product.comments.create and .reply.
type CommentInput struct {
	Body       string `json:"body"`
	IsQuestion bool   `json:"is_question,omitempty"`
}

// ReactionInput is the body of product.reactions.set.
type ReactionInput struct {
	Type string `json:"type"`
}

// ReactionReply is the reply of product.reactions.set: the product's counts
// per type after the change.
type ReactionReply struct {
	ProductID string           `json:"product_id"`
	Type      string           `json:"type"`
	Counts    map[string]int64 `json:"counts"`
}

// VariantLabel names a variant by its properties for people: "Size: M,
// Colour: Blue" ("" without properties).
func VariantLabel(props []Property) string {
	var b strings.Builder
	for i, p := range props {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.Key)
		b.WriteString(": ")
		b.WriteString(p.Value)
	}
	return b.String()
}

// LookupRequest is the body of product.lookup (at most 200 ids).
type LookupRequest struct {
	IDs []string `json:"ids"`
}

// LookupVariant is a variant in a LookupItem: its price and available stock.
type LookupVariant struct {
	ID         string     `json:"id"`
	SKU        string     `json:"sku,omitempty"`
	Price      Money      `json:"price"`
	Stock      int64      `json:"stock"`
	Properties []Property `json:"properties,omitempty"`
}

// LookupItem is one product of a LookupReply. Exists is false for unknown
// (or deleted, or malformed) ids, with every other field but ID empty —
// except for a product that was deleted: Deleted is then true and Name,
// Slug and SellerID are its last known ones (so carts and wishlists can
// still say what it was). Available is Product.Stock: for a product with
// variants (bought by variant) the sum of the variants' stock.
type LookupItem struct {
	ID          string          `json:"id"`
	Exists      bool            `json:"exists"`
	Deleted     bool            `json:"deleted,omitempty"`
	Name        string          `json:"name,omitempty"`
	Slug        string          `json:"slug,omitempty"`
	Price       Money           `json:"price"`
	ImageURL    string          `json:"image_url,omitempty"`
	Status      string          `json:"status,omitempty"`
	StockStatus string          `json:"stock_status,omitempty"`
	Available   int64           `json:"available"`
	SellerID    string          `json:"seller_id,omitempty"`
	Variants    []LookupVariant `json:"variants,omitempty"`
}

// LookupReply answers LookupRequest, one item per requested id, in order.
type LookupReply struct {
	Items []LookupItem `json:"items"`
}

// ProductChanged is the payload of product.created/updated/deleted.
type ProductChanged struct {
	ProductID  string `json:"product_id"`
	SellerID   string `json:"seller_id"`
	Slug       string `json:"slug"`
	CategoryID string `json:"category_id,omitempty"`
	Status     string `json:"status,omitempty"`
	Name       string `json:"name,omitempty"`
}

// InventoryItem is one reserved line in inventory events.
type InventoryItem struct {
	ProductID string `json:"product_id"`
	VariantID string `json:"variant_id,omitempty"`
	Quantity  int64  `json:"quantity"`
}

// InventoryShortfall is one line that could not be reserved: Requested
// units against Available ones (0 for an unknown or inactive product).
type InventoryShortfall struct {
	ProductID string `json:"product_id"`
	VariantID string `json:"variant_id,omitempty"`
	Requested int64  `json:"requested"`
	Available int64  `json:"available"`
}

// InventoryReserved is the payload of inventory.reserved: every line of the
// order is held.
type InventoryReserved struct {
	OrderID string          `json:"order_id"`
	Items   []InventoryItem `json:"items"`
}

// InventoryRejected is the payload of inventory.rejected: nothing was
// reserved; Items lists the lines that fell short.
type InventoryRejected struct {
	OrderID string               `json:"order_id"`
	Reason  string               `json:"reason"`
	Items   []InventoryShortfall `json:"items"`
}

// InventoryReleased is the payload of inventory.released: the order's held
// units went back to stock. Reason is "cancelled" or "expired".
type InventoryReleased struct {
	OrderID string          `json:"order_id"`
	Reason  string          `json:"reason"`
	Items   []InventoryItem `json:"items"`
}

// ReviewCreated is the payload of review.created.
type ReviewCreated struct {
	ReviewID    string `json:"review_id"`
	ProductID   string `json:"product_id"`
	ProductName string `json:"product_name"`
	SellerID    string `json:"seller_id"`
	ReviewerID  string `json:"reviewer_id"`
	Rating      int    `json:"rating"`
	Title       string `json:"title,omitempty"`
}

// CommentCreated is the payload of comment.created. ParentUserID is the
// author of the comment replied to (so they can be told of the answer).
type CommentCreated struct {
	CommentID    string `json:"comment_id"`
	ProductID    string `json:"product_id"`
	ProductName  string `json:"product_name"`
	SellerID     string `json:"seller_id"`
	UserID       string `json:"user_id"`
	ParentID     string `json:"parent_id,omitempty"`
	ParentUserID string `json:"parent_user_id,omitempty"`
	IsQuestion   bool   `json:"is_question"`
	IsReply      bool   `json:"is_reply"`
	BySeller     bool   `json:"by_seller"`
}

// CategoriesChanged is the payload of product.categories_changed.
type CategoriesChanged struct {
	CategoryID string `json:"category_id"`
	// Change is created, updated or deleted.
	Change string `json:"change"`
}

func init() {
	Register("product.category", Category{})
	Register("product.category.input", CategoryInput{})
	Register("product.category.patch", CategoryPatch{})
	Register("product.product", Product{})
	Register("product.product.input", ProductInput{})
	Register("product.product.patch", ProductPatch{})
	Register("product.list", ProductList{})
	Register("product.suggest.reply", SuggestReply{})
	Register("product.synonyms", Synonyms{})
	Register("product.images.add.request", ImageAddRequest{})
	Register("product.inventory", Inventory{})
	Register("product.inventory.adjust.request", InventoryAdjustRequest{})
	Register("product.review", Review{})
	Register("product.review.input", ReviewInput{})
	Register("product.review.patch", ReviewPatch{})
	Register("product.comment", Comment{})
	Register("product.comment.input", CommentInput{})
	Register("product.reaction.input", ReactionInput{})
	Register("product.lookup.request", LookupRequest{})
	Register("product.lookup.reply", LookupReply{})
	Register("event.product.changed", ProductChanged{})
	Register("event.product.categories_changed", CategoriesChanged{})
	Register("event.inventory.reserved", InventoryReserved{})
	Register("event.inventory.rejected", InventoryRejected{})
	Register("event.inventory.released", InventoryReleased{})
	Register("event.review.created", ReviewCreated{})
	Register("event.comment.created", CommentCreated{})
}
