package platform

import (
	"context"
	"errors"
	"flag"
	"net"
	"strconv"

	"github.com/opencommerce/opencommerce/edge"
	"github.com/opencommerce/opencommerce/edge/stream"
	"github.com/opencommerce/opencommerce/internal/discovery"
	"github.com/opencommerce/opencommerce/internal/eventmirror"
	"github.com/opencommerce/opencommerce/internal/svc"
	"github.com/opencommerce/opencommerce/services/file"
	"github.com/opencommerce/opencommerce/services/notification"
	"github.com/opencommerce/opencommerce/services/order"
	"github.com/opencommerce/opencommerce/services/product"
	"github.com/opencommerce/opencommerce/services/user"
)

// publicTargets are the modules -target accepts, in the order -list-targets
// prints them.
var publicTargets = []string{"gateway", "user", "product", "order", "notification", "file"}

// ServicesConfig holds each service module's own configuration.
type ServicesConfig struct {
	Gateway      edge.Config
	User         user.Config
	Product      product.Config
	Order        order.Config
	File         file.Config
	Notification notification.Config
	Stream       stream.Config
	Mirror       eventmirror.Config
}

// RegisterFlags registers every service's flags.
func (c *ServicesConfig) RegisterFlags(fs *flag.FlagSet) {
	c.Gateway.RegisterFlags(fs)
	c.User.RegisterFlags(fs)
	c.Product.RegisterFlags(fs)
	c.Order.RegisterFlags(fs)
	c.File.RegisterFlags(fs)
	c.Notification.RegisterFlags(fs)
	c.Stream.RegisterFlags(fs)
	c.Mirror.RegisterFlags(fs)
}

// Validate checks every service's configuration.
func (c ServicesConfig) Validate() error {
	return errors.Join(c.Gateway.Validate(), c.User.Validate(), c.Product.Validate(), c.Order.Validate(), c.File.Validate(), c.Notification.Validate(), c.Stream.Validate(), c.Mirror.Validate())
}

func (p *Platform) registerServices() {
	// svcOn registers a service module announced in Consul on port (0: its
	// admin port) with extra meta.
	svcOn := func(name string, port int, meta map[string]string, deps []string, build func() (svc.Service, error)) {
		p.manager.Register(svc.Module{Name: name, Public: true, Deps: append(deps, "consul"), Init: func(context.Context) (svc.Service, error) {
			s, err := build()
			if err != nil {
				return nil, err
			}
			return &registered{Service: s, p: p, reg: p.registration(name, port, meta)}, nil
		}})
	}
	service := func(name string, deps []string, build func() (svc.Service, error)) { svcOn(name, 0, nil, deps, build) }
	// The gateway pulls in the event mirror: its cache purges come from the
	// mirrored product and inventory events, so a gateway's freshness
	// depends only on its own process (and "all" runs it through the
	// gateway). Every gateway instance runs one; they share the queue.
	p.manager.Register(svc.Module{Name: "gateway", Public: true, Deps: []string{"bus", "redis", "consul", "nats", "mirror"}, After: publicTargets, Init: p.initGateway})
	p.manager.Register(svc.Module{Name: "mirror", Deps: []string{"bus", "nats"}, Init: func(context.Context) (svc.Service, error) {
		return eventmirror.New(p.cfg.Services.Mirror, p.deps.Bus, p.deps.Consumer, p.js, p.log, p.reg)
	}})
	service("user", []string{"bus", "redis"}, func() (svc.Service, error) {
		return user.New(p.cfg.Services.User, p.deps)
	})
	service("product", []string{"bus", "redis"}, func() (svc.Service, error) {
		return product.New(p.cfg.Services.Product, p.deps)
	})
	service("order", []string{"bus", "redis"}, func() (svc.Service, error) {
		return order.New(p.cfg.Services.Order, p.deps)
	})
	// The file service is announced on its data port, which the gateway
	// streams uploads and downloads to.
	_, dp, _ := net.SplitHostPort(p.cfg.Services.File.DataAddr)
	dataPort, _ := strconv.Atoi(dp)
	svcOn("file", dataPort, map[string]string{discovery.MetaDataPort: dp}, []string{"bus"}, func() (svc.Service, error) {
		return file.New(p.cfg.Services.File, p.deps)
	})
	service("notification", []string{"bus", "nats"}, func() (svc.Service, error) {
		return notification.New(p.cfg.Services.Notification, p.deps, p.js)
	})
}
