package product

import (
	"context"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
)

// maxLookupIDs bounds one product.lookup batch.
const maxLookupIDs = 200

// lookup answers product.lookup: one item per requested id, in order,
// exists=false for unknown, deleted or malformed ids. Stock figures come
// from the documents, which every stock movement purges from the cache;
// they are advisory (the reservation is the authority).
func (c *core) lookup(ctx context.Context, in contracts.LookupRequest) (*contracts.LookupReply, error) {
	if len(in.IDs) > maxLookupIDs {
		return nil, contracts.InvalidArgument("ids", "at most %d ids per lookup", maxLookupIDs)
	}
	docs, err := c.docs(ctx, in.IDs)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, id := range in.IDs {
		if docs[id] == nil {
			if _, err := uuid.Parse(id); err == nil {
				missing = append(missing, id)
			}
		}
	}
	gone, err := c.deletedProducts(ctx, missing)
	if err != nil {
		return nil, err
	}
	out := &contracts.LookupReply{Items: make([]contracts.LookupItem, len(in.IDs))}
	for i, id := range in.IDs {
		d := docs[id]
		if d == nil {
			out.Items[i] = contracts.LookupItem{ID: id}
			if g, ok := gone[id]; ok {
				out.Items[i] = g
			}
			continue
		}
		it := contracts.LookupItem{ID: id, Exists: true, Name: d.Name, Slug: d.Slug, Price: d.Price, Status: d.Status,
			StockStatus: d.StockStatus, Available: d.Stock, SellerID: d.SellerID}
		if len(d.Images) > 0 {
			it.ImageURL = d.Images[0].URL
		}
		for _, v := range d.Variants {
			it.Variants = append(it.Variants, contracts.LookupVariant{ID: v.ID, SKU: v.SKU, Price: v.Price, Stock: v.Stock, Properties: v.Properties})
		}
		out.Items[i] = it
	}
	return out, nil
}

// deletedProducts returns the lookup items (Exists false, Deleted true,
// the last known name) of those ids that name deleted products. Only ids
// missing from the catalogue get here, so the hot path never queries.
func (c *core) deletedProducts(ctx context.Context, ids []string) (map[string]contracts.LookupItem, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return c.catalog.DeletedProducts(ctx, ids)
}
