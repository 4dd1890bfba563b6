package loadgen_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/tools/loadgen"
)

func TestMixProportions(t *testing.T) {
	m, err := loadgen.ParseMix(loadgen.DefaultMix)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	const n = 200_000
	got := map[loadgen.Action]int{}
	for range n {
		got[m.Next(r)]++
	}
	want := map[loadgen.Action]float64{"home": .15, "category": .20, "search": .20, "product": .30, "cart": .10, "checkout": .05}
	for a, p := range want {
		if math.Abs(m.Weight(a)-p) > 1e-9 {
			t.Errorf("weight of %s = %v, want %v", a, m.Weight(a), p)
		}
		// 5 standard deviations of a binomial proportion.
		tol := 5 * math.Sqrt(p*(1-p)/n)
		if share := float64(got[a]) / n; math.Abs(share-p) > tol {
			t.Errorf("%s picked %.4f of the time, want %.4f ± %.4f", a, share, p, tol)
		}
	}
}

func TestMixPickBoundaries(t *testing.T) {
	m, err := loadgen.NewMix(map[loadgen.Action]float64{"home": 1, "checkout": 3})
	if err != nil {
		t.Fatal(err)
	}
	for u, want := range map[float64]loadgen.Action{0: "home", 0.2499: "home", 0.25: "checkout", 0.9999999: "checkout"} {
		if got := m.Pick(u); got != want {
			t.Errorf("Pick(%v) = %s, want %s", u, got, want)
		}
	}
	if s := m.String(); s != "home=25,checkout=75" {
		t.Errorf("String = %q", s)
	}
	r := rand.New(rand.NewPCG(1, 1))
	for range 1000 {
		if a := m.Next(r); a != "home" && a != "checkout" {
			t.Fatalf("picked %s, which has no weight", a)
		}
	}
}

func TestParseMixErrors(t *testing.T) {
	for in, want := range map[string]string{
		"home=1,shop=2":  "unknown action",
		"home":           "want action=weight",
		"home=x":         "invalid syntax",
		"home=-1,cart=2": "negative",
		"home=0":         "no action",
		"":               "no action",
	} {
		if _, err := loadgen.ParseMix(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseMix(%q) = %v, want an error mentioning %q", in, err, want)
		}
	}
}
