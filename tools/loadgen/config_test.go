package loadgen_test

import (
	"flag"
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/tools/loadgen"
)

func defaults(t *testing.T) loadgen.Config {
	t.Helper()
	var c loadgen.Config
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse([]string{"-user.bootstrap-admin-email=a@b.test", "-user.bootstrap-admin-password=pw"}); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConfigValidate(t *testing.T) {
	if err := defaults(t).Validate(); err != nil {
		t.Fatalf("defaults with an admin: %v", err)
	}
	for name, tc := range map[string]struct {
		mutate func(*loadgen.Config)
		want   string
	}{
		"no admin":       {func(c *loadgen.Config) { c.AdminPassword = "" }, "admin account is required"},
		"bad addr":       {func(c *loadgen.Config) { c.GatewayAddr = "localhost" }, "gateway.addr"},
		"bad seed":       {func(c *loadgen.Config) { c.Seed = "magic" }, `seed "magic"`},
		"direct no func": {func(c *loadgen.Config) { c.Seed = loadgen.SeedDirect }, "-seed=direct"},
		"no products":    {func(c *loadgen.Config) { c.Products = 0 }, "products must be positive"},
		"stock range":    {func(c *loadgen.Config) { c.StockMin, c.StockMax = 10, 5 }, "stock.min"},
		"no load":        {func(c *loadgen.Config) { c.Rate, c.VUs = 0, 0 }, "-rate > 0"},
		"negative rate":  {func(c *loadgen.Config) { c.Rate = -1 }, "-rate > 0"},
		"decline rate":   {func(c *loadgen.Config) { c.DeclineRate = 1.5 }, "decline-rate"},
		"bad mix":        {func(c *loadgen.Config) { c.Mix = "browse=1" }, "unknown action"},
		"no duration":    {func(c *loadgen.Config) { c.Duration = 0 }, "duration"},
	} {
		t.Run(name, func(t *testing.T) {
			c := defaults(t)
			tc.mutate(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}
