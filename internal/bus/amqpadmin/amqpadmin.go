// Package amqpadmin calls RabbitMQ's management HTTP API for the tools and
// tests that make and remove vhosts or close connections (the bench's
// environment, testenv). The platform itself never needs it.
package amqpadmin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Client is the management API at URL (with credentials, e.g.
// http://guest:guest@127.0.0.1:15672).
type Client struct {
	URL string
}

var httpc = &http.Client{Timeout: 15 * time.Second}

// Do sends method path with a JSON body; any 2xx is success, and so is a
// DELETE of something already gone (404).
func (c Client) Do(ctx context.Context, method, path, body string) error {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.URL, "/")+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 && !(method == http.MethodDelete && resp.StatusCode == http.StatusNotFound) {
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return nil
}

// GetJSON decodes the answer to GET path into v.
func (c Client) GetJSON(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.URL, "/")+path, nil)
	if err != nil {
		return err
	}
	resp, err := httpc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
