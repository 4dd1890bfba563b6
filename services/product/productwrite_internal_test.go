package product

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
)

// fakeCatalog is a catalogStore that knows one product's owner and
// counts write transactions; any other method panics (the embedded nil
// interface), so a test fails if the domain reaches for more.
type fakeCatalog struct {
	catalogStore
	owner  string
	images map[uuid.UUID]bool
	writes int
}

func (f *fakeCatalog) ProductOwner(context.Context, uuid.UUID) (string, int64, error) {
	return f.owner, 1500, nil
}

func (f *fakeCatalog) VariantImages(context.Context, uuid.UUID) (map[uuid.UUID]bool, error) {
	return f.images, nil
}

func (f *fakeCatalog) Write(context.Context, func(catalogTx) error) error {
	f.writes++
	return contracts.Errorf(contracts.CodeUnavailable, "stop here: the test checks what happens before the transaction")
}

// fakeFiles answers every file as the owner's product image and counts
// the questions.
type fakeFiles struct {
	owner string
	stats []string
}

func (f *fakeFiles) StatFile(_ context.Context, id string) (FileInfo, error) {
	f.stats = append(f.stats, id)
	return FileInfo{ID: id, OwnerID: f.owner, Purpose: "product_image"}, nil
}

func (f *fakeFiles) PublishFile(context.Context, string, string, string) (FileInfo, error) {
	panic("not used by product writes")
}

// TestUpdateProductChecksBeforeTheTransaction: the domain runs on its
// store interface alone. Another seller's update is refused before the
// file service is asked anything and before any transaction; the owner's
// update asks the file service only about the variant image the product
// does not show yet, and does so before the transaction (no RPC while
// rows are locked).
func TestUpdateProductChecksBeforeTheTransaction(t *testing.T) {
	t.Parallel()
	known, fresh := uuid.New(), uuid.New()
	variants := []contracts.VariantInput{
		{SKU: "A", ImageFileID: known.String()},
		{SKU: "B", ImageFileID: fresh.String()},
	}
	patch := contracts.ProductPatch{Variants: &variants}
	owner := contracts.Actor{ID: "seller-1", Role: contracts.RoleSeller}
	other := contracts.Actor{ID: "seller-2", Role: contracts.RoleSeller}
	newCore := func() (*core, *fakeCatalog, *fakeFiles) {
		st := &fakeCatalog{owner: owner.ID, images: map[uuid.UUID]bool{known: true}}
		files := &fakeFiles{owner: owner.ID}
		return &core{catalog: st, files: files, cfg: DefaultConfig()}, st, files
	}
	id := uuid.NewString()

	c, st, files := newCore()
	_, err := c.updateProduct(context.Background(), other, id, patch)
	if contracts.ErrorCode(err) != contracts.CodePermissionDenied {
		t.Fatalf("another seller's update: %v, want permission_denied", err)
	}
	if len(files.stats) != 0 || st.writes != 0 {
		t.Fatalf("refused update asked the file service %v and opened %d transactions", files.stats, st.writes)
	}

	c, st, files = newCore()
	_, err = c.updateProduct(context.Background(), owner, id, patch)
	if contracts.ErrorCode(err) != contracts.CodeUnavailable || st.writes != 1 {
		t.Fatalf("owner's update: %v after %d transactions, want to reach the one transaction", err, st.writes)
	}
	if len(files.stats) != 1 || files.stats[0] != fresh.String() {
		t.Fatalf("file service asked about %v, want only the new image %s", files.stats, fresh)
	}
}
