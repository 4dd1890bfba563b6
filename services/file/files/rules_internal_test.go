package files

import (
	"strings"
	"testing"
)

func TestSniff(t *testing.T) {
	for _, c := range []struct {
		name string
		head string
		want string
	}{
		{"png", "\x89PNG\r\n\x1a\n\x00\x00", typePNG},
		{"jpeg", "\xff\xd8\xff\xe0\x00\x10JFIF", typeJPEG},
		{"gif", "GIF89a\x01\x00", typeGIF},
		{"webp", "RIFF\x10\x00\x00\x00WEBPVP8 ", typeWebP},
		{"riff not webp", "RIFF\x10\x00\x00\x00WAVEfmt ", "audio/wave"},
		{"pdf", "%PDF-1.7\n", typePDF},
		{"text", "hello, world\n", typeText},
		{"utf-8 text cut mid-rune", "caf\xc3", typeText},
		{"latin-1 text", "caf\xe9 cr\xe8me", typeText},
		{"utf-16 text", "\xfe\xff\x00h\x00i", "application/octet-stream"},
		{"html", "<!DOCTYPE html><p>x", "text/html"},
		{"elf", "\x7fELF\x02\x01\x01\x00\x00", "application/octet-stream"},
		{"mz", "MZ\x90\x00\x03\x00", "application/octet-stream"},
		{"zip", "PK\x03\x04", "application/zip"},
	} {
		got := sniff([]byte(c.head))
		if got != c.want {
			t.Errorf("%s: sniff = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestValidFolder(t *testing.T) {
	for f, ok := range map[string]bool{
		"": true, "invoices/2026": true, "a b/c_d.e-f": true, "x.y": true, "...": true,
		"..": false, "../x": false, "a/../b": false, "a/./b": false, "/a": false, "a/": false, "a//b": false,
		"a\\b": false, "a\x00b": false, "ü": false, " a": false, "a /b": false, "%2e%2e": false,
		strings.Repeat("a", 200): true, strings.Repeat("a", 201): false,
	} {
		if err := ValidFolder(f); (err == nil) != ok {
			t.Errorf("ValidFolder(%q) = %v, want ok=%v", f, err, ok)
		}
	}
}

func TestValidName(t *testing.T) {
	for n, ok := range map[string]bool{
		"": true, "photo.png": true, "Crème brûlée.jpg": true, "..hidden": true, "a..b": true,
		"../x": false, "a/b": false, `a\b`: false, ".": false, "..": false, "a\nb": false, "a\x7fb": false,
		"\xff": false, strings.Repeat("a", 256): false,
	} {
		if err := ValidName(n); (err == nil) != ok {
			t.Errorf("ValidName(%q) = %v, want ok=%v", n, err, ok)
		}
	}
}
