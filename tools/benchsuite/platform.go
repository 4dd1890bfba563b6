package benchsuite

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/opencommerce/opencommerce/internal/config"
	"github.com/opencommerce/opencommerce/platform"
)

// Platform is a running platform (every module, or the target's) on an Env.
type Platform struct {
	env     *Env
	gateway bool // the target runs the gateway
	stop    func(ctx context.Context) error
	done    chan error
	logs    *syncBuffer
}

// Start runs the whole platform on env: as a subprocess of the binary bin
// (the bench uses its own executable), or, with bin empty, in this process
// (tests). extra are more OC_ variables (later ones win; OC_TARGET=product
// runs the product service alone). Start returns once /readyz answers 200
// and, when the target runs it, the gateway serves, or fails with the
// platform's log tail.
func Start(ctx context.Context, env *Env, bin string, extra []string) (*Platform, error) {
	environ := append(env.Environ(), extra...)
	p := &Platform{env: env, gateway: runsGateway(environ), done: make(chan error, 1), logs: &syncBuffer{}}
	if bin != "" {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), environ...)
		cmd.Stdout, cmd.Stderr = p.logs, p.logs
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		go func() { p.done <- cmd.Wait() }()
		p.stop = func(ctx context.Context) error {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-p.done:
				return err
			case <-ctx.Done():
				_ = cmd.Process.Kill()
				return fmt.Errorf("platform did not stop in time; killed")
			}
		}
	} else {
		fs := flag.NewFlagSet("platform", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var cfg platform.Config
		cfg.RegisterFlags(fs)
		if err := config.Load(fs, nil, environ); err != nil {
			return nil, fmt.Errorf("platform config: %w", err)
		}
		if err := cfg.Validate(); err != nil {
			return nil, fmt.Errorf("platform config: %w", err)
		}
		pl := platform.New(cfg, platform.NewLogger(cfg.Log, p.logs))
		runCtx, cancel := context.WithCancel(context.Background())
		go func() { p.done <- pl.Run(runCtx) }()
		p.stop = func(ctx context.Context) error {
			cancel()
			select {
			case err := <-p.done:
				return err
			case <-ctx.Done():
				return fmt.Errorf("platform did not stop in time")
			}
		}
	}
	if err := p.waitReady(ctx); err != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = p.stop(sctx)
		return nil, fmt.Errorf("%w\n--- platform log (tail) ---\n%s", err, p.LogTail(4000))
	}
	return p, nil
}

func (p *Platform) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	urls := []string{"http://" + p.env.AdminAddr + "/readyz"}
	if p.gateway {
		urls = append(urls, "http://"+p.env.GatewayAddr+"/api/v1/health")
	}
	for i := 0; i < len(urls); {
		select {
		case err := <-p.done:
			p.done <- err
			return fmt.Errorf("platform exited during start: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("platform not ready: %s did not answer 200", urls[i])
		case <-time.After(50 * time.Millisecond):
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, urls[i], nil)
		if resp, err := httpc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				i++
			}
		}
	}
	return nil
}

// runsGateway reports whether the last OC_TARGET of environ runs the
// gateway.
func runsGateway(environ []string) bool {
	target := "all"
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "OC_TARGET="); ok {
			target = v
		}
	}
	for m := range strings.SplitSeq(target, ",") {
		if m = strings.TrimSpace(m); m == "all" || m == "gateway" {
			return true
		}
	}
	return false
}

// Stop stops the platform (SIGTERM or context cancel: it drains) and waits.
func (p *Platform) Stop(ctx context.Context) error {
	err := p.stop(ctx)
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 0 {
		err = nil
	}
	return err
}

// LogTail returns the last n bytes of the platform's log.
func (p *Platform) LogTail(n int) string { return p.logs.tail(n) }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Keep the last 1 MiB: a long run must not grow memory without bound.
	if s.b.Len() > 1<<20 {
		keep := append([]byte(nil), s.b.Bytes()[s.b.Len()-(512<<10):]...)
		s.b.Reset()
		s.b.Write(keep)
	}
	return s.b.Write(p)
}

func (s *syncBuffer) tail(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.b.Bytes()
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
