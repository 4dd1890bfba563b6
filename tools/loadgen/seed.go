package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// product is what the load knows of one product of the catalogue.
type product struct {
	ID       string
	Category string
	Price    int64
	Initial  int64
	left     atomic.Int64 // estimate of the units still on sale
}

// session is a signed-in account.
type session struct {
	ID, Email, Password string
	Token, Refresh      string
	Expires             time.Time
	cart                map[string]int64 // lines in the server-side cart
}

// catalogue is the seeded (or discovered) data the load runs on.
type catalogue struct {
	products   []*product
	popular    []int // product indices, most popular first
	byID       map[string]*product
	categories []string // every category id
	terms      []string // search terms
	admin      *session
	users      []*session
}

var (
	seedRoots = []string{"Electronics", "Home", "Garden", "Fashion", "Sports", "Toys", "Books", "Kitchen",
		"Beauty", "Health", "Automotive", "Music", "Office", "Pets", "Outdoors", "Games"}
	seedSubs  = []string{"Essentials", "Premium", "Outdoor", "Classic", "Kids", "Travel", "Pro", "Basics"}
	seedAdj   = []string{"Ergonomic", "Rustic", "Sleek", "Vintage", "Compact", "Wireless", "Organic", "Portable", "Heavy-Duty", "Handmade", "Smart", "Waterproof", "Lightweight", "Deluxe", "Eco", "Modern", "Classic", "Foldable", "Premium", "Budget"}
	seedMat   = []string{"Steel", "Wooden", "Cotton", "Leather", "Ceramic", "Bamboo", "Glass", "Plastic", "Wool", "Carbon"}
	seedNoun  = []string{"Chair", "Lamp", "Backpack", "Headphones", "Kettle", "Blender", "Tent", "Jacket", "Sneakers", "Watch", "Keyboard", "Mouse", "Speaker", "Blanket", "Mug", "Bottle", "Drone", "Camera", "Puzzle", "Novel", "Bicycle", "Helmet", "Skillet", "Knife", "Planter", "Hose", "Router", "Monitor", "Desk", "Sofa"}
	seedBlurb = []string{"perfect for everyday use", "built to last", "loved by professionals", "great gift idea", "easy to clean", "ships fast", "with a two-year warranty", "for indoor and outdoor use", "energy efficient", "award winning"}
)

func runID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// setup is Client.Setup on the plain client; the first 429 also tells the
// user how to raise the limits.
func (g *gen) setup(ctx context.Context, c Call) (Response, error) {
	return g.plain.Setup(ctx, c, func(c Call, wait time.Duration) {
		g.limitedOnce.Do(func() {
			g.progress("%s %s was rate limited (retry in %s); seeding waits as Retry-After says. For a load test raise "+
				"the gateway's limits, e.g. OC_GATEWAY_RATE_LOGIN=100000/1s:100000 OC_GATEWAY_RATE_CHECKOUT=100000/1s:100000 "+
				"(README, \"Rate limits and CORS\")", c.Method, c.Path, wait)
		})
	})
}

type tokensReply struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int64  `json:"expires_in"`
	User         struct {
		ID   string `json:"id"`
		Role string `json:"role"`
	} `json:"user"`
}

func (s *session) apply(t tokensReply) {
	s.Token, s.Refresh = t.AccessToken, t.RefreshToken
	s.Expires = time.Now().Add(time.Duration(t.ExpiresIn) * time.Second)
	if t.User.ID != "" {
		s.ID = t.User.ID
	}
}

func (g *gen) login(ctx context.Context, s *session) error {
	r, err := g.setup(ctx, Call{Method: "POST", Path: "/auth/login", Body: map[string]string{"email": s.Email, "password": s.Password}})
	if err != nil {
		return fmt.Errorf("sign in %s: %w", s.Email, err)
	}
	var t tokensReply
	if err := r.Decode(&t); err != nil {
		return err
	}
	s.apply(t)
	return nil
}

// fresh renews s's access token when it is about to expire.
func (g *gen) fresh(ctx context.Context, s *session) {
	if time.Until(s.Expires) > time.Minute {
		return
	}
	r, err := g.setup(ctx, Call{Method: "POST", Path: "/auth/refresh", Body: map[string]string{"refresh_token": s.Refresh}})
	var t tokensReply
	if err == nil && r.Decode(&t) == nil {
		s.apply(t)
		return
	}
	_ = g.login(ctx, s)
}

// account registers (role "customer" or "seller") and signs in.
func (g *gen) account(ctx context.Context, kind string, i int, role string) (*session, error) {
	s := &session{Email: fmt.Sprintf("lg-%s-%s-%d@loadgen.test", g.run, kind, i), Password: "loadgen-" + g.run + "-pw", cart: map[string]int64{}}
	body := map[string]string{"email": s.Email, "password": s.Password, "name": fmt.Sprintf("Load %s %d", kind, i), "role": role}
	if _, err := g.setup(ctx, Call{Method: "POST", Path: "/auth/register", Body: body}); err != nil {
		return nil, fmt.Errorf("register %s: %w", s.Email, err)
	}
	return s, g.login(ctx, s)
}

func (g *gen) accounts(ctx context.Context, kind, role string, n int) ([]*session, error) {
	out := make([]*session, n)
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(g.cfg.SeedConcurrency)
	for i := range n {
		eg.Go(func() error {
			s, err := g.account(ctx, kind, i, role)
			out[i] = s
			return err
		})
	}
	return out, eg.Wait()
}

// seedAPI makes the category tree, sellers and products through the API.
func (g *gen) seedAPI(ctx context.Context) error {
	cfg := g.cfg
	type created struct {
		ID string `json:"id"`
	}
	var leaves []string
	for r := range cfg.RootCategories {
		name := seedRoots[r%len(seedRoots)]
		if r >= len(seedRoots) {
			name += " " + strconv.Itoa(r/len(seedRoots)+1)
		}
		resp, err := g.setup(ctx, Call{Method: "POST", Path: "/categories", Token: g.cat.admin.Token, Body: map[string]any{"name": name}})
		if err != nil {
			return fmt.Errorf("create category: %w", err)
		}
		var root created
		if err := resp.Decode(&root); err != nil {
			return err
		}
		g.cat.categories = append(g.cat.categories, root.ID)
		for s := range cfg.SubCategories {
			sub := name + " " + seedSubs[s%len(seedSubs)]
			if s >= len(seedSubs) {
				sub += " " + strconv.Itoa(s/len(seedSubs)+1)
			}
			resp, err := g.setup(ctx, Call{Method: "POST", Path: "/categories", Token: g.cat.admin.Token, Body: map[string]any{"name": sub, "parent_id": root.ID}})
			if err != nil {
				return fmt.Errorf("create category: %w", err)
			}
			var c created
			if err := resp.Decode(&c); err != nil {
				return err
			}
			leaves = append(leaves, c.ID)
			g.cat.categories = append(g.cat.categories, c.ID)
		}
	}
	sellers, err := g.accounts(ctx, "seller", "seller", cfg.Sellers)
	if err != nil {
		return err
	}
	products := make([]*product, cfg.Products)
	var done atomic.Int64
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(cfg.SeedConcurrency)
	for i := range cfg.Products {
		r := mrand.New(mrand.NewPCG(g.seed, uint64(i)))
		name := seedAdj[r.IntN(len(seedAdj))] + " " + seedMat[r.IntN(len(seedMat))] + " " + seedNoun[r.IntN(len(seedNoun))]
		p := &product{Category: leaves[r.IntN(len(leaves))], Price: 100 + r.Int64N(50_000),
			Initial: int64(cfg.StockMin + r.IntN(cfg.StockMax-cfg.StockMin+1))}
		body := map[string]any{
			"name":        name,
			"description": "The " + name + " is " + seedBlurb[r.IntN(len(seedBlurb))] + ", " + seedBlurb[r.IntN(len(seedBlurb))] + ".",
			"category_id": p.Category,
			"price":       map[string]any{"amount": p.Price, "currency": "USD"},
			"sku":         fmt.Sprintf("LG-%s-%d", g.run, i),
			"stock":       p.Initial,
		}
		seller := sellers[i%len(sellers)]
		eg.Go(func() error {
			g.fresh(ectx, seller)
			resp, err := g.setup(ectx, Call{Method: "POST", Path: "/products", Token: seller.Token, Body: body})
			if err != nil {
				return fmt.Errorf("create product: %w", err)
			}
			var c created
			if err := resp.Decode(&c); err != nil {
				return err
			}
			p.ID = c.ID
			products[i] = p
			if n := done.Add(1); g.progress != nil && n%1000 == 0 {
				g.progress("seeded %d/%d products", n, cfg.Products)
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return err
	}
	// One product in fifty is featured (at least one), as a merchandiser
	// would pick them.
	for i := 0; i < len(products); i += 50 {
		if _, err := g.setup(ctx, Call{Method: "PUT", Path: "/products/" + products[i].ID + "/featured", Token: g.cat.admin.Token}); err != nil {
			return fmt.Errorf("feature product: %w", err)
		}
	}
	g.cat.products = products
	return nil
}

type listedProduct struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	CategoryID string `json:"category_id"`
	Price      struct {
		Amount int64 `json:"amount"`
	} `json:"price"`
	Stock    int64  `json:"stock"`
	Status   string `json:"status"`
	Variants []struct {
		ID string `json:"id"`
	} `json:"variants"`
}

type productPage struct {
	Items      []listedProduct `json:"items"`
	NextCursor string          `json:"next_cursor"`
}

// discover reads the category tree and, unless seeded through the API,
// every active product (the stock it shows is the initial stock of the
// check).
func (g *gen) discover(ctx context.Context) error {
	resp, err := g.setup(ctx, Call{Method: "GET", Path: "/categories"})
	if err != nil {
		return err
	}
	var tree struct {
		Items []*categoryNode `json:"items"`
	}
	if err := resp.Decode(&tree); err != nil {
		return err
	}
	if len(g.cat.categories) == 0 {
		var walk func([]*categoryNode)
		walk = func(ns []*categoryNode) {
			for _, n := range ns {
				g.cat.categories = append(g.cat.categories, n.ID)
				walk(n.Children)
			}
		}
		walk(tree.Items)
	}
	if g.cat.products == nil {
		cursor := ""
		for {
			path := "/products?limit=100&sort=newest"
			if cursor != "" {
				path += "&cursor=" + url.QueryEscape(cursor)
			}
			resp, err := g.setup(ctx, Call{Method: "GET", Path: path, Token: g.cat.admin.Token})
			if err != nil {
				return err
			}
			var page productPage
			if err := resp.Decode(&page); err != nil {
				return err
			}
			for _, lp := range page.Items {
				// Products with variants are bought per variant; the mix
				// keeps to simple products.
				if lp.Status != "" && lp.Status != "active" || len(lp.Variants) > 0 {
					continue
				}
				g.cat.products = append(g.cat.products, &product{ID: lp.ID, Category: lp.CategoryID, Price: lp.Price.Amount, Initial: lp.Stock})
			}
			if page.NextCursor == "" || len(page.Items) == 0 || (g.cfg.Seed == SeedDirect && len(g.cat.products) >= 4*g.cfg.Products) {
				break
			}
			cursor = page.NextCursor
		}
		if len(g.cat.products) == 0 {
			return errors.New("the catalogue has no active product to load")
		}
	}
	g.cat.byID = map[string]*product{}
	for _, p := range g.cat.products {
		p.left.Store(p.Initial)
		g.cat.byID[p.ID] = p
	}
	// Popularity: a random order of the products, sampled with a Zipf
	// skew, so a few products draw most views and sales, in every category.
	r := mrand.New(mrand.NewPCG(g.seed, 7))
	g.cat.popular = r.Perm(len(g.cat.products))
	seen := map[string]bool{}
	for _, w := range append(append(append([]string(nil), seedNoun...), seedAdj...), seedMat...) {
		if lw := strings.ToLower(w); !seen[lw] {
			seen[lw] = true
			g.cat.terms = append(g.cat.terms, lw)
		}
	}
	g.cat.terms = append(g.cat.terms, "steel chair", "wireless headphones", "organic cotton", "portable speaker", "leather jacket")
	return nil
}

type categoryNode struct {
	ID       string          `json:"id"`
	Children []*categoryNode `json:"children"`
}

// prepare signs the admin in, seeds, discovers and makes the customers.
func (g *gen) prepare(ctx context.Context) error {
	g.cat.admin = &session{Email: g.cfg.AdminEmail, Password: g.cfg.AdminPassword}
	if err := g.login(ctx, g.cat.admin); err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	start := time.Now()
	switch g.cfg.Seed {
	case SeedAPI:
		if err := g.seedAPI(ctx); err != nil {
			return err
		}
	case SeedDirect:
		if err := g.cfg.DirectSeed(ctx, g.cfg.Products); err != nil {
			return fmt.Errorf("direct seed: %w", err)
		}
	}
	if err := g.discover(ctx); err != nil {
		return fmt.Errorf("discover the catalogue: %w", err)
	}
	g.report.SeedDuration = time.Since(start)
	users, err := g.accounts(ctx, "user", "customer", g.cfg.Users)
	if err != nil {
		return err
	}
	g.cat.users = users
	g.idle = make(chan *session, len(users))
	for _, u := range users {
		g.idle <- u
	}
	return nil
}
