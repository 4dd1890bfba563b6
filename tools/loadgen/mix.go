package loadgen

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
)

// Action is one step of the storefront mix. Each action makes one request,
// except checkout, which first puts an item in an empty cart.
type Action string

// The actions of the storefront mix.
const (
	ActHome     Action = "home"     // GET /products/featured and GET /categories
	ActCategory Action = "category" // GET /products?category=…
	ActSearch   Action = "search"   // GET /products?q=…
	ActProduct  Action = "product"  // GET /products/{id}
	ActAddCart  Action = "cart"     // PUT /cart/items/{id}
	ActCheckout Action = "checkout" // POST /orders
)

// Actions lists every action in a stable order.
var Actions = []Action{ActHome, ActCategory, ActSearch, ActProduct, ActAddCart, ActCheckout}

// Mix is a weighted choice among actions. Build it with ParseMix or
// NewMix; it is read-only afterwards and safe for concurrent use.
type Mix struct {
	actions []Action
	cum     []float64 // cumulative normalised weights, last = 1
	weights map[Action]float64
}

// DefaultMix is a browse-heavy storefront: most visits look around, some
// fill a cart, few buy.
const DefaultMix = "home=15,category=20,search=20,product=30,cart=10,checkout=5"

// NewMix builds a mix from weights (any positive scale). Unknown actions,
// negative weights and an all-zero mix are errors.
func NewMix(weights map[Action]float64) (*Mix, error) {
	m := &Mix{weights: map[Action]float64{}}
	var total float64
	for _, a := range Actions {
		w, ok := weights[a]
		if !ok || w == 0 {
			continue
		}
		if w < 0 {
			return nil, fmt.Errorf("mix: weight of %s is negative", a)
		}
		total += w
	}
	for a := range weights {
		if !knownAction(a) {
			return nil, fmt.Errorf("mix: unknown action %q (want %s)", a, actionNames())
		}
	}
	if total <= 0 {
		return nil, fmt.Errorf("mix: no action has a positive weight")
	}
	var c float64
	for _, a := range Actions {
		w := weights[a]
		if w <= 0 {
			continue
		}
		c += w / total
		m.actions = append(m.actions, a)
		m.cum = append(m.cum, c)
		m.weights[a] = w / total
	}
	m.cum[len(m.cum)-1] = 1
	return m, nil
}

// ParseMix parses "action=weight,…" (see DefaultMix).
func ParseMix(s string) (*Mix, error) {
	w := map[Action]float64{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("mix: %q: want action=weight", part)
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			return nil, fmt.Errorf("mix: %q: %v", part, err)
		}
		w[Action(strings.TrimSpace(name))] = f
	}
	return NewMix(w)
}

func knownAction(a Action) bool {
	for _, k := range Actions {
		if k == a {
			return true
		}
	}
	return false
}

func actionNames() string {
	s := make([]string, len(Actions))
	for i, a := range Actions {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

// Weight is the share of a in the mix (0..1).
func (m *Mix) Weight(a Action) float64 { return m.weights[a] }

// Pick maps u in [0,1) to an action: the first action whose cumulative
// share exceeds u.
func (m *Mix) Pick(u float64) Action {
	i := sort.SearchFloat64s(m.cum, u)
	for i < len(m.cum) && m.cum[i] <= u {
		i++
	}
	if i >= len(m.actions) {
		i = len(m.actions) - 1
	}
	return m.actions[i]
}

// Next picks an action with the random source r.
func (m *Mix) Next(r *rand.Rand) Action { return m.Pick(r.Float64()) }

// String formats the mix as ParseMix reads it, in percent.
func (m *Mix) String() string {
	parts := make([]string, 0, len(m.actions))
	for _, a := range m.actions {
		parts = append(parts, fmt.Sprintf("%s=%.4g", a, m.weights[a]*100))
	}
	return strings.Join(parts, ",")
}
