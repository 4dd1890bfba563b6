package demo

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/tools/loadgen"
)

// Removed is what Remove did.
type Removed struct {
	Products, Files, Categories int
	// Cancelled counts the demo customer's unpaid orders cancelled (their
	// reservations would keep the products).
	Cancelled int
	// Disabled lists the demo accounts that were disabled: the API cannot
	// delete an account.
	Disabled []string
	// Found is false when there was no demo data at all.
	Found bool
}

// Remove deletes what Seed made: it cancels the customer's unpaid orders
// (their reservations keep the products), deletes the sellers' products
// and uploads and the demo categories; the demo accounts are disabled (the API deletes no
// account) and the orders stay in the order history (nothing deletes an
// order). A later Seed enables the accounts again.
func Remove(ctx context.Context, cfg Config) (*Removed, error) {
	r, err := newRunner(ctx, cfg)
	if err != nil {
		return nil, err
	}
	out := &Removed{}
	var errs []error
	// The customer's unpaid orders hold stock reservations, which keep
	// their products from being deleted: cancel them.
	if n, err := r.cancelUnpaid(ctx); err != nil {
		errs = append(errs, err)
	} else if n > 0 {
		out.Found = true
		out.Cancelled = n
	}
	for _, a := range []Account{sellerNorth, sellerSouth} {
		s := &session{Account: a}
		if err := r.login(ctx, s); err != nil {
			continue // never made, or disabled by an earlier removal
		}
		out.Found = true
		np, nf, err := r.removeSellerData(ctx, s)
		out.Products += np
		out.Files += nf
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, name := range []string{Marker, seedingMarker} {
		c, err := r.findNamed(ctx, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if c == nil {
			continue
		}
		out.Found = true
		n, err := r.deleteCategory(ctx, c)
		out.Categories += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, a := range []Account{sellerNorth, sellerSouth, customer} {
		u, err := r.findUser(ctx, a.Email)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if u == nil || u.Disabled {
			continue
		}
		out.Found = true
		disabled := true
		if err := r.call(ctx, loadgen.Call{Method: "PATCH", Path: "/admin/users/" + u.ID, Token: r.admin.Token,
			Body: contracts.AdminUpdateUserRequest{Disabled: &disabled}}, nil); err != nil {
			errs = append(errs, fmt.Errorf("disable %s: %w", a.Email, err))
			continue
		}
		out.Disabled = append(out.Disabled, a.Email)
	}
	return out, errors.Join(errs...)
}

// removeSellerData deletes the seller's products (every status) and the
// uploads in the demo folder.
func (r *runner) removeSellerData(ctx context.Context, s *session) (products, files int, err error) {
	for _, status := range []string{contracts.ProductActive, contracts.ProductDraft, contracts.ProductArchived} {
		for {
			var page contracts.ProductList
			q := url.Values{"seller": {s.ID}, "status": {status}, "limit": {"100"}}
			if err := r.call(ctx, loadgen.Call{Method: "GET", Path: "/products?" + q.Encode(), Token: s.Token}, &page); err != nil {
				return products, files, fmt.Errorf("list the products of %s: %w", s.Email, err)
			}
			if len(page.Items) == 0 {
				break
			}
			for _, p := range page.Items {
				if err := r.call(ctx, loadgen.Call{Method: "DELETE", Path: "/products/" + p.ID, Token: s.Token}, nil); err != nil {
					return products, files, fmt.Errorf("delete product %s: %w", p.Name, err)
				}
				products++
			}
		}
	}
	for {
		var page contracts.List[contracts.File]
		q := url.Values{"folder": {Folder}, "limit": {"100"}}
		if err := r.call(ctx, loadgen.Call{Method: "GET", Path: "/files?" + q.Encode(), Token: s.Token}, &page); err != nil {
			return products, files, fmt.Errorf("list the files of %s: %w", s.Email, err)
		}
		if len(page.Items) == 0 {
			break
		}
		for _, f := range page.Items {
			if err := r.call(ctx, loadgen.Call{Method: "DELETE", Path: "/files/" + f.ID, Token: s.Token}, nil); err != nil {
				return products, files, fmt.Errorf("delete file %s: %w", f.ID, err)
			}
			files++
		}
	}
	return products, files, nil
}

// findNamed returns the root category called name, nil if none.
func (r *runner) findNamed(ctx context.Context, name string) (*contracts.Category, error) {
	var tree contracts.CategoryTree
	if err := r.call(ctx, loadgen.Call{Method: "GET", Path: "/categories"}, &tree); err != nil {
		return nil, fmt.Errorf("read the category tree: %w", err)
	}
	for _, c := range tree.Items {
		if strings.EqualFold(c.Name, name) {
			return c, nil
		}
	}
	return nil, nil
}

// deleteCategory deletes c's subtree, children first.
func (r *runner) deleteCategory(ctx context.Context, c *contracts.Category) (int, error) {
	n := 0
	for _, ch := range c.Children {
		m, err := r.deleteCategory(ctx, ch)
		n += m
		if err != nil {
			return n, err
		}
	}
	if err := r.call(ctx, loadgen.Call{Method: "DELETE", Path: "/categories/" + c.ID, Token: r.admin.Token}, nil); err != nil {
		return n, fmt.Errorf("delete category %s: %w", c.Name, err)
	}
	return n + 1, nil
}

// cancelUnpaid cancels the demo customer's orders that are not paid yet.
func (r *runner) cancelUnpaid(ctx context.Context) (int, error) {
	s := &session{Account: customer}
	if err := r.login(ctx, s); err != nil {
		return 0, nil // never made, or disabled by an earlier removal
	}
	n := 0
	for _, status := range []string{contracts.OrderStatusAwaitingPayment, contracts.OrderStatusPending, contracts.OrderStatusReserved} {
		var page contracts.List[contracts.Order]
		q := url.Values{"status": {status}, "limit": {"100"}}
		if err := r.call(ctx, loadgen.Call{Method: "GET", Path: "/orders?" + q.Encode(), Token: s.Token}, &page); err != nil {
			return n, fmt.Errorf("list the demo customer's orders: %w", err)
		}
		for _, o := range page.Items {
			if err := r.call(ctx, loadgen.Call{Method: "POST", Path: "/orders/" + o.ID + "/cancel", Token: s.Token,
				Body: contracts.CancelRequest{Reason: "demo removed"}}, nil); err != nil {
				return n, fmt.Errorf("cancel the demo order %s: %w", o.ID, err)
			}
			n++
		}
	}
	return n, nil
}
