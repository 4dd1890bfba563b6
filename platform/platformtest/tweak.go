package platformtest

import (
	"testing"

	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/platform"
)

// tweakServices gives every module test-friendly settings: free ports,
// temporary directories, cheap password hashing, a bootstrap admin.
func tweakServices(tb testing.TB, cfg *platform.Config) {
	s := &cfg.Services
	s.Gateway.Addr = testenv.FreeAddr(tb)
	s.File.DataAddr = testenv.FreeAddr(tb)
	s.File.Dir = tb.TempDir()
	cfg.Consul.FileDataURL = "http://" + s.File.DataAddr
	natsURL, natsPrefix := testenv.NATS(tb)
	cfg.NATS.URL = natsURL
	cfg.NATS.Prefix = natsPrefix
	s.User.Argon2.MemoryKiB = 1024
	s.User.Argon2.Time = 1
	s.User.BootstrapAdminEmail = AdminEmail
	s.User.BootstrapAdminPassword = AdminPassword
}

// gatewayAddr is the gateway's listen address.
func gatewayAddr(cfg *platform.Config) string { return cfg.Services.Gateway.Addr }
