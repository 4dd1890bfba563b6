package edge

import (
	"strings"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
)

// APIPrefix is the prefix of every public route.
const APIPrefix = "/api/v1"

// Access says who may call a route.
type Access int

// Access levels.
const (
	// Public routes need no token; a valid token is still verified and its
	// actor passed on, an invalid one is refused (401), so a client learns
	// its token went bad.
	Public Access = iota
	// User routes need a valid access token; Roles narrows them further.
	User
)

// Rate classes named by routes. Their limits come from Config and the live
// config.
const (
	RateDefault  = "default"
	RateLogin    = "login"
	RateSearch   = "search"
	RateCheckout = "checkout"
	RateUpload   = "upload"
)

// Custom handler names of routes the gateway serves itself (Route.Custom).
const (
	CustomJWKS      = "jwks"
	CustomHealth    = "health"
	CustomOpenAPI   = "openapi"
	CustomStream    = "notifications.stream" // SSE from NATS
	CustomWebSocket = "ws"                   // WebSocket from NATS
	CustomUpload    = "files.upload"         // streamed to the file service
	CustomDownload  = "files.download"       // streamed from the file service
	CustomThumbnail = "files.thumbnail"      // streamed from the file service
	// CustomUnsubscribe is the one-click unsubscribe link of emails
	// (RFC 8058): GET a confirmation page, POST calls
	// notification.unsubscribe.
	CustomUnsubscribe = "notifications.unsubscribe"
)

// CachePolicy makes a public GET route cacheable in process. Only replies
// with status 200 to anonymous requests are stored, and only anonymous
// requests are served from the cache (a signed-in caller may see more, such
// as a seller's drafts).
type CachePolicy struct {
	// TTL bounds how long an entry is served; 0 takes Config.CacheTTL.
	TTL time.Duration
	// TagParam names the path parameter whose value tags the entry (a
	// product id), so Purge(id) removes it.
	TagParam string
	// PurgeOnProductEvent invalidates every entry of the route on any
	// product event (lists, featured, slugs, category counts).
	PurgeOnProductEvent bool
}

// QueryParam documents one query parameter of a route (OpenAPI).
type QueryParam struct {
	Name        string
	Type        string // "string", "integer", "boolean"
	Repeated    bool
	Enum        []string // the accepted values, when closed
	Description string
}

// Route is one entry of the declarative route table.
type Route struct {
	// Method and Path (under APIPrefix, "{name}" for a path parameter).
	Method, Path string
	// RPC is the method called ("product.get"); its service is the part
	// before the first dot. Empty for Custom routes.
	RPC string
	// Custom names a handler the gateway serves itself instead of an RPC
	// (see the Custom* constants). Auth, roles, rate limits and headers
	// still apply before it runs.
	Custom string
	// Auth and Roles: who may call. Roles empty means any signed-in role.
	Auth  Access
	Roles []string
	// Body says the route takes a JSON body (Content-Type application/json).
	Body bool
	// OptionalBody says the JSON body may be left out (OpenAPI: the
	// requestBody is not required).
	OptionalBody bool
	// MaxBody limits the body; 0 takes Config.DefaultRouteBody.
	MaxBody int
	// Timeout is the RPC deadline; 0 takes Config.RouteTimeout.
	Timeout time.Duration
	// Cache makes the route cacheable (public GETs only).
	Cache *CachePolicy
	// RateClass names the rate limit class; "" is RateDefault.
	RateClass string
	// Status is the HTTP status of a successful reply; 0 is 200.
	Status int
	// IdempotencyKey makes the Idempotency-Key header mandatory.
	IdempotencyKey bool
	// Query declares the query parameters (OpenAPI, and the gateway's
	// rule: a parameter the route does not declare is refused with 400
	// naming it, before sign-in and the service; the declared ones reach
	// the service, which checks their values).
	Query []QueryParam
	// Request and Response are the contract types of the body and of the
	// successful reply, for the OpenAPI document. Every route with a body
	// names its Request and every route whose success has a body names its
	// Response; for the notification stream routes Response is the type of
	// one message, and file downloads (raw bytes) name none.
	Request, Response any
	// Summary is a one-line description.
	Summary string
	// Description is the longer text of the API reference (rules, errors);
	// optional.
	Description string
}

// Service is the service a route's RPC goes to ("" for custom routes).
func (r Route) Service() string {
	s, _, _ := strings.Cut(r.RPC, ".")
	return s
}

// FullPath is the route's path with APIPrefix.
func (r Route) FullPath() string { return APIPrefix + r.Path }

// SuccessStatus is Status, or 200.
func (r Route) SuccessStatus() int {
	if r.Status == 0 {
		return 200
	}
	return r.Status
}

var (
	seller = []string{contracts.RoleSeller, contracts.RoleAdmin}
	admin  = []string{contracts.RoleAdmin}
	page   = []QueryParam{{Name: "limit", Type: "integer", Description: "page size 1..100, default 20"},
		{Name: "cursor", Type: "string", Description: "next_cursor of the previous page"}}
	catalogue   = &CachePolicy{PurgeOnProductEvent: true}
	orderStatus = QueryParam{Name: "status", Type: "string", Enum: []string{contracts.OrderStatusPending, contracts.OrderStatusReserved,
		contracts.OrderStatusAwaitingPayment, contracts.OrderStatusPaid, contracts.OrderStatusPartiallyShipped, contracts.OrderStatusShipped, contracts.OrderStatusDelivered, contracts.OrderStatusCancelled,
		contracts.OrderStatusRefunded}, Description: "only orders in this status"}
	// streamQuery: browsers' EventSource and WebSocket cannot send headers.
	streamQuery = []QueryParam{
		{Name: "access_token", Type: "string", Description: "the access token, when no Authorization header can be sent"},
		{Name: "last_event_id", Type: "integer", Description: "resume after this event id (or the Last-Event-ID header)"},
	}
)

// unsubscribeQuery: the token of an email's List-Unsubscribe link.
var unsubscribeQuery = []QueryParam{{Name: "token", Type: "string", Description: "the token of the email's unsubscribe link"}}

func withPage(q ...QueryParam) []QueryParam { return append(q, page...) }

// Routes returns the public route table (docs/API.md is made from it). The slice is
// fresh on every call; New compiles it once.
func Routes() []Route {
	return []Route{
		// Accounts.
		{Method: "POST", Path: "/auth/register", RPC: contracts.MethodUserRegister, Body: true, Status: 201, RateClass: RateLogin,
			Request: contracts.RegisterRequest{}, Response: contracts.RegisterReply{}, Summary: "Create an account"},
		{Method: "POST", Path: "/auth/login", RPC: contracts.MethodUserLogin, Body: true, RateClass: RateLogin,
			Request: contracts.LoginRequest{}, Response: contracts.Tokens{}, Summary: "Sign in"},
		{Method: "POST", Path: "/auth/refresh", RPC: contracts.MethodUserRefresh, Body: true, RateClass: RateLogin,
			Request: contracts.RefreshRequest{}, Response: contracts.Tokens{}, Summary: "Rotate a refresh token"},
		{Method: "POST", Path: "/auth/logout", RPC: contracts.MethodUserLogout, Auth: User, Body: true, Status: 204,
			Request: contracts.LogoutRequest{}, Summary: "End the session of a refresh token ({\"all\":true}: as /auth/logout-all)"},
		{Method: "POST", Path: "/auth/logout-all", RPC: contracts.MethodUserLogoutAll, Auth: User, Status: 204,
			Summary: "Log out everywhere: every refresh token is revoked and every access token issued until now " +
				"is refused on every route within a second (401, sign in again)"},
		{Method: "GET", Path: "/.well-known/jwks.json", Custom: CustomJWKS, Response: contracts.JWKS{},
			Summary: "Public keys that verify access tokens"},
		{Method: "GET", Path: "/users/me", RPC: contracts.MethodUserMeGet, Auth: User, Response: contracts.User{}, Summary: "My profile"},
		{Method: "PATCH", Path: "/users/me", RPC: contracts.MethodUserMeUpdate, Auth: User, Body: true,
			Request: contracts.UpdateProfileRequest{}, Response: contracts.User{}, Summary: "Update my profile",
			Description: "name, phone (\"\" clears it) and avatar_file_id: an image you uploaded with purpose avatar " +
				"(POST /files); attaching makes it public, so anyone may download it, and the profile shows it as " +
				"avatar {file_id, url, thumbnail_url}; \"\" removes the avatar. Another user's file is 403; an unknown " +
				"file, another purpose or a file that is not an image is 400."},
		{Method: "PUT", Path: "/users/me/password", RPC: contracts.MethodUserPasswordChange, Auth: User, Body: true, Status: 204,
			RateClass: RateLogin, Request: contracts.ChangePasswordRequest{},
			Summary: "Change my password (ends every session, this one included: sign in again)"},
		{Method: "GET", Path: "/users/me/addresses", RPC: contracts.MethodUserAddressesList, Auth: User,
			Response: contracts.List[contracts.Address]{}, Summary: "My address book"},
		{Method: "POST", Path: "/users/me/addresses", RPC: contracts.MethodUserAddressesCreate, Auth: User, Body: true, Status: 201,
			Request: contracts.AddressInput{}, Response: contracts.Address{}, Summary: "Add an address"},
		{Method: "PATCH", Path: "/users/me/addresses/{id}", RPC: contracts.MethodUserAddressesUpdate, Auth: User, Body: true,
			Request: contracts.AddressPatch{}, Response: contracts.Address{}, Summary: "Update an address"},
		{Method: "DELETE", Path: "/users/me/addresses/{id}", RPC: contracts.MethodUserAddressesDelete, Auth: User, Status: 204,
			Summary: "Delete an address"},
		{Method: "GET", Path: "/users/me/wishlist", RPC: contracts.MethodUserWishlistList, Auth: User, Query: withPage(),
			Response: contracts.List[contracts.WishlistItem]{}, Summary: "My wishlist"},
		{Method: "POST", Path: "/users/me/wishlist", RPC: contracts.MethodUserWishlistAdd, Auth: User, Body: true, Status: 201,
			Request: contracts.WishlistAddRequest{}, Response: contracts.WishlistItem{}, Summary: "Add to my wishlist"},
		{Method: "DELETE", Path: "/users/me/wishlist/{product_id}", RPC: contracts.MethodUserWishlistRemove, Auth: User, Status: 204,
			Summary: "Remove from my wishlist"},
		{Method: "GET", Path: "/admin/users", RPC: contracts.MethodUserAdminList, Auth: User, Roles: admin,
			Query:    withPage(QueryParam{Name: "q", Type: "string", Description: "search text"}),
			Response: contracts.List[contracts.User]{}, Summary: "Search users"},
		{Method: "PATCH", Path: "/admin/users/{id}", RPC: contracts.MethodUserAdminUpdate, Auth: User, Roles: admin, Body: true,
			Request: contracts.AdminUpdateUserRequest{}, Response: contracts.User{},
			Summary: "Change a user's role or disable it (either ends the user's sessions within a second: their tokens get 401)"},

		// Catalogue.
		{Method: "GET", Path: "/categories", RPC: contracts.MethodProductCategoriesTree, Cache: catalogue,
			Response: contracts.CategoryTree{}, Summary: "The category tree with product counts"},
		{Method: "GET", Path: "/categories/{id}", RPC: contracts.MethodProductCategoriesGet, Cache: catalogue,
			Response: contracts.Category{}, Summary: "One category with its children"},
		{Method: "POST", Path: "/categories", RPC: contracts.MethodProductCategoriesCreate, Auth: User, Roles: admin, Body: true, Status: 201,
			Request: contracts.CategoryInput{}, Response: contracts.Category{}, Summary: "Create a category",
			Description: "Sibling categories (same parent; the roots are siblings too) need different names, compared " +
				"ignoring case (names are stored with surrounding spaces trimmed and inner runs of spaces as one): a " +
				"second \"Clothing\" next to \"clothing\" is refused with 409 conflict (field name), " +
				"also when two creates race. A slug that is taken is 409 too."},
		{Method: "PATCH", Path: "/categories/{id}", RPC: contracts.MethodProductCategoriesUpdate, Auth: User, Roles: admin, Body: true,
			Request: contracts.CategoryPatch{}, Response: contracts.Category{}, Summary: "Update a category",
			Description: "Rename, re-slug or move (parent_id; \"\" = to the root). A rename or move that would give the " +
				"category the name of a sibling at its destination (ignoring case) is refused with 409 conflict; " +
				"a move under itself or a descendant is 400."},
		{Method: "DELETE", Path: "/categories/{id}", RPC: contracts.MethodProductCategoriesDelete, Auth: User, Roles: admin, Status: 204,
			Summary: "Delete a category without products"},
		{Method: "GET", Path: "/products", RPC: contracts.MethodProductList, RateClass: RateSearch,
			Cache: &CachePolicy{TTL: 5 * time.Second, PurgeOnProductEvent: true},
			Query: withPage(
				QueryParam{Name: "q", Type: "string", Description: "search text (at most 200 characters): accents and case do not matter; " +
					"words are stemmed; the last word also matches as a prefix; a word the catalogue does not know is replaced by the nearest " +
					"known words (the reply's corrected says how); the store's synonyms are added; a product's or a variant's SKU finds that " +
					"product first. Quotes, or, and a leading - switch to web search syntax without prefix, typo and synonym handling"},
				QueryParam{Name: "category", Type: "string", Repeated: true, Description: "category id (includes sub-categories)"},
				QueryParam{Name: "min_price", Type: "integer", Description: "minor units, inclusive"},
				QueryParam{Name: "max_price", Type: "integer", Description: "minor units, inclusive"},
				QueryParam{Name: "in_stock", Type: "boolean", Description: "true: products with available units (on the product or a variant); false: the others"},
				QueryParam{Name: "min_rating", Type: "integer", Description: "1..5: average rating at least this"},
				QueryParam{Name: "property", Type: "string", Repeated: true, Description: "key:value (e.g. color:red), on the product or a variant; " +
					"values of one key are alternatives, different keys must all match"},
				QueryParam{Name: "facets", Type: "string", Description: "comma-separated, any of category, price, rating, in_stock, properties: " +
					"counts over all the matches, in the reply's facets; each facet's values are usable as the filters above"},
				QueryParam{Name: "sort", Type: "string", Enum: []string{contracts.SortRelevance, contracts.SortNewest,
					contracts.SortPriceAsc, contracts.SortPriceDesc, contracts.SortRating}, Description: "default relevance with q, else newest. " +
					"Relevance: a SKU match first; then the words as a phrase in the name, then every word in the name, then every word " +
					"(or a synonym) anywhere, then prefix and typo matches; within each, the name weighs more than the description; " +
					"then units sold, then average rating"},
				QueryParam{Name: "seller", Type: "string", Description: "a seller id"},
				QueryParam{Name: "status", Type: "string", Enum: []string{contracts.ProductDraft, contracts.ProductActive, contracts.ProductArchived},
					Description: "with seller: the seller (or an admin) may list drafts and archived products"},
				QueryParam{Name: "total", Type: "boolean", Description: "add the total number of matches"},
			),
			Response: contracts.ProductList{}, Summary: "Search and list products, with facets on request"},
		{Method: "GET", Path: "/products/suggest", RPC: contracts.MethodProductSuggest, RateClass: RateSearch,
			Cache: &CachePolicy{TTL: 30 * time.Second, PurgeOnProductEvent: true},
			Query: []QueryParam{
				{Name: "q", Type: "string", Description: "what was typed so far (1..100 characters); the last word is a prefix"},
				{Name: "limit", Type: "integer", Description: "1..10, default 10"},
			},
			Response: contracts.SuggestReply{}, Summary: "Search box suggestions: up to 3 categories, then product names, most sold first"},
		{Method: "GET", Path: "/search/synonyms", RPC: contracts.MethodProductSynonymsGet, Auth: User, Roles: admin,
			Response: contracts.Synonyms{}, Summary: "The store's search synonyms"},
		{Method: "PUT", Path: "/search/synonyms", RPC: contracts.MethodProductSynonymsSet, Auth: User, Roles: admin, Body: true,
			Request: contracts.Synonyms{}, Response: contracts.Synonyms{},
			Summary: "Replace the store's search synonyms (a query word also matches its synonyms; one way: set both for two ways)"},
		{Method: "GET", Path: "/products/featured", RPC: contracts.MethodProductFeaturedList, Cache: catalogue, Query: withPage(),
			Response: contracts.List[contracts.Product]{}, Summary: "Featured products"},
		{Method: "GET", Path: "/products/by-slug/{slug}", RPC: contracts.MethodProductGetBySlug, Cache: catalogue,
			Response: contracts.Product{}, Summary: "A product by its slug"},
		{Method: "GET", Path: "/products/{id}", RPC: contracts.MethodProductGet, Cache: &CachePolicy{TagParam: "id"},
			Response: contracts.Product{}, Summary: "A product"},
		{Method: "POST", Path: "/products", RPC: contracts.MethodProductCreate, Auth: User, Roles: seller, Body: true, Status: 201,
			Request: contracts.ProductInput{}, Response: contracts.Product{},
			Summary: "Create a product (category_id required; prices at least 1 minor unit: nothing is sold for free)"},
		{Method: "PATCH", Path: "/products/{id}", RPC: contracts.MethodProductUpdate, Auth: User, Roles: seller, Body: true,
			Request: contracts.ProductPatch{}, Response: contracts.Product{},
			Summary: "Update my product (prices at least 1 minor unit)"},
		{Method: "DELETE", Path: "/products/{id}", RPC: contracts.MethodProductDelete, Auth: User, Roles: seller, Status: 204,
			Summary: "Delete my product"},
		{Method: "PUT", Path: "/products/{id}/featured", RPC: contracts.MethodProductFeaturedSet, Auth: User, Roles: admin,
			Response: contracts.Product{}, Summary: "Feature a product"},
		{Method: "DELETE", Path: "/products/{id}/featured", RPC: contracts.MethodProductFeaturedUnset, Auth: User, Roles: admin, Status: 204,
			Summary: "Stop featuring a product"},
		{Method: "POST", Path: "/products/{id}/images", RPC: contracts.MethodProductImagesAdd, Auth: User, Roles: seller, Body: true, Status: 201,
			Request: contracts.ImageAddRequest{}, Response: contracts.Image{}, Summary: "Attach an uploaded image"},
		{Method: "DELETE", Path: "/products/{id}/images/{file_id}", RPC: contracts.MethodProductImagesRemove, Auth: User, Roles: seller, Status: 204,
			Summary: "Detach an image"},
		{Method: "GET", Path: "/products/{id}/inventory", RPC: contracts.MethodProductInventoryGet, Auth: User, Roles: seller, Query: withPage(),
			Response: contracts.Inventory{}, Summary: "Stock and its ledger"},
		{Method: "PATCH", Path: "/products/{id}/inventory", RPC: contracts.MethodProductInventoryAdjust, Auth: User, Roles: seller, Body: true,
			Request: contracts.InventoryAdjustRequest{}, Response: contracts.Inventory{}, Summary: "Adjust stock"},
		{Method: "GET", Path: "/products/{id}/reviews", RPC: contracts.MethodProductReviewsList, Query: withPage(),
			Response: contracts.List[contracts.Review]{}, Summary: "Reviews of a product"},
		{Method: "POST", Path: "/products/{id}/reviews", RPC: contracts.MethodProductReviewsCreate, Auth: User, Body: true, Status: 201,
			Request: contracts.ReviewInput{}, Response: contracts.Review{}, Summary: "Review a product",
			Description: "Reviews are for customers who bought the product: the caller needs a paid order holding it " +
				"(an order cancelled or refunded before it shipped does not count), otherwise 403 \"only customers who " +
				"bought this product can review it\"; the product's own seller gets 403 too. Every review so written has " +
				"verified_purchase true. One review per user and product (409). image_file_ids: up to 4 of the caller's " +
				"own uploads of purpose review_image (images); attaching makes them public (anyone may download them); " +
				"another user's file is 403, another purpose, a repeat or a fifth image 400."},
		{Method: "PATCH", Path: "/reviews/{id}", RPC: contracts.MethodProductReviewsUpdate, Auth: User, Body: true,
			Request: contracts.ReviewPatch{}, Response: contracts.Review{}, Summary: "Edit my review",
			Description: "The author (or an admin) changes rating, title, body or image_file_ids (replaces the images; " +
				"[] removes them; the same rules as on create, the files must be the author's)."},
		{Method: "DELETE", Path: "/reviews/{id}", RPC: contracts.MethodProductReviewsDelete, Auth: User, Status: 204, Summary: "Delete my review"},
		{Method: "GET", Path: "/products/{id}/comments", RPC: contracts.MethodProductCommentsList, Query: withPage(),
			Response: contracts.List[contracts.Comment]{}, Summary: "Questions and answers on a product"},
		{Method: "POST", Path: "/products/{id}/comments", RPC: contracts.MethodProductCommentsCreate, Auth: User, Body: true, Status: 201,
			Request: contracts.CommentInput{}, Response: contracts.Comment{}, Summary: "Ask or comment"},
		{Method: "POST", Path: "/comments/{id}/replies", RPC: contracts.MethodProductCommentsReply, Auth: User, Body: true, Status: 201,
			Request: contracts.CommentInput{}, Response: contracts.Comment{}, Summary: "Reply to a comment"},
		{Method: "DELETE", Path: "/comments/{id}", RPC: contracts.MethodProductCommentsDelete, Auth: User, Status: 204, Summary: "Delete my comment"},
		{Method: "PUT", Path: "/products/{id}/reaction", RPC: contracts.MethodProductReactionsSet, Auth: User, Body: true,
			Request: contracts.ReactionInput{}, Response: contracts.ReactionReply{}, Summary: "React to a product"},
		{Method: "DELETE", Path: "/products/{id}/reaction", RPC: contracts.MethodProductReactionsRemove, Auth: User, Status: 204,
			Query:   []QueryParam{{Name: "type", Type: "string", Enum: contracts.ReactionTypes, Description: "the reaction to remove"}},
			Summary: "Remove my reaction"},

		// Orders.
		{Method: "GET", Path: "/cart", RPC: contracts.MethodOrderCartGet, Auth: User, Response: contracts.Cart{}, Summary: "My cart"},
		{Method: "DELETE", Path: "/cart", RPC: contracts.MethodOrderCartClear, Auth: User, Status: 204, Summary: "Empty my cart"},
		{Method: "PUT", Path: "/cart/items/{product_id}", RPC: contracts.MethodOrderCartSetItem, Auth: User, Body: true,
			Request: contracts.CartSetItemRequest{}, Response: contracts.Cart{},
			Summary: "Set a cart line (a product with variants needs variant_id: without it, 400 variant_required)"},
		{Method: "DELETE", Path: "/cart/items/{product_id}", RPC: contracts.MethodOrderCartRemoveItem, Auth: User, Status: 204,
			Query:   []QueryParam{{Name: "variant_id", Type: "string", Description: "the line's variant, when it has one"}},
			Summary: "Remove a cart line"},
		{Method: "POST", Path: "/orders", RPC: contracts.MethodOrderCheckout, Auth: User, Body: true, Status: 202, RateClass: RateCheckout,
			IdempotencyKey: true, Timeout: 15 * time.Second, Request: contracts.CheckoutRequest{}, Response: contracts.Order{},
			Summary: "Place an order from the cart"},
		{Method: "GET", Path: "/orders", RPC: contracts.MethodOrderList, Auth: User,
			Query:    withPage(orderStatus, QueryParam{Name: "user", Type: "string", Description: "admin: one user's orders"}),
			Response: contracts.List[contracts.Order]{}, Summary: "My orders"},
		{Method: "GET", Path: "/orders/{id}", RPC: contracts.MethodOrderGet, Auth: User, Response: contracts.Order{},
			Summary: "One of my orders, by id or by its number (\"100042\" or \"#100042\", as in emails)"},
		{Method: "POST", Path: "/orders/{id}/pay", RPC: contracts.MethodOrderPay, Auth: User, Body: true, Status: 202, RateClass: RateCheckout,
			IdempotencyKey: true, Timeout: 15 * time.Second, Request: contracts.PayRequest{}, Response: contracts.Order{},
			Summary: "Pay again with another card after a decline (order awaiting_payment, until its payment window ends)"},
		{Method: "POST", Path: "/orders/{id}/cancel", RPC: contracts.MethodOrderCancel, Auth: User, Body: true, OptionalBody: true,
			Request: contracts.CancelRequest{}, Response: contracts.Order{}, Summary: "Cancel my order"},
		{Method: "POST", Path: "/orders/{id}/ship", RPC: contracts.MethodOrderShip, Auth: User, Roles: seller, Body: true,
			Request: contracts.ShipRequest{}, Response: contracts.Order{},
			Summary: "Ship my lines of an order as one shipment (all my unshipped lines, or the lines named; an admin names seller_id or lines)"},
		{Method: "POST", Path: "/orders/{id}/deliver", RPC: contracts.MethodOrderDeliver, Auth: User, Roles: seller, Body: true, OptionalBody: true,
			Request: contracts.DeliverRequest{}, Response: contracts.Order{},
			Summary: "Mark a shipment delivered (shipment_id), or all my shipped shipments of the order"},
		{Method: "POST", Path: "/orders/{id}/refund", RPC: contracts.MethodOrderRefund, Auth: User, Roles: admin, Body: true, OptionalBody: true,
			Request: contracts.RefundRequest{}, Response: contracts.Order{},
			Summary: "Refund an order in full (what returns did not refund already)"},
		{Method: "POST", Path: "/orders/{id}/returns", RPC: contracts.MethodOrderReturnCreate, Auth: User, Body: true, Status: 201,
			Request: contracts.ReturnInput{}, Response: contracts.ReturnRequest{},
			Summary: "Ask to return shipped lines of my order (one seller's lines per request)"},
		{Method: "GET", Path: "/returns/{id}", RPC: contracts.MethodOrderReturnGet, Auth: User, Response: contracts.ReturnRequest{},
			Summary: "A return request (its buyer, the seller of its lines, an admin)"},
		{Method: "POST", Path: "/returns/{id}/approve", RPC: contracts.MethodOrderReturnApprove, Auth: User, Roles: seller, Body: true,
			OptionalBody: true, Request: contracts.ReturnDecision{}, Response: contracts.ReturnRequest{},
			Summary: "Approve a return request: refunds exactly its lines (idempotent)"},
		{Method: "POST", Path: "/returns/{id}/reject", RPC: contracts.MethodOrderReturnReject, Auth: User, Roles: seller, Body: true,
			OptionalBody: true, Request: contracts.ReturnDecision{}, Response: contracts.ReturnRequest{},
			Summary: "Reject a return request"},
		{Method: "GET", Path: "/seller/orders", RPC: contracts.MethodOrderSellerList, Auth: User, Roles: seller,
			Query:    withPage(orderStatus, QueryParam{Name: "seller", Type: "string", Description: "admin: one seller's orders"}),
			Response: contracts.List[contracts.Order]{},
			Summary:  "Orders with my products (only my lines, shipments, returns and totals)"},
		{Method: "GET", Path: "/seller/returns", RPC: contracts.MethodOrderSellerReturns, Auth: User, Roles: seller,
			Query: withPage(QueryParam{Name: "status", Type: "string", Enum: []string{contracts.ReturnRequested, contracts.ReturnApproved,
				contracts.ReturnRejected, contracts.ReturnRefunded}, Description: "only return requests in this status"},
				QueryParam{Name: "seller", Type: "string", Description: "admin: one seller's return requests"}),
			Response: contracts.List[contracts.ReturnRequest]{}, Summary: "Return requests of my lines, newest first"},

		// Notifications.
		{Method: "GET", Path: "/notifications", RPC: contracts.MethodNotificationList, Auth: User,
			Query:    withPage(QueryParam{Name: "unread", Type: "boolean", Description: "only unread"}),
			Response: contracts.List[contracts.Notification]{}, Summary: "My notifications"},
		{Method: "POST", Path: "/notifications/{id}/read", RPC: contracts.MethodNotificationRead, Auth: User, Status: 204, Summary: "Mark one read"},
		{Method: "POST", Path: "/notifications/read-all", RPC: contracts.MethodNotificationReadAll, Auth: User, Status: 204, Summary: "Mark all read"},
		{Method: "GET", Path: "/notifications/preferences", RPC: contracts.MethodNotificationPreferencesGet, Auth: User,
			Response: contracts.NotificationPreferences{}, Summary: "My preferences"},
		{Method: "PUT", Path: "/notifications/preferences", RPC: contracts.MethodNotificationPreferencesUpdate, Auth: User, Body: true,
			Request: contracts.NotificationPreferencesUpdate{}, Response: contracts.NotificationPreferences{}, Summary: "Update my preferences"},
		{Method: "GET", Path: "/notifications/unsubscribe", Custom: CustomUnsubscribe, Query: unsubscribeQuery,
			Summary: "The confirmation page of an email's unsubscribe link (changes nothing)"},
		{Method: "POST", Path: "/notifications/unsubscribe", Custom: CustomUnsubscribe, Query: unsubscribeQuery,
			Response: contracts.Unsubscribed{}, Summary: "One-click unsubscribe (RFC 8058): stop the emails of the kind the token names"},
		{Method: "GET", Path: "/notifications/stream", Custom: CustomStream, Auth: User, Query: streamQuery,
			Response: contracts.Notification{}, Summary: "Server-Sent Events of my notifications"},
		{Method: "GET", Path: "/ws", Custom: CustomWebSocket, Auth: User, Query: streamQuery,
			Response: contracts.StreamMessage{}, Summary: "WebSocket of my notifications"},

		// Files.
		{Method: "POST", Path: "/files", Custom: CustomUpload, Auth: User, Status: 201, RateClass: RateUpload,
			Query: []QueryParam{
				{Name: "purpose", Type: "string", Enum: contracts.Purposes, Description: "the file's purpose (or the multipart field purpose)"},
				{Name: "folder", Type: "string", Description: "the logical folder (or the multipart field folder); empty is the root"},
				{Name: "name", Type: "string", Description: "the file name of a raw (non-multipart) upload"},
			},
			Response: contracts.File{}, Summary: "Upload a file (multipart field file, purpose)"},
		{Method: "GET", Path: "/files/{id}", Custom: CustomDownload, Summary: "A file's bytes",
			Description: "Public files (product images, avatars, review images) to anyone, private ones to their owner. " +
				"One byte range (Range: bytes=…) gets 206 with its slice; a range set that selects no byte " +
				"(bytes=-0, a start at or past the end) gets 416 with Content-Range: bytes */size; several ranges, " +
				"an invalid set or another unit get the whole file (200). ETag/If-None-Match/If-Range are honoured " +
				"before the range."},
		{Method: "GET", Path: "/files/{id}/thumbnail", Custom: CustomThumbnail, Summary: "A file's thumbnail"},
		{Method: "GET", Path: "/files", RPC: contracts.MethodFileList, Auth: User,
			Query: withPage(QueryParam{Name: "folder", Type: "string", Description: "exactly this folder (empty: the root)"},
				QueryParam{Name: "purpose", Type: "string", Enum: contracts.Purposes},
				QueryParam{Name: "owner_id", Type: "string", Description: "admin: another user's files"}),
			Response: contracts.List[contracts.File]{}, Summary: "My files"},
		{Method: "DELETE", Path: "/files/{id}", RPC: contracts.MethodFileDelete, Auth: User, Status: 204, Summary: "Delete my file"},
		{Method: "POST", Path: "/files/{id}/copy", RPC: contracts.MethodFileCopy, Auth: User, Body: true, Status: 201,
			Request: contracts.FileFolderRequest{}, Response: contracts.File{}, Summary: "Copy my file"},
		{Method: "POST", Path: "/files/{id}/move", RPC: contracts.MethodFileMove, Auth: User, Body: true,
			Request: contracts.FileFolderRequest{}, Response: contracts.File{}, Summary: "Move my file"},

		// Operations.
		{Method: "GET", Path: "/health", Custom: CustomHealth, Response: contracts.Health{}, Summary: "Gateway liveness"},
		{Method: "GET", Path: "/openapi.json", Custom: CustomOpenAPI, Summary: "This document"},
		{Method: "GET", Path: "/docs", Custom: CustomDocs, Summary: "The API reference page (this document, rendered)"},
	}
}
