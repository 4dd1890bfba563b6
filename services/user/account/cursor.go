package account

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
)

// WishlistCursor is the keyset position of a wishlist page: the last entry
// seen (entries are ordered by added_at, then product id, descending).
type WishlistCursor struct {
	AddedAt   time.Time
	ProductID string
}

// String encodes the cursor opaquely for next_cursor.
func (c WishlistCursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.AddedAt.UnixMicro(), 10) + ":" + c.ProductID))
}

func parseWishlistCursor(s string) (WishlistCursor, error) {
	bad := contracts.InvalidArgument("cursor", "cursor is not valid")
	if len(s) > 128 {
		return WishlistCursor{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return WishlistCursor{}, bad
	}
	ts, id, ok := strings.Cut(string(b), ":")
	if !ok {
		return WishlistCursor{}, bad
	}
	us, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return WishlistCursor{}, bad
	}
	if id, err = parseID("cursor", id); err != nil {
		return WishlistCursor{}, bad
	}
	return WishlistCursor{AddedAt: time.UnixMicro(us).UTC(), ProductID: id}, nil
}
