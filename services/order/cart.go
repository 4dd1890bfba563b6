package order

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/opencommerce/opencommerce/contracts"
)

// cartStore keeps carts in Redis: one hash per user at
// <prefix>cart:<user id>, field "<product id>" or "<product id>/<variant
// id>", value the quantity. Every write refreshes the expiry (Config.CartTTL);
// reads do not.
type cartStore struct {
	rdb    *redis.Client
	prefix string
	ttl    time.Duration
}

// cartLine is a stored cart line.
type cartLine struct {
	ProductID string
	VariantID string
	Quantity  int64
}

func (c *cartStore) key(userID string) string { return c.prefix + "cart:" + userID }

func lineField(productID, variantID string) string {
	if variantID == "" {
		return productID
	}
	return productID + "/" + variantID
}

// setLine stores the quantity of a line unless that would make the cart
// longer than MaxCartLines (then it returns 0), atomically. The value is
// "<quantity>:<unix ms when the line was first added>", so the cart keeps
// the order in which lines were added.
var setLine = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
local added = ARGV[5]
if cur then
  local i = string.find(cur, ':', 1, true)
  if i then added = string.sub(cur, i + 1) end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. added)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`)

// Set sets a line's quantity; false means the cart is full.
func (c *cartStore) Set(ctx context.Context, userID string, l cartLine) (bool, error) {
	n, err := setLine.Run(ctx, c.rdb, []string{c.key(userID)},
		lineField(l.ProductID, l.VariantID), l.Quantity, contracts.MaxCartLines, c.ttl.Milliseconds(), time.Now().UnixMilli()).Int()
	if err != nil {
		return false, cartUnavailable(err)
	}
	return n == 1, nil
}

// Lines returns the cart's lines in the order they were first added.
func (c *cartStore) Lines(ctx context.Context, userID string) ([]cartLine, error) {
	m, err := c.rdb.HGetAll(ctx, c.key(userID)).Result()
	if err != nil {
		return nil, cartUnavailable(err)
	}
	type entry struct {
		line  cartLine
		added int64
		field string
	}
	entries := make([]entry, 0, len(m))
	for f, v := range m {
		qs, as, _ := strings.Cut(v, ":")
		q, err := strconv.ParseInt(qs, 10, 64)
		if err != nil || q < 1 {
			continue // not ours; ignore rather than fail the cart
		}
		added, _ := strconv.ParseInt(as, 10, 64)
		p, variant, _ := strings.Cut(f, "/")
		entries = append(entries, entry{cartLine{ProductID: p, VariantID: variant, Quantity: q}, added, f})
	}
	sort.Slice(entries, func(i, j int) bool {
		if entries[i].added != entries[j].added {
			return entries[i].added < entries[j].added
		}
		return entries[i].field < entries[j].field
	})
	lines := make([]cartLine, len(entries))
	for i, e := range entries {
		lines[i] = e.line
	}
	return lines, nil
}

// Remove deletes the line (productID, variantID), or every line of the
// product when variantID is "" and all is true.
func (c *cartStore) Remove(ctx context.Context, userID, productID, variantID string, all bool) error {
	key := c.key(userID)
	fields := []string{lineField(productID, variantID)}
	if all {
		lines, err := c.Lines(ctx, userID)
		if err != nil {
			return err
		}
		fields = fields[:0]
		for _, l := range lines {
			if l.ProductID == productID {
				fields = append(fields, lineField(l.ProductID, l.VariantID))
			}
		}
		if len(fields) == 0 {
			return nil
		}
	}
	pipe := c.rdb.TxPipeline()
	pipe.HDel(ctx, key, fields...)
	pipe.PExpire(ctx, key, c.ttl)
	if _, err := pipe.Exec(ctx); err != nil {
		return cartUnavailable(err)
	}
	return nil
}

// RemoveLines deletes the given lines (after a checkout from the cart).
func (c *cartStore) RemoveLines(ctx context.Context, userID string, lines []cartLine) error {
	if len(lines) == 0 {
		return nil
	}
	fields := make([]string, len(lines))
	for i, l := range lines {
		fields[i] = lineField(l.ProductID, l.VariantID)
	}
	if err := c.rdb.HDel(ctx, c.key(userID), fields...).Err(); err != nil {
		return cartUnavailable(err)
	}
	return nil
}

// Clear empties the cart.
func (c *cartStore) Clear(ctx context.Context, userID string) error {
	if err := c.rdb.Del(ctx, c.key(userID)).Err(); err != nil {
		return cartUnavailable(err)
	}
	return nil
}

func cartUnavailable(err error) error {
	return fmt.Errorf("cart store: %v: %w", err, contracts.Errorf(contracts.CodeUnavailable, "cart store unavailable"))
}

// priced is a line checked against the catalogue.
type priced struct {
	line    cartLine
	item    contracts.LookupItem
	price   contracts.Money
	stock   int64
	variant *contracts.LookupVariant // the chosen variant, if any
	problem string                   // "" when the line can be bought as is
}

// priceLines looks the lines' products up and checks each line: the
// product exists and is active, the variant exists (a product with
// variants is bought by variant), the stock suffices.
func priceLines(ctx context.Context, cat Catalog, lines []cartLine) ([]priced, error) {
	if len(lines) == 0 {
		return nil, nil
	}
	ids := make([]string, 0, len(lines))
	seen := map[string]bool{}
	for _, l := range lines {
		if !seen[l.ProductID] {
			seen[l.ProductID] = true
			ids = append(ids, l.ProductID)
		}
	}
	items, err := cat.Lookup(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]contracts.LookupItem, len(items))
	for _, it := range items {
		byID[it.ID] = it
	}
	out := make([]priced, len(lines))
	for i, l := range lines {
		out[i] = checkLinePrice(l, byID[l.ProductID])
	}
	return out, nil
}

// checkLinePrice prices the line l of the product it (as looked up) and
// names its problem, if any: gone, not for sale, a variant missing or
// unknown, too little stock.
func checkLinePrice(l cartLine, it contracts.LookupItem) priced {
	if it.Exists && it.Status == contracts.ProductDraft {
		// A draft was never published: to buyers it does not exist, and
		// nothing of it (name, price, image) may show in a cart.
		it = contracts.LookupItem{ID: l.ProductID}
	}
	p := priced{line: l, item: it, price: it.Price, stock: it.Available}
	switch {
	case it.Deleted:
		p.problem = "deleted"
	case !it.Exists:
		p.problem = "not_found"
	case it.Status != contracts.ProductActive:
		p.problem = "inactive"
	case l.VariantID == "" && len(it.Variants) > 0:
		p.problem = "variant_required"
	}
	if p.problem == "" && l.VariantID != "" {
		for i := range it.Variants {
			if v := &it.Variants[i]; v.ID == l.VariantID {
				p.variant, p.price, p.stock = v, v.Price, v.Stock
			}
		}
		if p.variant == nil {
			p.problem = "variant_not_found"
		}
	}
	if p.problem == "" {
		switch {
		case p.stock <= 0:
			p.problem = "out_of_stock"
		case p.stock < l.Quantity:
			p.problem = "insufficient_stock"
		}
	}
	return p
}

// cartView builds the public cart from priced lines.
func cartView(lines []priced) contracts.Cart {
	cart := contracts.Cart{Items: make([]contracts.CartItem, 0, len(lines)), Subtotal: contracts.USD(0)}
	currencySet := false
	for _, p := range lines {
		ci := contracts.CartItem{
			ProductID: p.line.ProductID, VariantID: p.line.VariantID, Name: p.item.Name, ImageURL: p.item.ImageURL,
			Quantity: p.line.Quantity, UnitPrice: p.price, StockStatus: p.item.StockStatus,
			Available: p.problem == "", Problem: p.problem,
		}
		if p.variant != nil {
			ci.StockStatus = contracts.StockStatusOf(p.stock)
			ci.VariantName, ci.VariantOptions, ci.SKU = contracts.VariantLabel(p.variant.Properties), p.variant.Properties, p.variant.SKU
		}
		ci.Total = contracts.Money{Amount: p.price.Amount * p.line.Quantity, Currency: p.price.Currency}
		if ci.Available {
			if !currencySet {
				cart.Subtotal.Currency, currencySet = p.price.Currency, true
			}
			if p.price.Currency == cart.Subtotal.Currency {
				cart.Subtotal.Amount += ci.Total.Amount
				cart.ItemCount += p.line.Quantity
			}
		}
		cart.Items = append(cart.Items, ci)
	}
	return cart
}

// problemMessage explains a line problem to a person.
func problemMessage(p priced) string {
	name := p.item.Name
	if name == "" {
		name = p.line.ProductID
	}
	switch p.problem {
	case "not_found":
		return fmt.Sprintf("product %s does not exist", p.line.ProductID)
	case "deleted":
		return fmt.Sprintf("product %q is no longer available: the seller removed it", name)
	case "variant_required":
		return fmt.Sprintf("product %q comes in %d variants: choose one (variant_id)", name, len(p.item.Variants))
	case "inactive":
		return fmt.Sprintf("product %q is not for sale", name)
	case "variant_not_found":
		return fmt.Sprintf("product %q has no variant %s", name, p.line.VariantID)
	case "out_of_stock":
		return fmt.Sprintf("product %q is out of stock", name)
	case "insufficient_stock":
		return fmt.Sprintf("only %d of %q left (asked for %d)", p.stock, name, p.line.Quantity)
	}
	return ""
}

// problemError is the error a line problem makes: bad input (unknown or
// not for sale) is invalid_argument, a stock shortage failed_precondition.
func problemError(field string, p priced) error {
	msg := problemMessage(p)
	var e *contracts.Error
	switch p.problem {
	case "out_of_stock", "insufficient_stock":
		e = contracts.Errorf(contracts.CodeFailedPrecondition, "%s", msg).WithDetail("available", p.stock)
		if field != "" {
			e.WithDetail("field", field)
		}
	default:
		e = contracts.InvalidArgument(field, "%s", msg)
	}
	return e.WithDetail("product_id", p.line.ProductID).WithDetail("problem", p.problem)
}

// Cart returns actor's cart priced with the catalogue's current names,
// prices and stock.
func (s *Service) Cart(ctx context.Context, actor contracts.Actor) (contracts.Cart, error) {
	if actor.ID == "" {
		return contracts.Cart{}, contracts.Unauthenticated("sign in to use a cart")
	}
	lines, err := s.carts.Lines(ctx, actor.ID)
	if err != nil {
		return contracts.Cart{}, err
	}
	callCtx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	p, err := priceLines(callCtx, s.catalog, lines)
	if err != nil {
		return contracts.Cart{}, err
	}
	return cartView(p), nil
}

// SetCartItem sets the quantity of a cart line after checking the product
// with the catalogue (exists, active, variant, stock), and returns the cart.
func (s *Service) SetCartItem(ctx context.Context, actor contracts.Actor, productID string, req contracts.CartSetItemRequest) (contracts.Cart, error) {
	if actor.ID == "" {
		return contracts.Cart{}, contracts.Unauthenticated("sign in to use a cart")
	}
	if _, err := uuid.Parse(productID); err != nil || productID == "" {
		return contracts.Cart{}, contracts.InvalidArgument("product_id", "product_id %q is not a valid id", productID)
	}
	if err := checkLine("", productID, req.VariantID, req.Quantity); err != nil {
		return contracts.Cart{}, err
	}
	l := cartLine{ProductID: productID, VariantID: req.VariantID, Quantity: req.Quantity}
	callCtx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	p, err := priceLines(callCtx, s.catalog, []cartLine{l})
	cancel()
	if err != nil {
		return contracts.Cart{}, err
	}
	if p[0].problem == "variant_required" {
		return contracts.Cart{}, problemError("variant_id", p[0])
	}
	if p[0].problem != "" {
		return contracts.Cart{}, problemError("product_id", p[0])
	}
	ok, err := s.carts.Set(ctx, actor.ID, l)
	if err != nil {
		return contracts.Cart{}, err
	}
	if !ok {
		return contracts.Cart{}, contracts.Errorf(contracts.CodeFailedPrecondition, "your cart is full (%d lines); remove something first", contracts.MaxCartLines)
	}
	return s.Cart(ctx, actor)
}

// RemoveCartItem removes a line (or, without variantID, every line of the
// product). Removing what is not there is not an error.
func (s *Service) RemoveCartItem(ctx context.Context, actor contracts.Actor, productID, variantID string) error {
	if actor.ID == "" {
		return contracts.Unauthenticated("sign in to use a cart")
	}
	if productID == "" || len(productID) > 64 || len(variantID) > 64 {
		return contracts.InvalidArgument("product_id", "product_id %q is not a valid id", productID)
	}
	return s.carts.Remove(ctx, actor.ID, productID, variantID, variantID == "")
}

// ClearCart empties actor's cart.
func (s *Service) ClearCart(ctx context.Context, actor contracts.Actor) error {
	if actor.ID == "" {
		return contracts.Unauthenticated("sign in to use a cart")
	}
	return s.carts.Clear(ctx, actor.ID)
}
