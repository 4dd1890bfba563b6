package token

import (
	"crypto/ed25519"
	"crypto/sha256"
)

// thumbprint is the RFC 7638 thumbprint of an OKP key: the SHA-256 of
// {"crv":"Ed25519","kty":"OKP","x":"..."} (members in lexical order, no
// whitespace), base64url without padding.
func thumbprint(pub ed25519.PublicKey) string {
	s := `{"crv":"Ed25519","kty":"OKP","x":"` + b64.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(s))
	return b64.EncodeToString(sum[:])
}
