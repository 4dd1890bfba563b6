package contracts

import (
	"sort"
	"sync"
)

var (
	registryMu sync.Mutex
	registry   = map[string]any{}
)

// Register records a contract type under a schema name ("user.login.request",
// "event.order.placed"), so JSON Schema files are generated for it. Contract
// files call it from init with a zero value of each type.
func Register(name string, zero any) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[name]; dup {
		panic("contracts: schema registered twice: " + name)
	}
	registry[name] = zero
}

// Registered returns the registered schema names, sorted, and their types.
func Registered() ([]string, map[string]any) {
	registryMu.Lock()
	defer registryMu.Unlock()
	names := make([]string, 0, len(registry))
	out := make(map[string]any, len(registry))
	for n, v := range registry {
		names = append(names, n)
		out[n] = v
	}
	sort.Strings(names)
	return names, out
}

func init() {
	Register("rpc.envelope", Envelope{})
	Register("rpc.error", ErrorBody{})
	Register("rpc.actor", Actor{})
	Register("money", Money{})
	Register("event", Event{})
}
