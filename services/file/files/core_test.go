package files_test

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/services/file/files"
)

// memStore is an in-memory files.Store: the domain's rules need nothing
// more than the interface.
type memStore struct {
	mu    sync.Mutex
	files map[uuid.UUID]files.File
}

func newMemStore(fs ...files.File) *memStore {
	m := &memStore{files: map[uuid.UUID]files.File{}}
	for _, f := range fs {
		m.files[f.ID] = f
	}
	return m
}

func (m *memStore) Get(_ context.Context, id uuid.UUID) (files.File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.files[id]
	if !ok {
		return files.File{}, files.ErrNotFound
	}
	return f, nil
}

func (m *memStore) List(_ context.Context, q files.ListQuery) ([]files.File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []files.File
	for _, f := range m.files {
		if f.OwnerID == q.Owner {
			out = append(out, f)
		}
	}
	return out, nil
}

func (m *memStore) Create(_ context.Context, f files.File, _ int64, publish func() error, _ func(string) error) (files.File, error) {
	if err := publish(); err != nil {
		return files.File{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.files[f.ID] = f
	return f, nil
}

func (m *memStore) Delete(_ context.Context, f files.File, _ func(string) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.files, f.ID)
	return nil
}

func (m *memStore) Copy(ctx context.Context, id uuid.UUID, fn func(files.File) (files.File, error)) (files.File, error) {
	src, err := m.Get(ctx, id)
	if err != nil {
		return files.File{}, err
	}
	n, err := fn(src)
	if err != nil {
		return files.File{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.files[n.ID] = n
	return n, nil
}

func (m *memStore) Update(ctx context.Context, id uuid.UUID, fn func(*files.File) error) (files.File, error) {
	f, err := m.Get(ctx, id)
	if err != nil {
		return files.File{}, err
	}
	if err := fn(&f); err != nil {
		return files.File{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.files[id] = f
	return f, nil
}

func (m *memStore) Unreferenced(context.Context, []string) ([]string, error) { return nil, nil }

func (m *memStore) IfUnreferenced(context.Context, string, func() (bool, error)) (bool, error) {
	return false, nil
}

// noBlobs is a files.Blobs for rules that never touch bytes.
type noBlobs struct{}

func (noBlobs) Create() (files.Temp, error)                      { return nil, errors.New("no blobs") }
func (noBlobs) Publish(files.Temp) error                         { return errors.New("no blobs") }
func (noBlobs) Open(string) (files.Blob, error)                  { return nil, fs.ErrNotExist }
func (noBlobs) Exists(string) bool                               { return false }
func (noBlobs) Remove(string) error                              { return nil }
func (noBlobs) Walk(func(string) error) error                    { return nil }
func (noBlobs) StaleTemps(time.Duration, time.Time) (int, error) { return 0, nil }

func actor(role string) contracts.Actor {
	return contracts.Actor{ID: uuid.NewString(), Role: role}
}

// TestWhoMayChangeWhat states the ownership rules of delete, move and
// copy: the owner and admins may; anyone else gets not_found for a
// private file (its existence is not revealed) and permission_denied for
// a public one; signed-out callers are asked to sign in.
func TestWhoMayChangeWhat(t *testing.T) {
	owner, admin, other := actor(contracts.RoleCustomer), actor(contracts.RoleAdmin), actor(contracts.RoleCustomer)
	private := files.File{ID: uuid.New(), OwnerID: owner.ID, Purpose: contracts.PurposeDocument, ContentType: "application/pdf"}
	public := files.File{ID: uuid.New(), OwnerID: owner.ID, Purpose: contracts.PurposeProductImage, ContentType: "image/png"}
	ctx := context.Background()
	for _, c := range []struct {
		name string
		a    contracts.Actor
		f    files.File
		want contracts.Code // "" = allowed
	}{
		{"owner, private", owner, private, ""},
		{"admin, private", admin, private, ""},
		{"other, private", other, private, contracts.CodeNotFound},
		{"other, public", other, public, contracts.CodePermissionDenied},
		{"signed out, public", contracts.Actor{}, public, contracts.CodeUnauthenticated},
	} {
		core := files.New(files.Limits{}, newMemStore(private, public), noBlobs{})
		_, err := core.Move(ctx, c.a, c.f.ID.String(), "moved")
		if got := codeOf(err); got != c.want {
			t.Errorf("%s: move: %v, want %q", c.name, err, c.want)
		}
		_, err = core.Copy(ctx, c.a, c.f.ID.String(), "copied")
		if got := codeOf(err); got != c.want {
			t.Errorf("%s: copy: %v, want %q", c.name, err, c.want)
		}
		if err := core.Delete(ctx, c.a, c.f.ID.String()); codeOf(err) != c.want {
			t.Errorf("%s: delete: %v, want %q", c.name, err, c.want)
		}
	}
}

// TestStatHidesPrivateFiles: a private file reads as missing to anyone
// but its owner, admins and services; a published avatar is public.
func TestStatHidesPrivateFiles(t *testing.T) {
	owner, other, service := actor(contracts.RoleCustomer), actor(contracts.RoleCustomer), contracts.Actor{Role: contracts.RoleService}
	avatar := files.File{ID: uuid.New(), OwnerID: owner.ID, Purpose: contracts.PurposeAvatar, ContentType: "image/png"}
	store := newMemStore(avatar)
	core := files.New(files.Limits{}, store, noBlobs{})
	ctx := context.Background()
	if _, err := core.Stat(ctx, other, avatar.ID.String()); codeOf(err) != contracts.CodeNotFound {
		t.Fatalf("another user's unpublished avatar: %v, want not_found", err)
	}
	if _, err := core.Publish(ctx, owner, contracts.FilePublishRequest{ID: avatar.ID.String(), OwnerID: owner.ID, Purpose: contracts.PurposeAvatar}); codeOf(err) != contracts.CodePermissionDenied {
		t.Fatalf("a user publishing: %v, want permission_denied", err)
	}
	if _, err := core.Publish(ctx, service, contracts.FilePublishRequest{ID: avatar.ID.String(), OwnerID: other.ID, Purpose: contracts.PurposeAvatar}); codeOf(err) != contracts.CodePermissionDenied {
		t.Fatalf("publishing as another owner: %v, want permission_denied", err)
	}
	if _, err := core.Publish(ctx, service, contracts.FilePublishRequest{ID: avatar.ID.String(), OwnerID: owner.ID, Purpose: contracts.PurposeAvatar}); err != nil {
		t.Fatal(err)
	}
	f, err := core.Stat(ctx, other, avatar.ID.String())
	if err != nil || !f.Contract().Public {
		t.Fatalf("published avatar to another user: %+v, %v; want it public", f.Contract(), err)
	}
}

// TestListOnlyOwnUnlessAdmin: users list their own files; another
// owner's only admins and services.
func TestListOnlyOwnUnlessAdmin(t *testing.T) {
	owner, admin, other := actor(contracts.RoleCustomer), actor(contracts.RoleAdmin), actor(contracts.RoleCustomer)
	doc := files.File{ID: uuid.New(), OwnerID: owner.ID, Purpose: contracts.PurposeDocument}
	core := files.New(files.Limits{}, newMemStore(doc), noBlobs{})
	ctx := context.Background()
	mine, err := core.List(ctx, owner, files.ListQuery{Limit: 10})
	if err != nil || len(mine.Items) != 1 {
		t.Fatalf("own list: %+v, %v", mine, err)
	}
	if _, err := core.List(ctx, other, files.ListQuery{Owner: owner.ID, Limit: 10}); codeOf(err) != contracts.CodePermissionDenied {
		t.Fatalf("another user's list: %v, want permission_denied", err)
	}
	l, err := core.List(ctx, admin, files.ListQuery{Owner: owner.ID, Limit: 10})
	if err != nil || !slices.ContainsFunc(l.Items, func(f contracts.File) bool { return f.ID == doc.ID.String() }) {
		t.Fatalf("admin's list of the owner: %+v, %v", l, err)
	}
	if _, err := core.List(ctx, contracts.Actor{}, files.ListQuery{Limit: 10}); codeOf(err) != contracts.CodeUnauthenticated {
		t.Fatalf("signed out: %v, want unauthenticated", err)
	}
}

func codeOf(err error) contracts.Code {
	if err == nil {
		return ""
	}
	return contracts.ErrorCode(err)
}
