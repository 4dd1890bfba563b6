package contracts

import "time"

// The user service's RPC methods (routed by edge/routes.go, see docs/API.md). Methods routed by
// the gateway take an Envelope whose Body is the request type named in the
// comment; user.jwks is service-to-service and takes no body.
const (
	MethodUserRegister        = "user.register"         // body RegisterRequest → RegisterReply (201)
	MethodUserLogin           = "user.login"            // body LoginRequest → Tokens
	MethodUserRefresh         = "user.refresh"          // body RefreshRequest → Tokens
	MethodUserLogout          = "user.logout"           // body LogoutRequest → {} (204)
	MethodUserJWKS            = "user.jwks"             // no body → JWKS
	MethodUserMeGet           = "user.me.get"           // → User
	MethodUserMeUpdate        = "user.me.update"        // body UpdateProfileRequest → User
	MethodUserPasswordChange  = "user.password.change"  // body ChangePasswordRequest → {} (204)
	MethodUserAddressesList   = "user.addresses.list"   // → List[Address]
	MethodUserAddressesCreate = "user.addresses.create" // body AddressInput → Address (201)
	MethodUserAddressesUpdate = "user.addresses.update" // params id, body AddressPatch → Address
	MethodUserAddressesDelete = "user.addresses.delete" // params id → {} (204)
	MethodUserWishlistList    = "user.wishlist.list"    // params limit, cursor → List[WishlistItem]
	MethodUserWishlistAdd     = "user.wishlist.add"     // body WishlistAddRequest → WishlistItem (201)
	MethodUserWishlistRemove  = "user.wishlist.remove"  // params product_id → {} (204)
	MethodUserAdminList       = "user.admin.list"       // params q, limit, cursor → List[User]
	MethodUserAdminUpdate     = "user.admin.update"     // params id, body AdminUpdateUserRequest → User
	MethodUserAdminRotateKey  = "user.admin.rotate_key" // → RotateKeyReply
)

// The user service's events.
const (
	// EventUserRegistered carries UserRegistered.
	EventUserRegistered = "user.registered"
	// EventUserUpdated carries UserUpdated.
	EventUserUpdated = "user.updated"
)

// TokenIssuer is the "iss" claim of every access token.
const TokenIssuer = "opencommerce"

// User is the public view of an account. It never carries any credential.
type User struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	Name     string `json:"name"`
	Phone    string `json:"phone"`
	Role     string `json:"role"`
	Disabled bool   `json:"disabled"`
	// Avatar is the user's picture (a public image file), absent when none.
	Avatar    *Image    `json:"avatar,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// RegisterRequest is the body of user.register. Role may be "customer"
// (default) or "seller"; never "admin".
type RegisterRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
	Phone    string `json:"phone,omitempty"`
	Role     string `json:"role,omitempty"`
}

// RegisterReply is the reply of user.register.
type RegisterReply struct {
	User User `json:"user"`
}

// LoginRequest is the body of user.login.
type LoginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// RefreshRequest is the body of user.refresh.
type RefreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// LogoutRequest is the body of user.logout: it revokes the session
// (refresh-token family) of RefreshToken, or every session of the user when
// All is true.
type LogoutRequest struct {
	RefreshToken string `json:"refresh_token,omitempty"`
	All          bool   `json:"all,omitempty"`
}

// TokenTypeBearer is Tokens.TokenType.
const TokenTypeBearer = "Bearer"

// Tokens is the reply of user.login and user.refresh.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	// ExpiresIn is the access token's lifetime in seconds.
	ExpiresIn int64 `json:"expires_in"`
	User      User  `json:"user"`
}

// UpdateProfileRequest is the body of user.me.update; absent fields are
// unchanged, Phone "" clears the phone. AvatarFileID names an image the
// user uploaded with purpose avatar (attaching makes it public); ""
// removes the avatar.
type UpdateProfileRequest struct {
	Name         *string `json:"name,omitempty"`
	Phone        *string `json:"phone,omitempty"`
	AvatarFileID *string `json:"avatar_file_id,omitempty"`
}

// ChangePasswordRequest is the body of user.password.change. A successful
// change ends every session (refresh-token family) of the user.
type ChangePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// Address is an entry of a user's address book.
type Address struct {
	ID         string    `json:"id"`
	Line1      string    `json:"line1"`
	Line2      string    `json:"line2"`
	City       string    `json:"city"`
	State      string    `json:"state"`
	PostalCode string    `json:"postal_code"`
	Country    string    `json:"country"`
	IsDefault  bool      `json:"is_default"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// AddressInput is the body of user.addresses.create. Country is an ISO
// 3166-1 alpha-2 code. The first address of a user becomes the default.
type AddressInput struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
	IsDefault  bool   `json:"is_default,omitempty"`
}

// AddressPatch is the body of user.addresses.update; absent fields are
// unchanged.
type AddressPatch struct {
	Line1      *string `json:"line1,omitempty"`
	Line2      *string `json:"line2,omitempty"`
	City       *string `json:"city,omitempty"`
	State      *string `json:"state,omitempty"`
	PostalCode *string `json:"postal_code,omitempty"`
	Country    *string `json:"country,omitempty"`
	IsDefault  *bool   `json:"is_default,omitempty"`
}

// WishlistAddRequest is the body of user.wishlist.add.
type WishlistAddRequest struct {
	ProductID string `json:"product_id"`
}

// Wishlist item availability (WishlistItem.Availability).
const (
	// WishlistAvailable: the product exists; Name, Price and ImageURL are set.
	WishlistAvailable = "available"
	// WishlistUnavailable: the product no longer exists (Name is still
	// given when it was deleted: its last known name).
	WishlistUnavailable = "unavailable"
	// WishlistUnknown: the product service could not be asked; details are
	// missing but the entry is still listed.
	WishlistUnknown = "unavailable_details"
)

// WishlistItem is one entry of a wishlist with the product's details as the
// product service knows them now.
type WishlistItem struct {
	ProductID    string    `json:"product_id"`
	AddedAt      time.Time `json:"added_at"`
	Availability string    `json:"availability"`
	Name         string    `json:"name,omitempty"`
	Price        *Money    `json:"price,omitempty"`
	ImageURL     string    `json:"image_url,omitempty"`
	Status       string    `json:"status,omitempty"`
	StockStatus  string    `json:"stock_status,omitempty"`
}

// AdminUpdateUserRequest is the body of user.admin.update. Disabling a user
// ends their sessions at once; their access tokens expire within the access
// token lifetime.
type AdminUpdateUserRequest struct {
	Role     *string `json:"role,omitempty"`
	Disabled *bool   `json:"disabled,omitempty"`
}

// RotateKeyReply is the reply of user.admin.rotate_key.
type RotateKeyReply struct {
	KID string `json:"kid"`
}

// JWK is a public JSON Web Key (RFC 8037 OKP / Ed25519).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS is the reply of user.jwks: every public key whose tokens may still be
// valid.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// UserRegistered is the data of EventUserRegistered.
type UserRegistered struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
	Role   string `json:"role"`
}

// UserUpdated is the data of EventUserUpdated: the account as it is after
// the change, and which fields changed.
type UserUpdated struct {
	UserID   string   `json:"user_id"`
	Email    string   `json:"email"`
	Name     string   `json:"name"`
	Phone    string   `json:"phone"`
	Role     string   `json:"role"`
	Disabled bool     `json:"disabled"`
	Changed  []string `json:"changed"`
}

func init() {
	Register("user.user", User{})
	Register("user.register.request", RegisterRequest{})
	Register("user.register.reply", RegisterReply{})
	Register("user.login.request", LoginRequest{})
	Register("user.refresh.request", RefreshRequest{})
	Register("user.logout.request", LogoutRequest{})
	Register("user.tokens", Tokens{})
	Register("user.me.update.request", UpdateProfileRequest{})
	Register("user.password.change.request", ChangePasswordRequest{})
	Register("user.address", Address{})
	Register("user.address.input", AddressInput{})
	Register("user.address.patch", AddressPatch{})
	Register("user.wishlist.add.request", WishlistAddRequest{})
	Register("user.wishlist.item", WishlistItem{})
	Register("user.admin.update.request", AdminUpdateUserRequest{})
	Register("user.jwks", JWKS{})
	Register("event.user.registered", UserRegistered{})
	Register("event.user.updated", UserUpdated{})
}
