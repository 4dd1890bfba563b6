package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"image/color"
	"strings"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/tools/loadgen"
)

// seedingMarker names the root category while a seeding runs; it becomes
// Marker when the seeding is complete, so an interrupted run is told apart
// from a finished one.
const seedingMarker = Marker + " (seeding)"

// The test cards of the payment stub.
const (
	cardOK       = "4242424242424242"
	cardDeclined = "4000000000000002"
)

// The order states the demo customer's orders show.
const (
	StatePaid             = contracts.OrderStatusPaid
	StateShipped          = contracts.OrderStatusShipped
	StatePartiallyShipped = contracts.OrderStatusPartiallyShipped
	StateDelivered        = contracts.OrderStatusDelivered
	StateAwaitingPayment  = contracts.OrderStatusAwaitingPayment
	StateCancelled        = contracts.OrderStatusCancelled
	StateReturnRequested  = "return_requested" // delivered, with a return request
)

type variantSpec struct {
	size, colour string
	price        int64 // 0 = the product's
	stock        int64
}

type productSpec struct {
	seller      *Account
	category    string // leaf name
	name, sku   string
	description string
	price       int64
	stock       int64 // without variants
	props       []contracts.Property
	variants    []variantSpec
	from, to    color.RGBA // the image
}

// The category tree under the marker: roots and their leaves.
var categoryTree = []struct {
	name   string
	leaves []string
}{
	{"Clothing", []string{"T-Shirts", "Shoes", "Accessories"}},
	{"Home", []string{"Kitchen", "Lighting"}},
}

var products = []productSpec{
	{seller: &sellerNorth, category: "T-Shirts", name: "Organic Cotton T-Shirt", sku: "DEMO-TEE", price: 2500,
		description: "A soft, heavyweight tee of organic cotton, cut for a relaxed fit.",
		props:       []contracts.Property{{Key: "material", Value: "cotton"}},
		variants:    []variantSpec{{"S", "white", 0, 12}, {"M", "white", 0, 20}, {"M", "navy", 2700, 15}, {"L", "navy", 2700, 8}},
		from:        color.RGBA{240, 240, 235, 255}, to: color.RGBA{30, 45, 90, 255}},
	{seller: &sellerNorth, category: "Shoes", name: "Trail Running Shoes", sku: "DEMO-TRAIL", price: 11900,
		description: "Grippy, light trail shoes with a rock plate and a waterproof upper.",
		variants:    []variantSpec{{"40", "", 0, 6}, {"42", "", 0, 10}, {"44", "", 12900, 4}},
		from:        color.RGBA{230, 90, 40, 255}, to: color.RGBA{40, 40, 40, 255}},
	{seller: &sellerNorth, category: "Accessories", name: "Merino Wool Socks", sku: "DEMO-SOCKS", price: 1400, stock: 120,
		description: "Cushioned merino socks that stay warm when wet.",
		props:       []contracts.Property{{Key: "material", Value: "wool"}},
		from:        color.RGBA{120, 90, 160, 255}, to: color.RGBA{220, 210, 230, 255}},
	{seller: &sellerSouth, category: "Kitchen", name: "Enamel Kettle", sku: "DEMO-KETTLE", price: 4500,
		description: "A 1.7 litre stovetop kettle in enamelled steel that whistles when it boils.",
		variants:    []variantSpec{{"", "red", 0, 9}, {"", "cream", 0, 7}},
		from:        color.RGBA{200, 30, 40, 255}, to: color.RGBA{250, 240, 220, 255}},
	{seller: &sellerSouth, category: "Kitchen", name: "Cast Iron Skillet", sku: "DEMO-SKILLET", price: 3900, stock: 40,
		description: "A pre-seasoned 26 cm skillet for the hob, the oven and the campfire.",
		props:       []contracts.Property{{Key: "material", Value: "cast iron"}},
		from:        color.RGBA{50, 50, 55, 255}, to: color.RGBA{110, 110, 120, 255}},
	{seller: &sellerSouth, category: "Lighting", name: "Brass Desk Lamp", sku: "DEMO-LAMP", price: 7900, stock: 25,
		description: "An adjustable desk lamp in brushed brass with a warm LED bulb.",
		from:        color.RGBA{200, 160, 60, 255}, to: color.RGBA{90, 60, 20, 255}},
}

// Seed makes the demo data on the platform at cfg.Gateway, or finds it
// there and changes nothing.
func Seed(ctx context.Context, cfg Config) (*Result, error) {
	r, err := newRunner(ctx, cfg)
	if err != nil {
		return nil, err
	}
	res := &Result{Accounts: r.accounts(), Orders: map[string]string{}}
	found, err := r.findMarker(ctx)
	if err != nil {
		return nil, err
	}
	if found != nil {
		if !strings.EqualFold(found.Name, Marker) {
			return nil, fmt.Errorf("an earlier demo seeding did not finish (category %q): run `opencommerce demo -remove`, then seed again", found.Name)
		}
		for _, a := range []Account{sellerNorth, sellerSouth, customer} {
			if err := r.login(ctx, &session{Account: a}); err != nil {
				return nil, fmt.Errorf("the demo data is there but %s cannot sign in (%w): run `opencommerce demo -remove`, then seed again", a.Email, err)
			}
		}
		res.Existing = true
		r.logf("the demo data is already there (category %q): nothing changed", Marker)
		return res, nil
	}
	if err := r.seed(ctx, res); err != nil {
		return nil, err
	}
	return res, nil
}

func (r *runner) seed(ctx context.Context, res *Result) error {
	admin := r.admin.Token
	// Categories.
	var root contracts.Category
	if err := r.call(ctx, loadgen.Call{Method: "POST", Path: "/categories", Token: admin,
		Body: contracts.CategoryInput{Name: seedingMarker, Slug: "demo-shop"}}, &root); err != nil {
		return fmt.Errorf("create the demo category: %w", err)
	}
	leaves := map[string]string{}
	res.Categories = 1
	for _, c := range categoryTree {
		var parent contracts.Category
		if err := r.call(ctx, loadgen.Call{Method: "POST", Path: "/categories", Token: admin,
			Body: contracts.CategoryInput{Name: c.name, Slug: "demo-" + slug(c.name), ParentID: &root.ID}}, &parent); err != nil {
			return fmt.Errorf("create category %s: %w", c.name, err)
		}
		res.Categories++
		for _, l := range c.leaves {
			var leaf contracts.Category
			if err := r.call(ctx, loadgen.Call{Method: "POST", Path: "/categories", Token: admin,
				Body: contracts.CategoryInput{Name: l, Slug: "demo-" + slug(l), ParentID: &parent.ID}}, &leaf); err != nil {
				return fmt.Errorf("create category %s: %w", l, err)
			}
			res.Categories++
			leaves[l] = leaf.ID
		}
	}
	r.logf("made %d categories under %q", res.Categories, Marker)

	// Accounts.
	sellers := map[string]*session{}
	for _, a := range []Account{sellerNorth, sellerSouth} {
		s, err := r.account(ctx, a)
		if err != nil {
			return err
		}
		sellers[a.Email] = s
	}
	cust, err := r.account(ctx, customer)
	if err != nil {
		return err
	}
	r.logf("made the accounts: 2 sellers, 1 customer")

	// Products, with their images.
	made := map[string]*contracts.Product{}
	for _, p := range products {
		s := sellers[p.seller.Email]
		img, err := r.upload(ctx, s, slug(p.name)+".png", pngOf(p.from, p.to))
		if err != nil {
			return err
		}
		in := contracts.ProductInput{Name: p.name, Description: p.description, CategoryID: leaves[p.category],
			Price: contracts.USD(p.price), SKU: p.sku, Stock: p.stock, Properties: p.props}
		for _, v := range p.variants {
			vi := contracts.VariantInput{SKU: p.sku, Stock: v.stock}
			if v.size != "" {
				vi.SKU += "-" + v.size
				vi.Properties = append(vi.Properties, contracts.Property{Key: "size", Value: v.size})
			}
			if v.colour != "" {
				vi.SKU += "-" + strings.ToUpper(v.colour)
				vi.Properties = append(vi.Properties, contracts.Property{Key: "color", Value: v.colour})
			}
			if v.price > 0 {
				m := contracts.USD(v.price)
				vi.Price = &m
			}
			in.Variants = append(in.Variants, vi)
		}
		var prod contracts.Product
		if err := r.call(ctx, loadgen.Call{Method: "POST", Path: "/products", Token: s.Token, Body: in}, &prod); err != nil {
			return fmt.Errorf("create product %s: %w", p.name, err)
		}
		if err := r.call(ctx, loadgen.Call{Method: "POST", Path: "/products/" + prod.ID + "/images", Token: s.Token,
			Body: contracts.ImageAddRequest{FileID: img}}, nil); err != nil {
			return fmt.Errorf("attach the image of %s: %w", p.name, err)
		}
		made[p.sku] = &prod
		res.Products++
	}
	if err := r.call(ctx, loadgen.Call{Method: "PUT", Path: "/products/" + made["DEMO-TEE"].ID + "/featured", Token: admin}, nil); err != nil {
		return fmt.Errorf("feature a product: %w", err)
	}
	r.logf("made %d products with images and variants", res.Products)

	// The customer's orders, one per state.
	tee, shoes, socks := made["DEMO-TEE"], made["DEMO-TRAIL"], made["DEMO-SOCKS"]
	kettle, skillet, lamp := made["DEMO-KETTLE"], made["DEMO-SKILLET"], made["DEMO-LAMP"]
	north, south := sellers[sellerNorth.Email], sellers[sellerSouth.Email]
	item := func(p *contracts.Product, variant int, qty int64) contracts.LineInput {
		li := contracts.LineInput{ProductID: p.ID, Quantity: qty}
		if len(p.Variants) > 0 {
			li.VariantID = p.Variants[variant].ID
		}
		return li
	}
	steps := []struct {
		state string
		card  string
		items []contracts.LineInput
		then  func(o contracts.Order) error
	}{
		{StatePaid, cardOK, []contracts.LineInput{item(socks, 0, 2), item(kettle, 1, 1)}, nil},
		{StateShipped, cardOK, []contracts.LineInput{item(tee, 2, 1)}, func(o contracts.Order) error {
			return r.ship(ctx, north, o, "UPS", "1Z999AA10123456784")
		}},
		{StatePartiallyShipped, cardOK, []contracts.LineInput{item(shoes, 1, 1), item(lamp, 0, 1)}, func(o contracts.Order) error {
			return r.ship(ctx, south, o, "DHL", "JD014600006281230001")
		}},
		{StateDelivered, cardOK, []contracts.LineInput{item(skillet, 0, 1)}, func(o contracts.Order) error {
			if err := r.ship(ctx, south, o, "FedEx", "794644790138"); err != nil {
				return err
			}
			return r.call(ctx, loadgen.Call{Method: "POST", Path: "/orders/" + o.ID + "/deliver", Token: south.Token}, nil)
		}},
		{StateReturnRequested, cardOK, []contracts.LineInput{item(tee, 0, 1)}, func(o contracts.Order) error {
			if err := r.ship(ctx, north, o, "UPS", "1Z999AA10123456785"); err != nil {
				return err
			}
			if err := r.call(ctx, loadgen.Call{Method: "POST", Path: "/orders/" + o.ID + "/deliver", Token: north.Token}, nil); err != nil {
				return err
			}
			return r.call(ctx, loadgen.Call{Method: "POST", Path: "/orders/" + o.ID + "/returns", Token: cust.Token,
				Body: contracts.ReturnInput{Reason: "Too small: I need a size up.",
					Lines: []contracts.ReturnLineInput{{Line: o.Items[0].Line, Quantity: 1}}}}, nil)
		}},
		{StateCancelled, cardOK, []contracts.LineInput{item(socks, 0, 1)}, func(o contracts.Order) error {
			return r.call(ctx, loadgen.Call{Method: "POST", Path: "/orders/" + o.ID + "/cancel", Token: cust.Token,
				Body: contracts.CancelRequest{Reason: "Ordered twice by mistake"}}, nil)
		}},
		{StateAwaitingPayment, cardDeclined, []contracts.LineInput{item(skillet, 0, 1)}, nil},
	}
	key := runID()
	for _, st := range steps {
		req := contracts.CheckoutRequest{Items: st.items, Address: &contracts.ShippingAddress{Name: customer.Name,
			Line1: "12 St James's Square", City: "London", PostalCode: "SW1Y 4JH", Country: "gb"},
			Payment: contracts.PaymentInput{Method: "card", CardNumber: st.card, ExpMonth: 12, ExpYear: time.Now().Year() + 3, CVC: "123"}}
		var o contracts.Order
		if err := r.call(ctx, loadgen.Call{Method: "POST", Path: "/orders", Token: cust.Token, Body: req,
			Idem: "demo-" + key + "-" + st.state}, &o); err != nil {
			return fmt.Errorf("place the %s order: %w", st.state, err)
		}
		want := contracts.OrderStatusPaid
		if st.card == cardDeclined {
			want = contracts.OrderStatusAwaitingPayment
		}
		o, err := r.awaitOrder(ctx, cust, o.ID, want)
		if err != nil {
			return err
		}
		if st.then != nil {
			if err := st.then(o); err != nil {
				return fmt.Errorf("the %s order: %w", st.state, err)
			}
		}
		res.Orders[st.state] = o.ID
	}
	r.logf("placed %d orders as %s, one per state", len(steps), customer.Email)

	// Reviews of what the customer bought.
	reviews := []struct {
		p      *contracts.Product
		rating int
		title  string
		body   string
	}{
		{socks, 5, "Warm and comfy", "Wore them on a three-day hike: no blisters, and they did not smell."},
		{skillet, 4, "Heavy but great", "Sears beautifully. Heavier than I expected, so mind your wrists."},
		{tee, 5, "My new favourite tee", "Thick fabric that kept its shape after many washes."},
	}
	for _, rv := range reviews {
		if err := r.call(ctx, loadgen.Call{Method: "POST", Path: "/products/" + rv.p.ID + "/reviews", Token: cust.Token,
			Body: contracts.ReviewInput{Rating: rv.rating, Title: rv.title, Body: rv.body}}, nil); err != nil {
			return fmt.Errorf("review %s: %w", rv.p.Name, err)
		}
	}
	r.logf("wrote %d reviews", len(reviews))

	// Done: the marker takes its final name.
	name := Marker
	if err := r.call(ctx, loadgen.Call{Method: "PATCH", Path: "/categories/" + root.ID, Token: admin,
		Body: contracts.CategoryPatch{Name: &name}}, nil); err != nil {
		return fmt.Errorf("rename the demo category: %w", err)
	}
	return nil
}

func (r *runner) ship(ctx context.Context, seller *session, o contracts.Order, carrier, tracking string) error {
	return r.call(ctx, loadgen.Call{Method: "POST", Path: "/orders/" + o.ID + "/ship", Token: seller.Token,
		Body: contracts.ShipRequest{Carrier: carrier, TrackingNumber: tracking}}, nil)
}

// awaitOrder polls the order until it has status want (the saga reserves
// and charges asynchronously).
func (r *runner) awaitOrder(ctx context.Context, s *session, id, want string) (contracts.Order, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		var o contracts.Order
		if err := r.call(ctx, loadgen.Call{Method: "GET", Path: "/orders/" + id, Token: s.Token}, &o); err != nil {
			return o, err
		}
		if o.Status == want {
			return o, nil
		}
		if o.Status == contracts.OrderStatusCancelled || o.Status == contracts.OrderStatusRefunded || time.Now().After(deadline) {
			return o, fmt.Errorf("order %s is %s (%s), want %s", id, o.Status, o.StatusReason, want)
		}
		select {
		case <-ctx.Done():
			return o, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func slug(s string) string {
	return strings.Trim(strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, s), "-")
}

func runID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
