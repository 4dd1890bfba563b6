package disk

import (
	"strings"
	"testing"
)

func TestBlobPathOnlyFromDigests(t *testing.T) {
	s := &Dir{dir: "/d"}
	sum := strings.Repeat("ab", 32)
	if got := s.path(sum); got != "/d/ab/ab/"+sum {
		t.Fatalf("path = %s", got)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("path accepted a non-digest")
		}
	}()
	s.path("../../etc/passwd")
}
