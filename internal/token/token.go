// Package token signs and verifies OpenCommerce access tokens: compact JWTs
// (RFC 7519) signed with Ed25519 (RFC 8037, "alg":"EdDSA") and carrying a
// "kid" that names the key in the user service's key set (user.jwks).
//
// Verification accepts exactly one algorithm, EdDSA, and only keys it was
// given: "alg":"none", HS256 and every other algorithm are rejected before
// any key is looked up, so the classic algorithm-confusion attacks (HS256
// signed with the public key bytes) cannot work. Tokens must carry the
// issuer "opencommerce", a subject, a role, and an expiry in the future.
//
// The package has no database or network code; the gateway imports it.
package token

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
)

// Algorithm is the only JWS algorithm produced and accepted.
const Algorithm = "EdDSA"

// Errors returned by Verify (wrapped; match with errors.Is). Every one of
// them means "unauthenticated" to a caller.
var (
	ErrMalformed  = errors.New("token: malformed")
	ErrAlgorithm  = errors.New("token: unsupported algorithm")
	ErrUnknownKey = errors.New("token: unknown key id")
	ErrSignature  = errors.New("token: bad signature")
	ErrExpired    = errors.New("token: expired")
	ErrNotYet     = errors.New("token: issued in the future")
	ErrIssuer     = errors.New("token: wrong issuer")
	ErrClaims     = errors.New("token: missing claims")
)

// Claims are the claims of an access token.
type Claims struct {
	Subject  string `json:"sub"`
	Role     string `json:"role"`
	IssuedAt int64  `json:"iat"`
	Expires  int64  `json:"exp"`
	Issuer   string `json:"iss"`
	ID       string `json:"jti"`
	// IssuedAtMicros is the issue time in Unix microseconds: iat has whole
	// seconds only, too coarse to tell a token issued in the same second
	// as a session revocation (before it: void; after it: valid).
	IssuedAtMicros int64 `json:"iat_us,omitempty"`
}

// Actor returns the identity the claims grant.
func (c Claims) Actor() contracts.Actor { return contracts.Actor{ID: c.Subject, Role: c.Role} }

// Issued returns the issue time in Unix microseconds: IssuedAtMicros, or
// for a token without it the start of its iat second (so such a token
// counts as issued before a revocation in that same second).
func (c Claims) Issued() int64 {
	if c.IssuedAtMicros > 0 {
		return c.IssuedAtMicros
	}
	return c.IssuedAt * 1e6
}

type header struct {
	Alg string `json:"alg"`
	Typ string `json:"typ,omitempty"`
	Kid string `json:"kid,omitempty"`
}

var b64 = base64.RawURLEncoding

// Sign returns the compact JWT of claims signed with key under the key id
// kid. Issuer is set to contracts.TokenIssuer and ID to a random id when
// empty.
func Sign(key ed25519.PrivateKey, kid string, c Claims) (string, error) {
	if len(key) != ed25519.PrivateKeySize {
		return "", errors.New("token: bad private key size")
	}
	if c.Issuer == "" {
		c.Issuer = contracts.TokenIssuer
	}
	if c.ID == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		c.ID = b64.EncodeToString(b[:])
	}
	h, err := json.Marshal(header{Alg: Algorithm, Typ: "JWT", Kid: kid})
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	sb.Grow(b64.EncodedLen(len(h)) + b64.EncodedLen(len(p)) + b64.EncodedLen(ed25519.SignatureSize) + 2)
	sb.WriteString(b64.EncodeToString(h))
	sb.WriteByte('.')
	sb.WriteString(b64.EncodeToString(p))
	sig := ed25519.Sign(key, []byte(sb.String()))
	sb.WriteByte('.')
	sb.WriteString(b64.EncodeToString(sig))
	return sb.String(), nil
}

// Keys finds a public key by its key id. Implementations used by Verify
// concurrently must be safe for concurrent use.
type Keys interface {
	Key(kid string) (ed25519.PublicKey, bool)
}

// KeySet is an immutable set of public keys by key id; safe for concurrent
// reads.
type KeySet map[string]ed25519.PublicKey

// Key implements Keys.
func (s KeySet) Key(kid string) (ed25519.PublicKey, bool) {
	k, ok := s[kid]
	return k, ok
}

// Options tune Verify. The zero value checks the issuer
// contracts.TokenIssuer with no clock leeway at time.Now.
type Options struct {
	// Now is the time to check against; zero means time.Now().
	Now time.Time
	// Leeway tolerates clock skew between signer and verifier on exp and iat.
	Leeway time.Duration
	// Issuer overrides the expected issuer.
	Issuer string
}

// Verify parses tok, checks its header (alg EdDSA, a kid known to keys), its
// Ed25519 signature, and its claims (issuer, expiry, issued-at, subject,
// role), and returns the claims. Any failure is one of the Err* values
// (wrapped).
func Verify(tok string, keys Keys, opt Options) (Claims, error) {
	var c Claims
	if len(tok) > 4096 {
		return c, fmt.Errorf("%w: too long", ErrMalformed)
	}
	i := strings.IndexByte(tok, '.')
	if i < 0 {
		return c, fmt.Errorf("%w: want 3 parts", ErrMalformed)
	}
	j := strings.IndexByte(tok[i+1:], '.')
	if j < 0 {
		return c, fmt.Errorf("%w: want 3 parts", ErrMalformed)
	}
	j += i + 1
	hPart, pPart, sPart := tok[:i], tok[i+1:j], tok[j+1:]
	if strings.IndexByte(sPart, '.') >= 0 {
		return c, fmt.Errorf("%w: want 3 parts", ErrMalformed)
	}

	hb, err := b64.DecodeString(hPart)
	if err != nil {
		return c, fmt.Errorf("%w: header encoding", ErrMalformed)
	}
	var h header
	if err := strictUnmarshal(hb, &h); err != nil {
		return c, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if h.Alg != Algorithm {
		return c, fmt.Errorf("%w: %q", ErrAlgorithm, h.Alg)
	}
	if h.Typ != "" && h.Typ != "JWT" {
		return c, fmt.Errorf("%w: typ %q", ErrMalformed, h.Typ)
	}
	if h.Kid == "" {
		return c, fmt.Errorf("%w: no kid", ErrUnknownKey)
	}
	pub, ok := keys.Key(h.Kid)
	if !ok || len(pub) != ed25519.PublicKeySize {
		return c, fmt.Errorf("%w: %q", ErrUnknownKey, h.Kid)
	}
	sig, err := b64.DecodeString(sPart)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return c, fmt.Errorf("%w: signature encoding", ErrSignature)
	}
	if !ed25519.Verify(pub, []byte(tok[:j]), sig) {
		return c, ErrSignature
	}

	pb, err := b64.DecodeString(pPart)
	if err != nil {
		return c, fmt.Errorf("%w: payload encoding", ErrMalformed)
	}
	if err := strictUnmarshal(pb, &c); err != nil {
		return Claims{}, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	iss := opt.Issuer
	if iss == "" {
		iss = contracts.TokenIssuer
	}
	if c.Issuer != iss {
		return Claims{}, fmt.Errorf("%w: %q", ErrIssuer, c.Issuer)
	}
	if c.Subject == "" || c.Role == "" || c.Expires == 0 {
		return Claims{}, ErrClaims
	}
	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	leeway := int64(opt.Leeway / time.Second)
	unix := now.Unix()
	if unix >= c.Expires+leeway {
		return Claims{}, ErrExpired
	}
	if c.IssuedAt > unix+leeway {
		return Claims{}, ErrNotYet
	}
	return c, nil
}

// strictUnmarshal decodes one JSON object, ignoring unknown members (JWT
// headers and claims are extensible) but refusing trailing data.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// PublicJWK returns the JWK of an Ed25519 public key.
func PublicJWK(kid string, pub ed25519.PublicKey) contracts.JWK {
	return contracts.JWK{Kty: "OKP", Crv: "Ed25519", X: b64.EncodeToString(pub), Kid: kid, Alg: Algorithm, Use: "sig"}
}

// ParseJWKS builds a KeySet from a JWKS. Keys that are not OKP/Ed25519
// signing keys for EdDSA are skipped; a malformed Ed25519 key is an error.
func ParseJWKS(set contracts.JWKS) (KeySet, error) {
	ks := make(KeySet, len(set.Keys))
	for _, k := range set.Keys {
		if k.Kty != "OKP" || k.Crv != "Ed25519" || (k.Alg != "" && k.Alg != Algorithm) || (k.Use != "" && k.Use != "sig") {
			continue
		}
		if k.Kid == "" {
			return nil, errors.New("token: jwk without kid")
		}
		x, err := b64.DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("token: jwk %q: bad x", k.Kid)
		}
		ks[k.Kid] = ed25519.PublicKey(x)
	}
	return ks, nil
}

// KeyID returns the key id of pub: the RFC 7638 JWK thumbprint (base64url
// SHA-256 of the canonical JWK), so the same key always gets the same id.
func KeyID(pub ed25519.PublicKey) string {
	return thumbprint(pub)
}
