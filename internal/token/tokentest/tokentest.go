// Package tokentest is a rotating Ed25519 key set that signs access tokens
// the way the user service does, for tests of code that verifies them.
package tokentest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/token"
)

// Keys is a key set: the newest key signs, every key stays published.
// Safe for concurrent use.
type Keys struct {
	mu   sync.Mutex
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
	kid  string
	set  []contracts.JWK
}

// New returns a key set with one key.
func New(tb testing.TB) *Keys {
	k := &Keys{}
	k.Rotate(tb)
	return k
}

// Rotate adds a new signing key (old ones stay published).
func (k *Keys) Rotate(tb testing.TB) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.priv, k.pub, k.kid = priv, pub, token.KeyID(pub)
	k.set = append(k.set, token.PublicJWK(k.kid, pub))
}

// Kid is the signing key's id.
func (k *Keys) Kid() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.kid
}

// Public is the signing key's public half.
func (k *Keys) Public() ed25519.PublicKey {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.pub
}

// JWKS is the published key set document (what user.jwks answers).
func (k *Keys) JWKS() []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	b, _ := json.Marshal(contracts.JWKS{Keys: k.set})
	return b
}

// Sign returns an access token for sub with role, issued a minute ago and
// expiring in ttl (negative: already expired), signed with the newest key.
func (k *Keys) Sign(tb testing.TB, sub, role string, ttl time.Duration) string {
	tb.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	now := time.Now()
	tok, err := token.Sign(k.priv, k.kid, token.Claims{Subject: sub, Role: role, IssuedAt: now.Add(-time.Minute).Unix(),
		Expires: now.Add(ttl).Unix()})
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// SignClaims returns an access token of c (issuer and id filled in when
// empty) signed with the newest key.
func (k *Keys) SignClaims(tb testing.TB, c token.Claims) string {
	tb.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	tok, err := token.Sign(k.priv, k.kid, c)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}
