package file_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
)

// TestPublish: file.publish (services only) makes an owner's avatar or
// review image public for good, after checking owner, purpose and type;
// until then, and for documents always, only the owner reads the file.
func TestPublish(t *testing.T) {
	t.Parallel()
	h := start(t)
	alice, bob := user(), user()
	pic := h.mustUpload(alice, contracts.PurposeAvatar, "me.png", pngOf(t, 8, 8, 1))
	doc := h.mustUpload(alice, contracts.PurposeDocument, "id.png", pngOf(t, 8, 8, 2))
	anon := contracts.Actor{}
	if r := h.get(anon, "/files/"+pic.ID); r.status != http.StatusNotFound || pic.Public {
		t.Fatalf("an unattached avatar is readable by anyone: %d public=%v", r.status, pic.Public)
	}
	publish := func(a contracts.Actor, id, owner, purpose string) (contracts.File, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return bus.Invoke[contracts.File](ctx, h.deps.RPC, "file", contracts.MethodFilePublish,
			contracts.FilePublishRequest{ID: id, OwnerID: owner, Purpose: purpose}, bus.CallOptions{Actor: a})
	}
	svc := contracts.Actor{Role: contracts.RoleService}
	for _, tc := range []struct {
		what               string
		actor              contracts.Actor
		id, owner, purpose string
		want               contracts.Code
	}{
		{"a user", alice, pic.ID, alice.ID, contracts.PurposeAvatar, contracts.CodePermissionDenied},
		{"another owner", svc, pic.ID, bob.ID, contracts.PurposeAvatar, contracts.CodePermissionDenied},
		{"another purpose", svc, pic.ID, alice.ID, contracts.PurposeReviewImage, contracts.CodeInvalidArgument},
		{"a document", svc, doc.ID, alice.ID, contracts.PurposeDocument, contracts.CodeInvalidArgument},
		{"an unknown file", svc, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", alice.ID, contracts.PurposeAvatar, contracts.CodeNotFound},
	} {
		if _, err := publish(tc.actor, tc.id, tc.owner, tc.purpose); contracts.ErrorCode(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.what, err, tc.want)
		}
	}
	f, err := publish(svc, pic.ID, alice.ID, contracts.PurposeAvatar)
	if err != nil || !f.Public {
		t.Fatalf("publish: %+v %v", f, err)
	}
	if _, err := publish(svc, pic.ID, alice.ID, contracts.PurposeAvatar); err != nil {
		t.Fatalf("publishing twice: %v", err)
	}
	r := h.get(anon, "/files/"+pic.ID)
	if r.status != http.StatusOK || r.header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Fatalf("published avatar: %d %q", r.status, r.header.Get("Cache-Control"))
	}
	if r := h.get(bob, "/files/"+doc.ID); r.status != http.StatusNotFound {
		t.Fatalf("another user reads the document: %d", r.status)
	}
}
