package user_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/internal/token"
	"github.com/opencommerce/opencommerce/services/user"
	"github.com/opencommerce/opencommerce/services/user/postgres"
)

func newKEK(t *testing.T) []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// storedKeys returns kid → private_key column as stored.
func storedKeys(t *testing.T, e *env) map[string][]byte {
	t.Helper()
	rows, err := e.svc.Pool().Query(context.Background(), `SELECT kid, private_key FROM signing_keys`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var kid string
		var b []byte
		if err := rows.Scan(&kid, &b); err != nil {
			t.Fatal(err)
		}
		out[kid] = b
	}
	return out
}

// TestSigningKeysSealedAtRest: with user.key-encryption-key the signing
// key in the database is not the Ed25519 seed, tokens still sign and
// verify, a plaintext key left from before is sealed at start, and a wrong
// or missing key-encryption key is refused with a clear error rather than
// signing with garbage.
func TestSigningKeysSealedAtRest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	// A service started without a key-encryption key stores the seed.
	e := newEnv(t)
	e.register("kim@example.com", "Kim", "")
	before := storedKeys(t, e)
	if len(before) != 1 {
		t.Fatalf("%d signing keys, want 1", len(before))
	}
	var kid string
	var seed []byte
	for k, v := range before {
		kid, seed = k, v
	}
	if len(seed) != ed25519.SeedSize {
		t.Fatalf("unsealed key stored as %d bytes, want the %d-byte seed", len(seed), ed25519.SeedSize)
	}

	// Setting a key-encryption key seals it.
	kek := newKEK(t)
	store, err := postgres.New(e.svc.Pool(), kek)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := store.SealKeys(ctx); err != nil || n != 1 {
		t.Fatalf("SealKeys = %d, %v; want 1 sealed", n, err)
	}
	sealed := storedKeys(t, e)[kid]
	if len(sealed) == ed25519.SeedSize || bytes.Contains(sealed, seed) {
		t.Fatalf("sealed key still holds the seed: %x", sealed)
	}
	if n, err := store.SealKeys(ctx); err != nil || n != 0 {
		t.Fatalf("second SealKeys = %d, %v; want nothing to do", n, err)
	}
	k, err := store.ActiveKey(ctx)
	if err != nil || k.KID != kid || !bytes.Equal(k.Private.Seed(), seed) {
		t.Fatalf("ActiveKey through the sealed row: %s, %v", k.KID, err)
	}

	// A wrong key or none: refused, saying what to fix.
	wrong, _ := postgres.New(e.svc.Pool(), newKEK(t))
	if _, err := wrong.ActiveKey(ctx); err == nil || !strings.Contains(err.Error(), "does not open") {
		t.Fatalf("ActiveKey with the wrong key-encryption key: %v", err)
	}
	if _, err := wrong.SealKeys(ctx); err == nil {
		t.Fatal("SealKeys with the wrong key-encryption key succeeded")
	}
	none, _ := postgres.New(e.svc.Pool(), nil)
	if _, err := none.ActiveKey(ctx); err == nil || !strings.Contains(err.Error(), "user.key-encryption-key") {
		t.Fatalf("ActiveKey of a sealed key without a key-encryption key: %v", err)
	}
	// What a service runs at start: without the key it must stop there.
	if _, err := none.SealKeys(ctx); err == nil || !strings.Contains(err.Error(), "user.key-encryption-key") {
		t.Fatalf("start checks without a key-encryption key over sealed keys: %v", err)
	}
	// rotate-key without the key must not add a plaintext key beside them.
	if _, err := user.RotateKey(ctx, e.svc.Pool(), e.cfg); err == nil {
		t.Fatal("rotate-key without the key-encryption key succeeded over sealed keys")
	}
	if n := len(storedKeys(t, e)); n != 1 {
		t.Fatalf("%d signing keys after the refused rotation, want 1", n)
	}
	// Publishing keys needs no key-encryption key (instances being rolled
	// over keep serving user.jwks).
	pubs, err := none.PublicKeys(ctx, time.Time{})
	if err != nil || len(pubs) != 1 || pubs[0].KID != kid || pubs[0].Private != nil {
		t.Fatalf("PublicKeys without the key-encryption key: %+v, %v", pubs, err)
	}

	// A service started with a key-encryption key writes sealed keys, and
	// its tokens verify against its JWKS.
	e2 := newEnv(t, func(c *user.Config) { c.KeyEncryptionKey = base64.StdEncoding.EncodeToString(kek) })
	e2.register("lee@example.com", "Lee", "")
	for kid, b := range storedKeys(t, e2) {
		if len(b) == ed25519.SeedSize {
			t.Fatalf("key %s written unsealed by a service with a key-encryption key", kid)
		}
	}
	tok := e2.login("lee@example.com", goodPassword)
	if _, err := token.Verify(tok.AccessToken, e2.keys(), token.Options{}); err != nil {
		t.Fatalf("token of a sealed key does not verify: %v", err)
	}
	if kid, err := user.RotateKey(ctx, e2.svc.Pool(), e2.cfg); err != nil || storedKeys(t, e2)[kid] == nil || len(storedKeys(t, e2)[kid]) == ed25519.SeedSize {
		t.Fatalf("rotate-key with a key-encryption key: %q, %v (stored %d bytes)", kid, err, len(storedKeys(t, e2)[kid]))
	}
}

func TestKeyEncryptionKeyChecked(t *testing.T) {
	for _, bad := range []string{"short", base64.StdEncoding.EncodeToString(make([]byte, 16)), "not base64 at all!!"} {
		c := user.DefaultConfig()
		c.KeyEncryptionKey = bad
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "user.key-encryption-key") {
			t.Errorf("key-encryption key %q: Validate = %v", bad, err)
		}
	}
	c := user.DefaultConfig()
	c.KeyEncryptionKey = base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	if err := c.Validate(); err != nil || len(c.KEK()) != 32 {
		t.Fatalf("URL base64 of 32 bytes refused: %v", err)
	}
}
