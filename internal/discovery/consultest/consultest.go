// Package consultest is an in-process fake of the Consul HTTP API subset
// OpenCommerce uses, for tests driven through the real consul/api client.
//
// It serves, with Consul's documented JSON shapes and headers:
//
//	PUT    /v1/agent/service/register          (ReplaceExistingChecks semantics)
//	PUT    /v1/agent/service/deregister/{id}
//	PUT    /v1/agent/check/register             (checks of a registered service)
//	PUT    /v1/agent/check/deregister/{id}
//	PUT    /v1/agent/check/pass|warn|fail/{id}  (TTL checks; ?note)
//	PUT    /v1/agent/check/update/{id}          (TTL checks; {"Status", "Output"})
//	GET    /v1/agent/services, /v1/agent/checks
//	GET    /v1/health/service/{name}            (?passing, ?tag, blocking ?index/&wait)
//	GET    /v1/kv/{key}                         (?raw, ?recurse, blocking ?index/&wait)
//	PUT    /v1/kv/{key}                         (?cas, ?flags)
//	DELETE /v1/kv/{key}                         (?recurse, ?cas)
//
// Like Consul it keeps one raft-like index that every write advances;
// responses carry X-Consul-Index, X-Consul-KnownLeader and
// X-Consul-LastContact; a blocking query returns when the index of what it
// reads exceeds the index it sent, when wait (default 5m, at most 10m)
// elapses, or when the data is "restored" (ResetIndex). It runs no health
// checks: tests set check states with SetCheck, or through the agent's TTL
// endpoints as they would on a real agent (a TTL never expires here).
//
// Test controls simulate what a real cluster does to clients: SetCheck,
// ResetIndex (indexes go backwards, as after a snapshot restore),
// ReportZeroIndex (the X-Consul-Index 0 bug Consul's docs warn about),
// SetFailing (500s, as with no cluster leader), SetKV/DeleteKV.
package consultest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// Node and datacenter every registered service lives on.
const (
	NodeName    = "consultest"
	NodeAddress = "127.0.0.1"
	Datacenter  = "dc1"
)

// MaxKVValue is Consul's default limit on a KV value (512 KiB).
const MaxKVValue = 512 * 1024

// Server is a running fake. Its controls are safe for concurrent use.
type Server struct {
	// URL is the base URL ("http://127.0.0.1:port"); Addr is host:port.
	URL, Addr string

	srv    *httptest.Server
	closed chan struct{}
	once   sync.Once

	mu       sync.Mutex
	index    uint64
	services map[string]*instance // by service ID
	svcIndex map[string]uint64    // service name → index of its last change
	svcTable uint64               // index of the last change to any service
	kv       map[string]*api.KVPair
	kvTable  uint64
	changed  chan struct{} // closed and replaced on every write
	abandon  chan struct{} // closed and replaced on ResetIndex
	failing  bool
	zeroIdx  bool
	requests map[string]int // by "METHOD path"
	blocked  map[string]int // queries blocked now, by path
}

type instance struct {
	svc    api.AgentService
	checks []*api.HealthCheck
}

// New starts a fake on a loopback port; it is closed when the test ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	s := Start()
	tb.Cleanup(s.Close)
	return s
}

// Start starts a fake outside a test; call Close.
func Start() *Server {
	s := &Server{
		closed:   make(chan struct{}),
		services: map[string]*instance{},
		svcIndex: map[string]uint64{},
		kv:       map[string]*api.KVPair{},
		changed:  make(chan struct{}),
		abandon:  make(chan struct{}),
		requests: map[string]int{},
		blocked:  map[string]int{},
		index:    1,
	}
	s.svcTable, s.kvTable = 1, 1
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	s.Addr = strings.TrimPrefix(s.srv.URL, "http://")
	return s
}

// Close ends blocked queries and stops the server.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closed)
		s.srv.Close()
	})
}

// Client returns a consul/api client for the fake.
func (s *Server) Client(tb testing.TB) *api.Client {
	tb.Helper()
	c, err := api.NewClient(&api.Config{Address: s.Addr, Scheme: "http"})
	if err != nil {
		tb.Fatalf("consul client: %v", err)
	}
	return c
}

// Requests returns how many requests of method on paths starting with
// pathPrefix the fake has answered ("GET", "/v1/health/service/product").
func (s *Server) Requests(method, pathPrefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, c := range s.requests {
		if strings.HasPrefix(k, method+" "+pathPrefix) {
			n += c
		}
	}
	return n
}

// Blocked returns how many blocking queries on paths starting with
// pathPrefix are waiting right now. Tests use it to act while a watcher is
// parked in a query (what Consul's abandon channel then does differs from
// what happens between two queries).
func (s *Server) Blocked(pathPrefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for p, c := range s.blocked {
		if strings.HasPrefix(p, pathPrefix) {
			n += c
		}
	}
	return n
}

// SetCheck sets every check of the service instance serviceID to status
// ("passing", "warning" or "critical"), as the agent would after running
// them.
func (s *Server) SetCheck(serviceID, status string) error {
	switch status {
	case api.HealthPassing, api.HealthWarning, api.HealthCritical:
	default:
		return fmt.Errorf("consultest: unknown check status %q", status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.services[serviceID]
	if in == nil {
		return fmt.Errorf("consultest: unknown service ID %q", serviceID)
	}
	idx := s.bumpLocked()
	for _, c := range in.checks {
		if c.Status != status {
			c.Status = status
			c.ModifyIndex = idx
		}
	}
	s.svcIndex[in.svc.Service] = idx
	s.svcTable = idx
	return nil
}

// ResetIndex makes every index go back to 1, as after a snapshot restore,
// and ends every blocked query (which then answers with the lower index).
// Writes that follow carry indexes from 2 up.
func (s *Server) ResetIndex() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.index = 1
	s.svcTable, s.kvTable = 1, 1
	for k := range s.svcIndex {
		s.svcIndex[k] = 1
	}
	for _, in := range s.services {
		in.svc.CreateIndex, in.svc.ModifyIndex = 1, 1
		for _, c := range in.checks {
			c.CreateIndex, c.ModifyIndex = 1, 1
		}
	}
	for _, p := range s.kv {
		p.CreateIndex, p.ModifyIndex = 1, 1
	}
	close(s.abandon)
	s.abandon = make(chan struct{})
}

// ReportZeroIndex makes responses carry X-Consul-Index: 0 (while blocking
// still uses the real index), the bug that turns naive clients into busy
// loops.
func (s *Server) ReportZeroIndex(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.zeroIdx = on
}

// SetFailing makes reads and writes answer 500 (as Consul does without a
// cluster leader) until called with false. Blocked queries fail at once.
func (s *Server) SetFailing(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing = on
	s.wakeLocked()
}

// SetKV writes value under key, as PUT /v1/kv/key does.
func (s *Server) SetKV(key string, value []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putKVLocked(key, value, 0)
}

// DeleteKV deletes key, as DELETE /v1/kv/key does.
func (s *Server) DeleteKV(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.kv[key]; ok {
		delete(s.kv, key)
		s.kvTable = s.bumpLocked()
	}
}

// Registered returns the registration of serviceID and its checks.
func (s *Server) Registered(serviceID string) (api.AgentService, []api.HealthCheck, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.services[serviceID]
	if in == nil {
		return api.AgentService{}, nil, false
	}
	checks := make([]api.HealthCheck, len(in.checks))
	for i, c := range in.checks {
		checks[i] = *c
	}
	return in.svc, checks, true
}

func (s *Server) bumpLocked() uint64 {
	s.index++
	s.wakeLocked()
	return s.index
}

func (s *Server) wakeLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) putKVLocked(key string, value []byte, flags uint64) {
	idx := s.bumpLocked()
	p := s.kv[key]
	if p == nil {
		p = &api.KVPair{Key: key, CreateIndex: idx}
		s.kv[key] = p
	}
	p.Value = slices.Clone(value)
	p.Flags = flags
	p.ModifyIndex = idx
	s.kvTable = idx
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests[r.Method+" "+r.URL.Path]++
	s.mu.Unlock()
	p := r.URL.Path
	switch {
	case p == "/v1/agent/service/register" && r.Method == http.MethodPut:
		s.register(w, r)
	case strings.HasPrefix(p, "/v1/agent/service/deregister/") && r.Method == http.MethodPut:
		s.deregister(w, strings.TrimPrefix(p, "/v1/agent/service/deregister/"))
	case p == "/v1/agent/check/register" && r.Method == http.MethodPut:
		s.registerCheck(w, r)
	case strings.HasPrefix(p, "/v1/agent/check/deregister/") && r.Method == http.MethodPut:
		s.deregisterCheck(w, strings.TrimPrefix(p, "/v1/agent/check/deregister/"))
	case strings.HasPrefix(p, "/v1/agent/check/") && r.Method == http.MethodPut:
		s.updateTTL(w, r, strings.TrimPrefix(p, "/v1/agent/check/"))
	case p == "/v1/agent/services" && r.Method == http.MethodGet:
		s.agentServices(w)
	case p == "/v1/agent/checks" && r.Method == http.MethodGet:
		s.agentChecks(w)
	case strings.HasPrefix(p, "/v1/health/service/") && r.Method == http.MethodGet:
		s.health(w, r, strings.TrimPrefix(p, "/v1/health/service/"))
	case strings.HasPrefix(p, "/v1/kv/"):
		key := strings.TrimPrefix(p, "/v1/kv/")
		switch r.Method {
		case http.MethodGet:
			s.kvGet(w, r, key)
		case http.MethodPut:
			s.kvPut(w, r, key)
		case http.MethodDelete:
			s.kvDelete(w, r, key)
		default:
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	default:
		http.Error(w, "Not found: "+r.Method+" "+p, http.StatusNotFound)
	}
}

func (s *Server) failLocked(w http.ResponseWriter) bool {
	if s.failing {
		http.Error(w, "rpc error making call: No cluster leader", http.StatusInternalServerError)
		return true
	}
	return false
}

// decode reads a JSON request body into v, answering 400 as the agent
// does when it cannot.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v); err != nil {
		http.Error(w, "Request decode failed: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var reg api.AgentServiceRegistration
	if !decode(w, r, &reg) {
		return
	}
	if reg.Name == "" {
		http.Error(w, "Missing service name", http.StatusBadRequest)
		return
	}
	if reg.ID == "" {
		reg.ID = reg.Name
	}
	defs := reg.Checks
	if reg.Check != nil {
		defs = append(api.AgentServiceChecks{reg.Check}, defs...)
	}
	checks := make([]*api.HealthCheck, 0, len(defs)+1)
	for i, d := range defs {
		c, err := checkFromDef(reg, d, i, len(defs))
		if err != nil {
			http.Error(w, "Invalid check: "+err.Error(), http.StatusBadRequest)
			return
		}
		checks = append(checks, c)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failLocked(w) {
		return
	}
	idx := s.bumpLocked()
	if old := s.services[reg.ID]; old != nil && old.svc.Service != reg.Name {
		s.svcIndex[old.svc.Service] = idx
	}
	in := &instance{svc: api.AgentService{
		Kind:        reg.Kind,
		ID:          reg.ID,
		Service:     reg.Name,
		Tags:        reg.Tags,
		Meta:        reg.Meta,
		Port:        reg.Port,
		Address:     reg.Address,
		Datacenter:  Datacenter,
		Weights:     api.AgentWeights{Passing: 1, Warning: 1},
		CreateIndex: idx,
		ModifyIndex: idx,
	}}
	if in.svc.Meta == nil {
		in.svc.Meta = map[string]string{}
	}
	if in.svc.Tags == nil {
		in.svc.Tags = []string{}
	}
	for _, c := range checks {
		c.CreateIndex, c.ModifyIndex = idx, idx
	}
	in.checks = checks
	s.services[reg.ID] = in
	s.svcIndex[reg.Name] = idx
	s.svcTable = idx
}

func checkFromDef(reg api.AgentServiceRegistration, d *api.AgentServiceCheck, i, n int) (*api.HealthCheck, error) {
	c := &api.HealthCheck{
		Node:        NodeName,
		CheckID:     d.CheckID,
		Name:        d.Name,
		Status:      d.Status,
		Notes:       d.Notes,
		ServiceID:   reg.ID,
		ServiceName: reg.Name,
		ServiceTags: reg.Tags,
	}
	if c.CheckID == "" {
		c.CheckID = "service:" + reg.ID
		if n > 1 {
			c.CheckID += ":" + strconv.Itoa(i+1)
		}
	}
	if c.Name == "" {
		c.Name = "Service '" + reg.Name + "' check"
	}
	if c.Status == "" {
		c.Status = api.HealthCritical
	}
	dur := func(field, v string) (time.Duration, error) {
		if v == "" {
			return 0, nil
		}
		x, err := time.ParseDuration(v)
		if err != nil || x < 0 {
			return 0, fmt.Errorf("%s %q is not a duration", field, v)
		}
		return x, nil
	}
	interval, err := dur("Interval", d.Interval)
	if err != nil {
		return nil, err
	}
	timeout, err := dur("Timeout", d.Timeout)
	if err != nil {
		return nil, err
	}
	dereg, err := dur("DeregisterCriticalServiceAfter", d.DeregisterCriticalServiceAfter)
	if err != nil {
		return nil, err
	}
	switch {
	case d.HTTP != "":
		if interval <= 0 {
			return nil, errors.New("HTTP check requires Interval")
		}
		if u, err := url.Parse(d.HTTP); err != nil || u.Host == "" {
			return nil, fmt.Errorf("HTTP %q is not an absolute URL", d.HTTP)
		}
		c.Type = "http"
	case d.TTL != "":
		c.Type = "ttl"
	case d.TCP != "":
		c.Type = "tcp"
	default:
		return nil, errors.New("check needs HTTP, TTL or TCP (the fake supports these)")
	}
	c.Definition = api.HealthCheckDefinition{
		HTTP:                                   d.HTTP,
		Method:                                 d.Method,
		TCP:                                    d.TCP,
		IntervalDuration:                       interval,
		TimeoutDuration:                        timeout,
		DeregisterCriticalServiceAfterDuration: dereg,
	}
	return c, nil
}

func (s *Server) deregister(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failLocked(w) {
		return
	}
	in := s.services[id]
	if in == nil {
		http.Error(w, fmt.Sprintf("Unknown service ID %q. Ensure that the service ID is passed, not the service name.", id), http.StatusNotFound)
		return
	}
	delete(s.services, id)
	idx := s.bumpLocked()
	s.svcIndex[in.svc.Service] = idx
	s.svcTable = idx
}

// registerCheck adds a check to a registered service instance, replacing
// one with the same ID, as PUT /v1/agent/check/register does. Node-level
// checks (no ServiceID) are not supported.
func (s *Server) registerCheck(w http.ResponseWriter, r *http.Request) {
	var reg api.AgentCheckRegistration
	if !decode(w, r, &reg) {
		return
	}
	if reg.Name == "" {
		http.Error(w, "Missing check name", http.StatusBadRequest)
		return
	}
	if reg.ID == "" {
		reg.ID = reg.Name // Consul's rule
	}
	if reg.ServiceID == "" {
		http.Error(w, "consultest: only checks of a service (ServiceID) are supported", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failLocked(w) {
		return
	}
	in := s.services[reg.ServiceID]
	if in == nil {
		http.Error(w, fmt.Sprintf("ServiceID %q does not exist", reg.ServiceID), http.StatusBadRequest)
		return
	}
	def := reg.AgentServiceCheck
	def.CheckID, def.Name, def.Notes = reg.ID, reg.Name, reg.Notes
	c, err := checkFromDef(api.AgentServiceRegistration{ID: in.svc.ID, Name: in.svc.Service, Tags: in.svc.Tags}, &def, 0, 1)
	if err != nil {
		http.Error(w, "Invalid check: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.removeCheckLocked(reg.ID)
	idx := s.bumpLocked()
	c.CreateIndex, c.ModifyIndex = idx, idx
	in.checks = append(in.checks, c)
	s.svcIndex[in.svc.Service] = idx
	s.svcTable = idx
}

// removeCheckLocked removes the check checkID from whichever instance has
// it and reports the instance.
func (s *Server) removeCheckLocked(checkID string) *instance {
	for _, in := range s.services {
		for i, c := range in.checks {
			if c.CheckID == checkID {
				in.checks = slices.Delete(in.checks, i, i+1)
				return in
			}
		}
	}
	return nil
}

func (s *Server) deregisterCheck(w http.ResponseWriter, checkID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failLocked(w) {
		return
	}
	in := s.removeCheckLocked(checkID)
	if in == nil {
		http.Error(w, fmt.Sprintf("Unknown check ID %q. Ensure that the check ID is passed, not the check name.", checkID), http.StatusNotFound)
		return
	}
	idx := s.bumpLocked()
	s.svcIndex[in.svc.Service] = idx
	s.svcTable = idx
}

// updateTTL serves pass|warn|fail/{id} and update/{id} on TTL checks.
func (s *Server) updateTTL(w http.ResponseWriter, r *http.Request, rest string) {
	verb, checkID, _ := strings.Cut(rest, "/")
	var status string
	switch verb {
	case "pass":
		status = api.HealthPassing
	case "warn":
		status = api.HealthWarning
	case "fail":
		status = api.HealthCritical
	case "update":
		var u struct{ Status, Output string }
		if !decode(w, r, &u) {
			return
		}
		status = u.Status
		if status != api.HealthPassing && status != api.HealthWarning && status != api.HealthCritical {
			http.Error(w, "Invalid check status: \""+status+"\"", http.StatusBadRequest)
			return
		}
	default:
		http.Error(w, "Not found: PUT /v1/agent/check/"+rest, http.StatusNotFound)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failLocked(w) {
		return
	}
	for _, in := range s.services {
		for _, c := range in.checks {
			if c.CheckID != checkID {
				continue
			}
			if c.Type != "ttl" {
				break
			}
			if c.Status != status { // an unchanged status writes nothing
				idx := s.bumpLocked()
				c.Status = status
				c.ModifyIndex = idx
				s.svcIndex[in.svc.Service] = idx
				s.svcTable = idx
			}
			return
		}
	}
	http.Error(w, fmt.Sprintf("CheckID %q does not have associated TTL", checkID), http.StatusInternalServerError)
}

func (s *Server) agentServices(w http.ResponseWriter) {
	s.mu.Lock()
	out := make(map[string]api.AgentService, len(s.services))
	for id, in := range s.services {
		out[id] = in.svc
	}
	s.mu.Unlock()
	writeJSON(w, out)
}

func (s *Server) agentChecks(w http.ResponseWriter) {
	s.mu.Lock()
	// Pointers: HealthCheckDefinition marshals its durations only through
	// its pointer-receiver MarshalJSON.
	out := map[string]*api.AgentCheck{}
	for _, in := range s.services {
		for _, c := range in.checks {
			out[c.CheckID] = &api.AgentCheck{
				Node: c.Node, CheckID: c.CheckID, Name: c.Name, Status: c.Status, Notes: c.Notes,
				ServiceID: c.ServiceID, ServiceName: c.ServiceName, Type: c.Type, Definition: c.Definition,
			}
		}
	}
	s.mu.Unlock()
	writeJSON(w, out)
}

// block waits, per Consul's blocking-query rules, until current() exceeds
// the request's index, wait elapses, the data is restored or the request
// ends. It reports false (after answering) when the request is invalid.
func (s *Server) block(w http.ResponseWriter, r *http.Request, current func() uint64) bool {
	q := r.URL.Query()
	if q.Get("index") == "" {
		return true
	}
	minIndex, err := strconv.ParseUint(q.Get("index"), 10, 64)
	if err != nil {
		http.Error(w, "Invalid index", http.StatusBadRequest)
		return false
	}
	wait := 5 * time.Minute
	if v := q.Get("wait"); v != "" {
		if wait, err = time.ParseDuration(v); err != nil || wait < 0 {
			http.Error(w, "Invalid wait time", http.StatusBadRequest)
			return false
		}
		wait = min(wait, 10*time.Minute)
	}
	if minIndex == 0 {
		return true
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	s.mu.Lock()
	abandon := s.abandon
	s.blocked[r.URL.Path]++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.blocked[r.URL.Path]--
		s.mu.Unlock()
	}()
	for {
		s.mu.Lock()
		idx, changed, failing := current(), s.changed, s.failing
		s.mu.Unlock()
		if idx > minIndex || failing {
			return true
		}
		select {
		case <-changed:
		case <-abandon:
			return true
		case <-timer.C:
			return true
		case <-r.Context().Done():
			return true
		case <-s.closed:
			return true
		}
	}
}

func (s *Server) setIndexLocked(w http.ResponseWriter, idx uint64) {
	if s.zeroIdx {
		idx = 0
	}
	h := w.Header()
	h.Set("X-Consul-Index", strconv.FormatUint(idx, 10))
	h.Set("X-Consul-KnownLeader", "true")
	h.Set("X-Consul-LastContact", "0")
}

func (s *Server) serviceIndexLocked(name string) uint64 {
	if idx, ok := s.svcIndex[name]; ok {
		return idx
	}
	return s.svcTable
}

func (s *Server) health(w http.ResponseWriter, r *http.Request, name string) {
	if !s.block(w, r, func() uint64 { return s.serviceIndexLocked(name) }) {
		return
	}
	q := r.URL.Query()
	_, passingOnly := q["passing"]
	if passingOnly && q.Get("passing") != "" {
		if b, err := strconv.ParseBool(q.Get("passing")); err == nil {
			passingOnly = b
		}
	}
	tags := q["tag"]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failLocked(w) {
		return
	}
	out := []api.ServiceEntry{}
	ids := make([]string, 0, len(s.services))
	for id, in := range s.services {
		if in.svc.Service == name {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		in := s.services[id]
		if !hasTags(in.svc.Tags, tags) {
			continue
		}
		checks := api.HealthChecks{{
			Node: NodeName, CheckID: "serfHealth", Name: "Serf Health Status",
			Status: api.HealthPassing, Output: "Agent alive and reachable", Type: "",
			CreateIndex: 1, ModifyIndex: 1,
		}}
		ok := true
		for _, c := range in.checks {
			cc := *c
			checks = append(checks, &cc)
			if c.Status != api.HealthPassing {
				ok = false
			}
		}
		if passingOnly && !ok {
			continue
		}
		svc := in.svc
		out = append(out, api.ServiceEntry{
			Node: &api.Node{
				ID: "3f1c3a0e-0000-4000-8000-000000000001", Node: NodeName, Address: NodeAddress,
				Datacenter: Datacenter, TaggedAddresses: map[string]string{"lan": NodeAddress, "wan": NodeAddress},
				Meta: map[string]string{}, CreateIndex: 1, ModifyIndex: 1,
			},
			Service: &svc,
			Checks:  checks,
		})
	}
	s.setIndexLocked(w, s.serviceIndexLocked(name))
	writeJSON(w, out)
}

func hasTags(have, want []string) bool {
	for _, t := range want {
		if !slices.Contains(have, t) {
			return false
		}
	}
	return true
}

func (s *Server) kvIndexLocked(key string, recurse bool) uint64 {
	if recurse {
		return s.kvTable
	}
	if p := s.kv[key]; p != nil {
		return p.ModifyIndex
	}
	return s.kvTable
}

func (s *Server) kvGet(w http.ResponseWriter, r *http.Request, key string) {
	q := r.URL.Query()
	_, recurse := q["recurse"]
	if !s.block(w, r, func() uint64 { return s.kvIndexLocked(key, recurse) }) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failLocked(w) {
		return
	}
	s.setIndexLocked(w, s.kvIndexLocked(key, recurse))
	var out []api.KVPair
	if recurse {
		keys := make([]string, 0)
		for k := range s.kv {
			if strings.HasPrefix(k, key) {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			out = append(out, *s.kv[k])
		}
	} else if p := s.kv[key]; p != nil {
		out = append(out, *p)
	}
	if len(out) == 0 {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if _, raw := q["raw"]; raw && !recurse {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(out[0].Value)
		return
	}
	writeJSON(w, out)
}

func (s *Server) kvPut(w http.ResponseWriter, r *http.Request, key string) {
	if key == "" {
		http.Error(w, "Missing key name", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxKVValue+1))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > MaxKVValue {
		http.Error(w, "Value exceeds 524288 byte limit", http.StatusRequestEntityTooLarge)
		return
	}
	q := r.URL.Query()
	var flags uint64
	if v := q.Get("flags"); v != "" {
		if flags, err = strconv.ParseUint(v, 10, 64); err != nil {
			http.Error(w, "Invalid flags", http.StatusBadRequest)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failLocked(w) {
		return
	}
	if v := q.Get("cas"); v != "" {
		cas, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			http.Error(w, "Invalid cas index", http.StatusBadRequest)
			return
		}
		p := s.kv[key]
		if (cas == 0 && p != nil) || (cas != 0 && (p == nil || p.ModifyIndex != cas)) {
			writeJSON(w, false)
			return
		}
	}
	s.putKVLocked(key, body, flags)
	writeJSON(w, true)
}

func (s *Server) kvDelete(w http.ResponseWriter, r *http.Request, key string) {
	q := r.URL.Query()
	_, recurse := q["recurse"]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failLocked(w) {
		return
	}
	if v := q.Get("cas"); v != "" && !recurse {
		cas, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			http.Error(w, "Invalid cas index", http.StatusBadRequest)
			return
		}
		if p := s.kv[key]; p == nil || p.ModifyIndex != cas {
			writeJSON(w, false)
			return
		}
	}
	deleted := false
	for k := range s.kv {
		if k == key || (recurse && strings.HasPrefix(k, key)) {
			delete(s.kv, k)
			deleted = true
		}
	}
	if deleted {
		s.kvTable = s.bumpLocked()
	}
	writeJSON(w, true)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}
