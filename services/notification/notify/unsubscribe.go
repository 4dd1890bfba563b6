package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
)

// One-click unsubscribe (RFC 8058). Every email of a notification kind
// carries List-Unsubscribe with a link to the gateway's
// /api/v1/notifications/unsubscribe?token=… and List-Unsubscribe-Post, and
// its footer the same link. The token names the user and the kind and is
// signed with HMAC-SHA-256 (notification.unsubscribe-key, else a key made
// once and kept in this service's database, so every instance signs
// alike); it does not expire, since a mail client may keep the header for
// years. Using it turns email off for that kind, as the preferences API
// would; it is idempotent and needs no sign-in.

// unsubscribeKeyName is the secrets row of the generated key.
const unsubscribeKeyName = "unsubscribe-hmac"

// loadUnsubscribeKey returns the configured key, or the one kept in the
// store (made by the first instance that needed it).
func loadUnsubscribeKey(ctx context.Context, store Store, configured string) ([]byte, error) {
	if configured != "" {
		return decodeUnsubscribeKey(configured)
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	return store.Secret(ctx, unsubscribeKeyName, fresh)
}

func decodeUnsubscribeKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(key) < 32 {
		return nil, errors.New("notification.unsubscribe-key: want the base64 of at least 32 random bytes (openssl rand -base64 32)")
	}
	return key, nil
}

// unsubscribeToken signs (user, kind).
func unsubscribeToken(key []byte, user uuid.UUID, kind string) string {
	payload := append(user[:], kind...)
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(unsubscribeMAC(key, payload))
}

func unsubscribeMAC(key, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("oc-unsubscribe\x00"))
	m.Write(payload)
	return m.Sum(nil)[:16]
}

// parseUnsubscribeToken checks the signature and returns what it names.
func parseUnsubscribeToken(key []byte, tok string) (uuid.UUID, string, error) {
	bad := contracts.InvalidArgument("token", "this unsubscribe link is not valid (it may have been cut short when copied)")
	p, s, ok := strings.Cut(tok, ".")
	if !ok {
		return uuid.Nil, "", bad
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	sig, err2 := base64.RawURLEncoding.DecodeString(s)
	if err1 != nil || err2 != nil || len(payload) <= 16 || !hmac.Equal(sig, unsubscribeMAC(key, payload)) {
		return uuid.Nil, "", bad
	}
	kind := string(payload[16:])
	if !knownKind(kind) {
		return uuid.Nil, "", bad
	}
	return uuid.UUID(payload[:16]), kind, nil
}

// unsubscribeURL is the link of an email to user about kind.
func (c *Core) unsubscribeURL(user uuid.UUID, kind string) string {
	return strings.TrimRight(c.cfg.ShopURL, "/") + "/api/v1/notifications/unsubscribe?token=" +
		url.QueryEscape(unsubscribeToken(c.unsubKey, user, kind))
}

// Unsubscribe turns email off for the kind a verified token names.
func (c *Core) Unsubscribe(ctx context.Context, u UnsubscribeRequest) (contracts.Unsubscribed, error) {
	if err := c.store.DisableEmail(ctx, u.UserID, u.Kind, defaultPreferences(u.Kind).InApp); err != nil {
		return contracts.Unsubscribed{}, fmt.Errorf("unsubscribe: %w", err)
	}
	c.m.unsubscribed.WithLabelValues(u.Kind).Inc()
	return contracts.Unsubscribed{Kind: u.Kind, Email: false,
		Message: "You will no longer get emails about " + kindLabel(u.Kind) + ". You can turn them back on in your notification preferences."}, nil
}

// kindLabel names a kind for people ("order_shipped" → "order shipped").
func kindLabel(kind string) string { return strings.ReplaceAll(kind, "_", " ") }

// withUnsubscribeFooter appends the unsubscribe link to both bodies.
func withUnsubscribeFooter(text, html, link, kind string) (string, string) {
	text += "\n\n--\nTo stop emails about " + kindLabel(kind) + ": " + link + "\n"
	var footer bytes.Buffer
	footer.WriteString(`<p style="font-size:12px;color:#666">To stop emails about ` + kindLabel(kind) + `, <a href="`)
	footer.WriteString(htmlAttrEscaper.Replace(link))
	footer.WriteString(`">unsubscribe</a>.</p>`)
	if i := strings.LastIndex(html, "</body>"); i >= 0 {
		html = html[:i] + footer.String() + html[i:]
	} else {
		html += footer.String()
	}
	return text, html
}

var htmlAttrEscaper = strings.NewReplacer("&", "&amp;", `"`, "&quot;", "<", "&lt;", ">", "&gt;")
