package account

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost parameters of new password hashes.
// Stored hashes carry their own parameters (PHC string), so lowering or
// raising these never breaks existing passwords; a hash made with other
// parameters is upgraded on the next successful login.
type Argon2Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
	SaltLen   uint32
	KeyLen    uint32
}

// DefaultArgon2 is OWASP's minimum recommendation for argon2id (19 MiB,
// two passes, one lane): about 20-30 ms per hash on the reference machine,
// fast enough for load tests of login.
var DefaultArgon2 = Argon2Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// RegisterFlags registers the parameters under prefix (e.g. "user.argon2.").
func (p *Argon2Params) RegisterFlags(prefix string, fs *flag.FlagSet) {
	*p = DefaultArgon2
	fs.Func(prefix+"memory-kib", fmt.Sprintf("argon2id memory in KiB (default %d)", p.MemoryKiB), uintSetter(&p.MemoryKiB))
	fs.Func(prefix+"time", fmt.Sprintf("argon2id passes (default %d)", p.Time), uintSetter(&p.Time))
	fs.Func(prefix+"threads", fmt.Sprintf("argon2id lanes (default %d)", p.Threads), func(s string) error {
		v, err := strconv.ParseUint(s, 10, 8)
		p.Threads = uint8(v)
		return err
	})
}

func uintSetter(dst *uint32) func(string) error {
	return func(s string) error {
		v, err := strconv.ParseUint(s, 10, 32)
		*dst = uint32(v)
		return err
	}
}

// Validate checks the parameters are usable (not secure: tests use tiny ones).
func (p Argon2Params) Validate() error {
	switch {
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > 4<<20:
		return fmt.Errorf("argon2 memory %d KiB out of range", p.MemoryKiB)
	case p.Time < 1 || p.Time > 100:
		return fmt.Errorf("argon2 time %d out of range 1..100", p.Time)
	case p.Threads < 1:
		return errors.New("argon2 threads must be at least 1")
	case p.SaltLen < 8 || p.KeyLen < 16:
		return errors.New("argon2 salt must be >= 8 bytes and key >= 16 bytes")
	}
	return nil
}

// hasher hashes and checks passwords with argon2id, bounding how many run at
// once so that a login storm cannot use unbounded memory.
type hasher struct {
	p   Argon2Params
	sem chan struct{}
	// dummy is a hash of a random password, checked for unknown emails so
	// that they cost the same work as a wrong password.
	dummy string
}

func newHasher(p Argon2Params, concurrency int) (*hasher, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if concurrency < 1 {
		concurrency = 1
	}
	h := &hasher{p: p, sem: make(chan struct{}, concurrency)}
	var pw [18]byte
	_, _ = rand.Read(pw[:])
	d, err := h.hash(context.Background(), base64.StdEncoding.EncodeToString(pw[:]))
	if err != nil {
		return nil, err
	}
	h.dummy = d
	return h, nil
}

func (h *hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// hash returns the PHC string of password:
// $argon2id$v=19$m=<KiB>,t=<time>,p=<threads>$<salt>$<key> (base64 std, no padding).
func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer func() { <-h.sem }()
	salt := make([]byte, h.p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, h.p.Time, h.p.MemoryKiB, h.p.Threads, h.p.KeyLen)
	return encodePHC(h.p, salt, key), nil
}

func encodePHC(p Argon2Params, salt, key []byte) string {
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key))
}

var errBadHash = errors.New("password hash: bad format")

// parsePHC parses an argon2id PHC string.
func parsePHC(s string) (p Argon2Params, salt, key []byte, err error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, errBadHash
	}
	var m, t, th uint64
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return p, nil, nil, errBadHash
		}
		n, perr := strconv.ParseUint(v, 10, 32)
		if perr != nil {
			return p, nil, nil, errBadHash
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			th = n
		default:
			return p, nil, nil, errBadHash
		}
	}
	enc := base64.RawStdEncoding
	if salt, err = enc.DecodeString(parts[4]); err != nil {
		return p, nil, nil, errBadHash
	}
	if key, err = enc.DecodeString(parts[5]); err != nil {
		return p, nil, nil, errBadHash
	}
	if th == 0 || th > 255 || t == 0 || m == 0 || len(key) == 0 {
		return p, nil, nil, errBadHash
	}
	p = Argon2Params{MemoryKiB: uint32(m), Time: uint32(t), Threads: uint8(th), SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	return p, salt, key, nil
}

// verify reports whether password matches the PHC string encoded, and
// whether the hash should be upgraded to the current parameters. The
// comparison is constant-time.
func (h *hasher) verify(ctx context.Context, encoded, password string) (ok, rehash bool, err error) {
	p, salt, key, err := parsePHC(encoded)
	if err != nil {
		return false, false, err
	}
	if p.MemoryKiB > 4<<20 || p.Time > 100 {
		return false, false, errBadHash
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer func() { <-h.sem }()
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key)))
	ok = subtle.ConstantTimeCompare(got, key) == 1
	rehash = p.MemoryKiB != h.p.MemoryKiB || p.Time != h.p.Time || p.Threads != h.p.Threads || p.KeyLen != h.p.KeyLen
	return ok, rehash, nil
}

// burn runs one verification against the dummy hash: the work an unknown
// email costs, so it cannot be told from a wrong password by timing.
func (h *hasher) burn(ctx context.Context, password string) {
	_, _, _ = h.verify(ctx, h.dummy, password)
}
