package testenv

import (
	"encoding/json"
	"fmt"
	"net/http"
)

func amqpAdminJSON(path string, v any) error {
	resp, err := httpc.Get(AMQPAdmin + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
