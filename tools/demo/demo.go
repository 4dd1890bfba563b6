// Package demo seeds (and removes) a small, realistic shop through the
// public API of a running platform: a category tree, two sellers, products
// with variants and images, a customer with orders in every state and
// reviews. `opencommerce demo` runs it; the walk-through test runs it in
// process. It talks to the gateway only (tools/loadgen's client, which
// waits as Retry-After says), never to a service or a database.
package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/url"
	"strings"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/tools/loadgen"
)

// Marker is the name of the root category every demo category sits under:
// a platform that has it has the demo data.
const Marker = "Demo Shop"

// Folder is the file folder of the demo's uploads.
const Folder = "demo"

// Config says which platform to seed and as which admin.
type Config struct {
	Gateway                   string // http://host:port of the gateway
	AdminEmail, AdminPassword string
	Timeout                   time.Duration // per request; 0 = 20s
	// Progress receives one line per step; nil discards them.
	Progress io.Writer
}

// Account is an account to sign in with.
type Account struct {
	Role, Name, Email, Password string
}

// The demo accounts (fixed, so a second run prints the same ones). These
// are demo credentials: do not seed a production platform.
var (
	sellerNorth = Account{Role: contracts.RoleSeller, Name: "Northwind Outfitters", Email: "northwind@demo.opencommerce.test", Password: "demo-seller-northwind"}
	sellerSouth = Account{Role: contracts.RoleSeller, Name: "Southpaw Home", Email: "southpaw@demo.opencommerce.test", Password: "demo-seller-southpaw"}
	customer    = Account{Role: contracts.RoleCustomer, Name: "Ada Lovelace", Email: "ada@demo.opencommerce.test", Password: "demo-customer-ada"}
)

// Customer is the demo customer account.
func Customer() Account { return customer }

// Result is what Seed did or found.
type Result struct {
	// Existing: the demo data was already there and nothing changed.
	Existing bool
	Accounts []Account // admin, sellers, customer
	// Orders maps each state the demo shows to its order id (only when
	// this run made them).
	Orders     map[string]string
	Products   int
	Categories int
}

// PrintAccounts writes the accounts to sign in with.
func (r *Result) PrintAccounts(w io.Writer) {
	fmt.Fprintln(w, "Sign in with (POST /api/v1/auth/login):")
	for _, a := range r.Accounts {
		fmt.Fprintf(w, "  %-8s %-36s password %s  (%s)\n", a.Role, a.Email, a.Password, a.Name)
	}
}

type runner struct {
	cfg   Config
	cl    *loadgen.Client
	admin *session
}

type session struct {
	Account
	ID, Token string
}

func newRunner(ctx context.Context, cfg Config) (*runner, error) {
	if cfg.AdminEmail == "" || cfg.AdminPassword == "" {
		return nil, errors.New("an admin account is required: -user.bootstrap-admin-email and -user.bootstrap-admin-password " +
			"(OC_USER_BOOTSTRAP_ADMIN_EMAIL/_PASSWORD)")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 20 * time.Second
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	cl, err := loadgen.NewClient(strings.TrimRight(cfg.Gateway, "/")+"/api/v1", 8, cfg.Timeout, nil)
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, cl: cl}
	if h := cl.Do(ctx, loadgen.Call{Method: "GET", Path: "/health"}); h.Status == 0 {
		return nil, fmt.Errorf("no gateway answers at %s (%v): start the platform first (make run) or set -gateway.addr", cfg.Gateway, h.Err)
	}
	r.admin = &session{Account: Account{Role: contracts.RoleAdmin, Name: "Admin", Email: cfg.AdminEmail, Password: cfg.AdminPassword}}
	if err := r.login(ctx, r.admin); err != nil {
		return nil, fmt.Errorf("sign in the admin: %w", err)
	}
	return r, nil
}

const limitedNote = "rate limited: waiting as Retry-After says"

// call sends c, waiting out 429s (and retrying 503s) as the loadgen does.
func (r *runner) call(ctx context.Context, c loadgen.Call, out any) error {
	resp, err := r.cl.Setup(ctx, c, func(c loadgen.Call, wait time.Duration) {
		r.logf("%s %s %s (%s)", c.Method, c.Path, limitedNote, wait)
	})
	if err != nil {
		return err
	}
	if out != nil && len(resp.Body) > 0 {
		return resp.Decode(out)
	}
	return nil
}

func (r *runner) logf(format string, args ...any) { fmt.Fprintf(r.cfg.Progress, format+"\n", args...) }

func (r *runner) login(ctx context.Context, s *session) error {
	var t struct {
		AccessToken string `json:"access_token"`
		User        struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if err := r.call(ctx, loadgen.Call{Method: "POST", Path: "/auth/login",
		Body: map[string]string{"email": s.Email, "password": s.Password}}, &t); err != nil {
		return fmt.Errorf("sign in %s: %w", s.Email, err)
	}
	s.Token, s.ID = t.AccessToken, t.User.ID
	return nil
}

// findUser returns the account with email (admin search), nil if none.
func (r *runner) findUser(ctx context.Context, email string) (*contracts.User, error) {
	var list contracts.List[contracts.User]
	if err := r.call(ctx, loadgen.Call{Method: "GET", Path: "/admin/users?q=" + url.QueryEscape(email), Token: r.admin.Token}, &list); err != nil {
		return nil, err
	}
	for i := range list.Items {
		if strings.EqualFold(list.Items[i].Email, email) {
			return &list.Items[i], nil
		}
	}
	return nil, nil
}

// account registers a (or, when it exists from an earlier demo that was
// removed, enables it again) and signs it in.
func (r *runner) account(ctx context.Context, a Account) (*session, error) {
	s := &session{Account: a}
	resp, err := r.cl.Setup(ctx, loadgen.Call{Method: "POST", Path: "/auth/register",
		Body: map[string]string{"email": a.Email, "password": a.Password, "name": a.Name, "role": a.Role}}, nil)
	if err != nil {
		if resp.Status != 409 {
			return nil, fmt.Errorf("register %s: %w", a.Email, err)
		}
		u, ferr := r.findUser(ctx, a.Email)
		if ferr != nil || u == nil {
			return nil, fmt.Errorf("register %s: %w (and it cannot be found: %v)", a.Email, err, ferr)
		}
		enabled, role := false, a.Role
		if err := r.call(ctx, loadgen.Call{Method: "PATCH", Path: "/admin/users/" + u.ID, Token: r.admin.Token,
			Body: contracts.AdminUpdateUserRequest{Disabled: &enabled, Role: &role}}, nil); err != nil {
			return nil, fmt.Errorf("enable %s again: %w", a.Email, err)
		}
	}
	if err := r.login(ctx, s); err != nil {
		return nil, err
	}
	return s, nil
}

// findMarker returns the demo's root category, nil when there is none.
func (r *runner) findMarker(ctx context.Context) (*contracts.Category, error) {
	var tree contracts.CategoryTree
	if err := r.call(ctx, loadgen.Call{Method: "GET", Path: "/categories"}, &tree); err != nil {
		return nil, fmt.Errorf("read the category tree: %w", err)
	}
	for _, c := range tree.Items {
		if strings.EqualFold(c.Name, Marker) || strings.EqualFold(c.Name, seedingMarker) {
			return c, nil
		}
	}
	return nil, nil
}

func (r *runner) accounts() []Account {
	return []Account{r.admin.Account, sellerNorth, sellerSouth, customer}
}

// pngOf is a small generated PNG: a two-colour gradient.
func pngOf(a, b color.RGBA) []byte {
	const n = 64
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	for x := range n {
		for y := range n {
			t := float64(x+y) / (2 * n)
			mix := func(p, q uint8) uint8 { return uint8(float64(p)*(1-t) + float64(q)*t) }
			img.Set(x, y, color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 255})
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}

// upload sends a PNG as s (multipart, purpose product_image, folder demo)
// and returns the file id.
func (r *runner) upload(ctx context.Context, s *session, name string, body []byte) (string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("purpose", contracts.PurposeProductImage)
	_ = mw.WriteField("folder", Folder)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		return "", err
	}
	_, _ = fw.Write(body)
	_ = mw.Close()
	var f contracts.File
	if err := r.call(ctx, loadgen.Call{Method: "POST", Path: "/files", Token: s.Token, Body: buf.Bytes(),
		ContentType: mw.FormDataContentType()}, &f); err != nil {
		return "", fmt.Errorf("upload %s: %w", name, err)
	}
	return f.ID, nil
}
