package token_test

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/token"
)

var b64 = base64.RawURLEncoding

type fixture struct {
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
	kid  string
	keys token.KeySet
	now  time.Time
}

func newFixture(tb testing.TB) fixture {
	tb.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	kid := token.KeyID(pub)
	return fixture{priv: priv, pub: pub, kid: kid, keys: token.KeySet{kid: pub}, now: time.Unix(1_800_000_000, 0)}
}

func (f fixture) claims() token.Claims {
	return token.Claims{Subject: "0190a0b0-0000-7000-8000-000000000001", Role: contracts.RoleCustomer,
		IssuedAt: f.now.Unix(), Expires: f.now.Add(15 * time.Minute).Unix()}
}

func (f fixture) sign(tb testing.TB, c token.Claims) string {
	tb.Helper()
	s, err := token.Sign(f.priv, f.kid, c)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestSignVerifyRoundTrip(t *testing.T) {
	f := newFixture(t)
	tok := f.sign(t, f.claims())
	got, err := token.Verify(tok, f.keys, token.Options{Now: f.now})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	want := f.claims()
	if got.Subject != want.Subject || got.Role != want.Role || got.Expires != want.Expires ||
		got.IssuedAt != want.IssuedAt || got.Issuer != "opencommerce" || got.ID == "" {
		t.Fatalf("claims = %+v", got)
	}
	if a := got.Actor(); a.ID != want.Subject || a.Role != want.Role {
		t.Fatalf("actor = %+v", a)
	}

	// The header is exactly {alg:EdDSA, typ:JWT, kid}.
	var h map[string]string
	hb, _ := b64.DecodeString(strings.Split(tok, ".")[0])
	if err := json.Unmarshal(hb, &h); err != nil {
		t.Fatal(err)
	}
	if h["alg"] != "EdDSA" || h["typ"] != "JWT" || h["kid"] != f.kid || len(h) != 3 {
		t.Fatalf("header = %v", h)
	}
	// Two tokens never share a jti.
	if other, _ := token.Verify(f.sign(t, f.claims()), f.keys, token.Options{Now: f.now}); other.ID == got.ID {
		t.Fatal("jti repeated")
	}
}

func TestVerifyRejects(t *testing.T) {
	f := newFixture(t)
	good := f.sign(t, f.claims())
	parts := strings.Split(good, ".")

	otherPub, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	_ = otherPub

	hs256 := func() string {
		h := b64.EncodeToString(mustJSON(map[string]string{"alg": "HS256", "typ": "JWT", "kid": f.kid}))
		p := parts[1]
		m := hmac.New(sha256.New, f.pub) // the public key bytes as the HMAC secret
		m.Write([]byte(h + "." + p))
		return h + "." + p + "." + b64.EncodeToString(m.Sum(nil))
	}
	algNone := func(sig string) string {
		h := b64.EncodeToString(mustJSON(map[string]string{"alg": "none", "typ": "JWT", "kid": f.kid}))
		return h + "." + parts[1] + "." + sig
	}
	tamper := func() string {
		c := f.claims()
		c.Role = contracts.RoleAdmin
		pb, _ := b64.DecodeString(parts[1])
		var orig token.Claims
		_ = json.Unmarshal(pb, &orig)
		c.ID = orig.ID
		return parts[0] + "." + b64.EncodeToString(mustJSON(c)) + "." + parts[2]
	}
	signedBy := func(priv ed25519.PrivateKey, kid string, c token.Claims) string {
		s, err := token.Sign(priv, kid, c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	expired := f.claims()
	expired.IssuedAt = f.now.Add(-20 * time.Minute).Unix()
	expired.Expires = f.now.Add(-5 * time.Minute).Unix()
	atExpiry := f.claims()
	atExpiry.Expires = f.now.Unix()
	future := f.claims()
	future.IssuedAt = f.now.Add(10 * time.Minute).Unix()
	wrongIss := f.claims()
	wrongIss.Issuer = "evil"
	noSub := f.claims()
	noSub.Subject = ""

	tests := []struct {
		name string
		tok  string
		want error
	}{
		{"alg none, empty signature", algNone(""), token.ErrAlgorithm},
		{"alg none, original signature", algNone(parts[2]), token.ErrAlgorithm},
		{"HS256 signed with the public key", hs256(), token.ErrAlgorithm},
		{"tampered payload (role admin)", tamper(), token.ErrSignature},
		{"signature of another key under our kid", signedBy(otherPriv, f.kid, f.claims()), token.ErrSignature},
		{"unknown kid", signedBy(otherPriv, "other-kid", f.claims()), token.ErrUnknownKey},
		{"no kid", signedBy(f.priv, "", f.claims()), token.ErrUnknownKey},
		{"expired", f.sign(t, expired), token.ErrExpired},
		{"exp equal to now", f.sign(t, atExpiry), token.ErrExpired},
		{"issued in the future", f.sign(t, future), token.ErrNotYet},
		{"wrong issuer", f.sign(t, wrongIss), token.ErrIssuer},
		{"no subject", f.sign(t, noSub), token.ErrClaims},
		{"truncated signature", parts[0] + "." + parts[1] + "." + parts[2][:10], token.ErrSignature},
		{"two parts", parts[0] + "." + parts[1], token.ErrMalformed},
		{"four parts", good + ".x", token.ErrMalformed},
		{"empty", "", token.ErrMalformed},
		{"garbage header", "!!!." + parts[1] + "." + parts[2], token.ErrMalformed},
		{"header not JSON", b64.EncodeToString([]byte("nope")) + "." + parts[1] + "." + parts[2], token.ErrMalformed},
		{"huge", strings.Repeat("a", 5000), token.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := token.Verify(tt.tok, f.keys, token.Options{Now: f.now})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if c != (token.Claims{}) {
				t.Fatalf("claims returned with error: %+v", c)
			}
		})
	}
}

func TestVerifyLeewayAndIssuer(t *testing.T) {
	f := newFixture(t)
	c := f.claims()
	c.Expires = f.now.Add(-10 * time.Second).Unix()
	tok := f.sign(t, c)
	if _, err := token.Verify(tok, f.keys, token.Options{Now: f.now, Leeway: 30 * time.Second}); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
	if _, err := token.Verify(tok, f.keys, token.Options{Now: f.now}); !errors.Is(err, token.ErrExpired) {
		t.Fatalf("without leeway: %v", err)
	}
	if _, err := token.Verify(f.sign(t, f.claims()), f.keys, token.Options{Now: f.now, Issuer: "other"}); !errors.Is(err, token.ErrIssuer) {
		t.Fatalf("issuer option: %v", err)
	}
}

func TestJWKSRoundTrip(t *testing.T) {
	f := newFixture(t)
	g := newFixture(t)
	set := contracts.JWKS{Keys: []contracts.JWK{
		token.PublicJWK(f.kid, f.pub),
		token.PublicJWK(g.kid, g.pub),
		{Kty: "RSA", Kid: "rsa", Alg: "RS256", Use: "sig", X: "zz"}, // skipped
	}}
	var raw map[string][]map[string]string
	if err := json.Unmarshal(mustJSON(set), &raw); err != nil {
		t.Fatal(err)
	}
	k0 := raw["keys"][0]
	if k0["kty"] != "OKP" || k0["crv"] != "Ed25519" || k0["alg"] != "EdDSA" || k0["use"] != "sig" || k0["kid"] != f.kid || k0["x"] == "" {
		t.Fatalf("jwk = %v", k0)
	}
	ks, err := token.ParseJWKS(set)
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 2 {
		t.Fatalf("keys = %d, want 2", len(ks))
	}
	for _, fx := range []fixture{f, g} {
		if _, err := token.Verify(fx.sign(t, fx.claims()), ks, token.Options{Now: fx.now}); err != nil {
			t.Fatalf("verify with parsed set: %v", err)
		}
	}
	bad := contracts.JWKS{Keys: []contracts.JWK{{Kty: "OKP", Crv: "Ed25519", Kid: "k", X: "short"}}}
	if _, err := token.ParseJWKS(bad); err == nil {
		t.Fatal("bad x accepted")
	}
	if token.KeyID(f.pub) != f.kid || token.KeyID(f.pub) == token.KeyID(g.pub) {
		t.Fatal("key id not stable or not distinct")
	}
}

func BenchmarkVerify(b *testing.B) {
	f := newFixture(b)
	tok := f.sign(b, f.claims())
	opt := token.Options{Now: f.now}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := token.Verify(tok, f.keys, opt); err != nil {
			b.Fatal(err)
		}
	}
}
