package postgres

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/opencommerce/opencommerce/internal/pg"
)

// Signing keys at rest: with a key-encryption key (Config.KeyEncryptionKey)
// the private_key column holds sealedVersion || nonce || AES-256-GCM(seed)
// with the key id as additional data, so a sealed key cannot be moved to
// another row; without one it holds the 32-byte Ed25519 seed (development).
// The two are told apart by length.

const sealedVersion = 1

var sealedLen = 1 + 12 + ed25519.SeedSize + 16

// seal returns what is stored for seed under kid.
func (s *Store) seal(kid string, seed []byte) ([]byte, error) {
	if s.aead == nil {
		return seed, nil
	}
	out := make([]byte, 1+s.aead.NonceSize(), sealedLen)
	out[0] = sealedVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, err
	}
	return s.aead.Seal(out, out[1:], seed, []byte(kid)), nil
}

// open returns the seed stored for kid.
func (s *Store) open(kid string, stored []byte) ([]byte, error) {
	switch {
	case len(stored) == ed25519.SeedSize:
		return stored, nil
	case len(stored) == sealedLen && stored[0] == sealedVersion:
		if s.aead == nil {
			return nil, fmt.Errorf("signing key %s is sealed: set user.key-encryption-key", kid)
		}
		seed, err := s.aead.Open(nil, stored[1:1+s.aead.NonceSize()], stored[1+s.aead.NonceSize():], []byte(kid))
		if err != nil {
			return nil, fmt.Errorf("signing key %s does not open with user.key-encryption-key: wrong key or altered row", kid)
		}
		return seed, nil
	}
	return nil, fmt.Errorf("signing key %s: bad stored key", kid)
}

func newAEAD(kek []byte) (cipher.AEAD, error) {
	if kek == nil {
		return nil, nil
	}
	if len(kek) != 32 {
		return nil, errors.New("user: the key-encryption key must be 32 bytes")
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// SealKeys seals every signing key still stored in plaintext and returns
// how many it sealed. Keys already sealed must open with the configured
// key, else it fails: a service started with the wrong key-encryption key,
// or with none once keys are sealed, stops at once (and rotate-key refuses
// to add a plaintext key next to sealed ones) instead of failing later.
func (s *Store) SealKeys(ctx context.Context) (int, error) {
	if s.aead == nil {
		return 0, s.refuseSealed(ctx)
	}
	n := 0
	err := pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, keyLock); err != nil {
			return err
		}
		all, err := storedKeys(ctx, tx)
		if err != nil {
			return err
		}
		for _, k := range all {
			sealed, err := s.sealStored(k)
			if err != nil {
				return err
			}
			if sealed == nil {
				continue // sealed already, and it opens
			}
			if _, err := tx.Exec(ctx, `UPDATE signing_keys SET private_key = $2 WHERE kid = $1`, k.kid, sealed); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("seal signing keys: %w", err)
	}
	return n, nil
}

// refuseSealed is SealKeys without a key-encryption key: an error naming a
// sealed key if there is one (it could not be opened), else nil.
func (s *Store) refuseSealed(ctx context.Context) error {
	var kid string
	err := s.pool.QueryRow(ctx, `SELECT kid FROM signing_keys WHERE length(private_key) <> $1 LIMIT 1`, ed25519.SeedSize).Scan(&kid)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	return fmt.Errorf("signing key %s is sealed: set user.key-encryption-key", kid)
}

// storedKey is a signing key's private key as stored (a plaintext seed or
// sealed).
type storedKey struct {
	kid    string
	stored []byte
}

func storedKeys(ctx context.Context, tx pgx.Tx) ([]storedKey, error) {
	rows, err := tx.Query(ctx, `SELECT kid, private_key FROM signing_keys`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (storedKey, error) {
		var k storedKey
		err := r.Scan(&k.kid, &k.stored)
		return k, err
	})
}

// sealStored checks that k opens with the configured key and returns it
// sealed, or nil when it is sealed already.
func (s *Store) sealStored(k storedKey) ([]byte, error) {
	seed, err := s.open(k.kid, k.stored)
	if err != nil {
		return nil, err
	}
	if len(k.stored) != ed25519.SeedSize {
		return nil, nil
	}
	return s.seal(k.kid, seed)
}
