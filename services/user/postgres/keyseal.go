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
		var kid string
		err := s.pool.QueryRow(ctx, `SELECT kid FROM signing_keys WHERE length(private_key) <> $1 LIMIT 1`, ed25519.SeedSize).Scan(&kid)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return 0, nil
		case err != nil:
			return 0, err
		}
		return 0, fmt.Errorf("signing key %s is sealed: set user.key-encryption-key", kid)
	}
	n := 0
	err := pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, keyLock); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT kid, private_key FROM signing_keys`)
		if err != nil {
			return err
		}
		type row struct {
			kid    string
			stored []byte
		}
		var all []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.kid, &r.stored); err != nil {
				rows.Close()
				return err
			}
			all = append(all, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range all {
			seed, err := s.open(r.kid, r.stored)
			if err != nil {
				return err
			}
			if len(r.stored) != ed25519.SeedSize {
				continue // sealed already, and it opens
			}
			sealed, err := s.seal(r.kid, seed)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE signing_keys SET private_key = $2 WHERE kid = $1`, r.kid, sealed); err != nil {
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
