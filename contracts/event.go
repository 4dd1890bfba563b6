package contracts

import (
	"encoding/json"
	"time"
)

// Event is the envelope of every event on EventsExchange. The AMQP
// message_id equals ID; the routing key equals Type.
type Event struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	OccurredAt time.Time       `json:"occurred_at"`
	Data       json.RawMessage `json:"data"`
}

// Decode unmarshals the event's data into v.
func (e Event) Decode(v any) error {
	if err := json.Unmarshal(e.Data, v); err != nil {
		return InvalidArgument("data", "event %s data: %v", e.Type, err)
	}
	return nil
}
