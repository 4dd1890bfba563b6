package notify

import (
	"encoding/base64"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
)

// ListFilter is a parsed notification.list: whose notifications, how many,
// after which id (newest first), unread only or not.
type ListFilter struct {
	UserID uuid.UUID
	Limit  int
	After  *uuid.UUID
	Unread bool
}

// ParseListFilter reads notification.list's parameters: limit, cursor (an
// opaque id from next_cursor) and unread (true/false, 1/0).
func ParseListFilter(a contracts.Actor, p contracts.Params) (ListFilter, error) {
	var f ListFilter
	uid, err := actorID(a)
	if err != nil {
		return f, err
	}
	f.UserID = uid
	page, err := contracts.PageOf(p)
	if err != nil {
		return f, err
	}
	f.Limit = page.Limit
	if page.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(page.Cursor)
		if err != nil || len(b) != 16 {
			return f, contracts.InvalidArgument("cursor", "malformed cursor")
		}
		id := uuid.UUID(b)
		f.After = &id
	}
	switch v := p.Get("unread"); v {
	case "", "false", "0":
	case "true", "1":
		f.Unread = true
	default:
		return f, contracts.InvalidArgument("unread", "unread must be true or false")
	}
	return f, nil
}

// cursorOf is the next_cursor naming the page after id.
func cursorOf(id uuid.UUID) string { return base64.RawURLEncoding.EncodeToString(id[:]) }

// UnsubscribeRequest is a verified one-click unsubscribe: the user and the
// kind its signed token names.
type UnsubscribeRequest struct {
	UserID uuid.UUID
	Kind   string
}

// ParseUnsubscribe checks the token parameter's signature.
func (c *Core) ParseUnsubscribe(_ contracts.Actor, p contracts.Params) (UnsubscribeRequest, error) {
	tok := p.Get("token")
	if tok == "" {
		return UnsubscribeRequest{}, contracts.InvalidArgument("token", "token is required")
	}
	uid, kind, err := parseUnsubscribeToken(c.unsubKey, tok)
	return UnsubscribeRequest{UserID: uid, Kind: kind}, err
}
