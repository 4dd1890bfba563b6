package platform

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
)

// moduleServers are the external servers each module talks to, by the name
// the deployment registers them under in Consul. With the module graph
// (Module.Deps) they say which servers a target needs: the one source the
// Nomad templates, the Consul ACL policies and -deps.explicit follow.
var moduleServers = map[string][]string{
	"bus":          {ServerRabbitMQ},
	"redis":        {ServerRedis},
	"nats":         {ServerNATS},
	"user":         {ServerPostgres},
	"product":      {ServerPostgres},
	"order":        {ServerPostgres},
	"file":         {ServerPostgres},
	"notification": {ServerPostgres, ServerSMTP},
}

// The servers, named as the deployment registers them in Consul.
const (
	ServerPostgres = "postgres"
	ServerRabbitMQ = "rabbitmq"
	ServerRedis    = "redis"
	ServerNATS     = "nats"
	ServerSMTP     = "mailpit-smtp"
)

// ServerFlags maps each server to the flag that gives its address.
var ServerFlags = map[string]string{
	ServerPostgres: "pg.url",
	ServerRabbitMQ: "amqp.url",
	ServerRedis:    "redis.url",
	ServerNATS:     "nats.url",
	ServerSMTP:     "smtp.addr",
}

// Servers returns, sorted, the external servers the targets (as -target
// takes them) need: the servers of every module in their dependency closure.
func Servers(targets []string) ([]string, error) {
	p := New(Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	mods, err := p.manager.Order(targets)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range mods {
		for _, s := range moduleServers[m] {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// CheckExplicitServers returns an error naming every server the targets
// need whose address flag is not in set (the flags given on the command
// line, in the environment or in the config file). Under a scheduler a
// missing address means the server is missing from the catalogue: starting
// on a localhost default (or an embedded NATS) would split the platform.
func CheckExplicitServers(targets []string, set map[string]bool) error {
	servers, err := Servers(targets)
	if err != nil {
		return err
	}
	var missing []string
	for _, s := range servers {
		f := ServerFlags[s]
		if !set[f] {
			missing = append(missing, fmt.Sprintf("%s (-%s)", s, f))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("deps.explicit: no address for %s: is it registered in Consul? (no localhost default under -deps.explicit)", strings.Join(missing, ", "))
	}
	return nil
}
