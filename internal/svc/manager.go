package svc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"
)

// Service is a running module: Start returns once the module serves (or
// failed); Stop stops taking work, finishes in-flight work and releases
// resources within ctx.
type Service interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// Failer is implemented by services that can fail after Start; the manager
// stops everything when Failed delivers.
type Failer interface {
	Failed() <-chan error
}

// Module is a named unit with dependencies, built lazily by Init.
type Module struct {
	Name string
	Deps []string
	// After orders this module after the named modules when they run too,
	// without pulling them in (the gateway starts after the services of an
	// "all" process, so it never routes to a service still starting).
	After []string
	// Public modules can be named as targets; the others are pulled in as
	// dependencies only.
	Public bool
	Init   func(ctx context.Context) (Service, error)
}

// Manager starts modules in dependency order and stops them in reverse.
type Manager struct {
	modules map[string]Module
	log     *slog.Logger
	health  *Health
	// ShutdownDelay is how long /readyz reports 503 before modules stop.
	ShutdownDelay time.Duration
	// StopTimeout bounds the whole stop sequence.
	StopTimeout time.Duration
}

// NewManager returns an empty manager.
func NewManager(log *slog.Logger, health *Health) *Manager {
	return &Manager{modules: map[string]Module{}, log: log, health: health, StopTimeout: 30 * time.Second}
}

// Register adds a module; names are unique.
func (m *Manager) Register(mod Module) {
	if _, dup := m.modules[mod.Name]; dup {
		panic("app: module registered twice: " + mod.Name)
	}
	m.modules[mod.Name] = mod
}

// Targets lists the public module names, sorted.
func (m *Manager) Targets() []string {
	var out []string
	for n, mod := range m.modules {
		if mod.Public {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Order resolves targets ("all" = every public module) into the start order:
// every module after its dependencies, ties broken by name.
func (m *Manager) Order(targets []string) ([]string, error) {
	var want []string
	for _, t := range targets {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if t == "all" {
			want = append(want, m.Targets()...)
			continue
		}
		mod, ok := m.modules[t]
		if !ok || !mod.Public {
			return nil, fmt.Errorf("unknown target %q (known: all, %s)", t, strings.Join(m.Targets(), ", "))
		}
		want = append(want, t)
	}
	if len(want) == 0 {
		return nil, errors.New("no target given")
	}
	sort.Strings(want)
	// The closure of hard dependencies decides what runs; After only orders.
	selected := map[string]bool{}
	var collect func(n string) error
	collect = func(n string) error {
		if selected[n] {
			return nil
		}
		mod, ok := m.modules[n]
		if !ok {
			return fmt.Errorf("unknown module %q", n)
		}
		selected[n] = true
		for _, d := range mod.Deps {
			if err := collect(d); err != nil {
				return fmt.Errorf("%s: %w", n, err)
			}
		}
		return nil
	}
	for _, t := range want {
		if err := collect(t); err != nil {
			return nil, err
		}
	}
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(n string, path []string) error
	visit = func(n string, path []string) error {
		switch state[n] {
		case 2:
			return nil
		case 1:
			return fmt.Errorf("dependency cycle: %s", strings.Join(append(path, n), " -> "))
		}
		mod, ok := m.modules[n]
		if !ok {
			return fmt.Errorf("module %q depends on unknown module", path[len(path)-1])
		}
		state[n] = 1
		deps := append([]string(nil), mod.Deps...)
		for _, a := range mod.After {
			if selected[a] && a != n {
				deps = append(deps, a)
			}
		}
		sort.Strings(deps)
		for _, d := range deps {
			if err := visit(d, append(path, n)); err != nil {
				return err
			}
		}
		state[n] = 2
		order = append(order, n)
		return nil
	}
	for _, t := range want {
		if err := visit(t, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

type started struct {
	name string
	svc  Service
}

// Run starts the targets' modules in order and blocks until ctx is done or a
// module fails; then it drains and stops everything. A start failure stops
// the modules already started and is returned.
func (m *Manager) Run(ctx context.Context, targets []string) error {
	order, err := m.Order(targets)
	if err != nil {
		return err
	}
	var running []started
	failed := make(chan error, len(order))
	m.health.SetStarting(true)
	var startErr error
	for _, name := range order {
		mod := m.modules[name]
		svc, err := mod.Init(ctx)
		if err == nil && svc != nil {
			err = svc.Start(ctx)
		}
		if err != nil {
			startErr = fmt.Errorf("start %s: %w", name, err)
			break
		}
		if svc == nil {
			continue
		}
		running = append(running, started{name, svc})
		if f, ok := svc.(Failer); ok {
			go func(name string, ch <-chan error) {
				if err := <-ch; err != nil {
					failed <- fmt.Errorf("%s failed: %w", name, err)
				}
			}(name, f.Failed())
		}
		m.log.Info("module started", "module", name)
	}
	var runErr error
	if startErr == nil {
		m.health.SetStarting(false)
		m.log.Info("ready", "modules", order)
		select {
		case <-ctx.Done():
			m.log.Info("shutdown requested")
		case runErr = <-failed:
			m.log.Error("module failed; stopping all", "err", runErr)
		}
	} else {
		m.log.Error("start failed; stopping all", "err", startErr)
	}

	m.health.SetDraining()
	if startErr == nil && runErr == nil && m.ShutdownDelay > 0 {
		time.Sleep(m.ShutdownDelay)
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), m.StopTimeout)
	defer cancel()
	var stopErrs []error
	for i := len(running) - 1; i >= 0; i-- {
		r := running[i]
		if err := r.svc.Stop(stopCtx); err != nil {
			m.log.Error("module stop", "module", r.name, "err", err)
			stopErrs = append(stopErrs, fmt.Errorf("stop %s: %w", r.name, err))
		} else {
			m.log.Info("module stopped", "module", r.name)
		}
	}
	return errors.Join(append([]error{startErr, runErr}, stopErrs...)...)
}

// Funcs adapts start and stop functions to a Service.
type Funcs struct {
	StartFunc func(ctx context.Context) error
	StopFunc  func(ctx context.Context) error
}

// Start calls StartFunc when set.
func (f Funcs) Start(ctx context.Context) error {
	if f.StartFunc == nil {
		return nil
	}
	return f.StartFunc(ctx)
}

// Stop calls StopFunc when set.
func (f Funcs) Stop(ctx context.Context) error {
	if f.StopFunc == nil {
		return nil
	}
	return f.StopFunc(ctx)
}
