package account

import (
	"context"
	"strings"
	"testing"
)

func TestPHCRoundTripAndUpgrade(t *testing.T) {
	ctx := context.Background()
	small := Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	h, err := newHasher(small, 2)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := h.hash(ctx, "S3cret-pass")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Count(enc, "$") != 5 {
		t.Fatalf("PHC string = %q", enc)
	}
	if again, _ := h.hash(ctx, "S3cret-pass"); again == enc {
		t.Fatal("same salt twice")
	}
	for _, tt := range []struct {
		pw   string
		want bool
	}{{"S3cret-pass", true}, {"S3cret-pasS", false}, {"", false}} {
		ok, rehash, err := h.verify(ctx, enc, tt.pw)
		if err != nil || ok != tt.want || rehash {
			t.Fatalf("verify(%q) = %v, %v, %v", tt.pw, ok, rehash, err)
		}
	}
	// A hasher with other parameters still checks the old hash, and asks
	// for an upgrade.
	bigger := small
	bigger.Time = 2
	h2, _ := newHasher(bigger, 1)
	if ok, rehash, err := h2.verify(ctx, enc, "S3cret-pass"); !ok || !rehash || err != nil {
		t.Fatalf("cross-params verify = %v, %v, %v", ok, rehash, err)
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=64,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=64,t=1$AAAA$AAAA",
		"$argon2id$v=19$m=64,t=1,p=1$!!$AAAA", "$argon2id$v=19$m=99999999,t=1,p=1$AAAAAAAA$AAAAAAAA", "plain"} {
		if ok, _, err := h.verify(ctx, bad, "x"); ok || err == nil {
			t.Fatalf("bad hash %q accepted", bad)
		}
	}
}

func TestValidation(t *testing.T) {
	emails := map[string]bool{"a@b.co": true, " Mixed@Case.COM ": true, "a@b": false, "@b.co": false, "a b@c.co": false,
		"Name <a@b.co>": false, "a@b.co.": false, "a@@b.co": false}
	for in, ok := range emails {
		if _, err := normalizeEmail(in); (err == nil) != ok {
			t.Errorf("email %q: err = %v", in, err)
		}
	}
	pws := map[string]bool{"Correct-Horse-7": true, "longlowercase1": true, "ABCDEFGH": false, "12345678": false,
		"Password1": false, "short1A": false, strings.Repeat("aB", 65): false, "qwerty123": false}
	for in, ok := range pws {
		if err := checkPassword("password", in, "me@example.com"); (err == nil) != ok {
			t.Errorf("password %q: err = %v", in, err)
		}
	}
	if err := checkPassword("password", "me@example.com", "me@example.com"); err == nil {
		t.Error("password equal to email accepted")
	}
	phones := map[string]string{"+1 (555) 123-4567": "+15551234567", "+447911123456": "+447911123456", "": ""}
	for in, want := range phones {
		if got, err := normalizePhone(in); err != nil || got != want {
			t.Errorf("phone %q = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"5551234567", "+0123456789", "+12", "+1555abc4567", "+1234567890123456"} {
		if _, err := normalizePhone(in); err == nil {
			t.Errorf("phone %q accepted", in)
		}
	}
}

// BenchmarkHashDefault measures one argon2id hash at the default (OWASP)
// parameters: the CPU cost of a login.
func BenchmarkHashDefault(b *testing.B) {
	h, err := newHasher(DefaultArgon2, 4)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.hash(ctx, "Correct-Horse-7"); err != nil {
			b.Fatal(err)
		}
	}
}
