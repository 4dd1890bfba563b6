package file

import "testing"

// TestByteRange: what the download hands to http.ServeContent for each
// Range header (RFC 9110 §14.1.2, §14.2): "" serves the whole file,
// "bytes=<size>-" makes it answer 416 with Content-Range bytes */size.
func TestByteRange(t *testing.T) {
	for _, tc := range []struct {
		h    string
		size int64
		want string
	}{
		{"", 100, ""},
		{"bytes=0-9", 100, "bytes=0-9"},
		{"bytes=-10", 100, "bytes=-10"},
		{"bytes=90-", 100, "bytes=90-"},
		{"bytes=99-500", 100, "bytes=99-500"},
		{"Bytes = 5-6", 100, "bytes=5-6"},
		{"bytes=-0", 100, "bytes=100-"},
		{"bytes=100-", 100, "bytes=100-"},
		{"bytes=100-200", 100, "bytes=100-"},
		{"bytes=-0,-0", 100, "bytes=100-"},
		{"bytes=-0,0-0", 100, ""},  // one satisfiable of several: whole file
		{"bytes=0-1,5-6", 100, ""}, // several ranges: whole file
		{"bytes=9-2", 100, ""},     // invalid: ignored
		{"bytes=-", 100, ""},
		{"bytes=a-b", 100, ""},
		{"bytes=--5", 100, ""},
		{"bytes=99999999999999999999-", 100, ""},
		{"bytes=", 100, ""},
		{"bytes=,", 100, ""},
		{"items=0-5", 100, ""},
		{"0-5", 100, ""},
		{"bytes=-5", 0, ""}, // an empty file has nothing to slice: 200
		{"bytes=0-", 0, ""},
	} {
		if got := byteRange(tc.h, tc.size); got != tc.want {
			t.Errorf("byteRange(%q, %d) = %q, want %q", tc.h, tc.size, got, tc.want)
		}
	}
}
