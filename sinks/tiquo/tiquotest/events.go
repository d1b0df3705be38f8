package tiquotest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"time"

	"crmsync/internal/emulator"
)

// event is a webhook body: {"id", "type", "created", "data"}, as tiquo
// documents it. data holds the customer as "object", and for
// customer.updated the prior values of the attributes that changed as
// "previousAttributes".
type event struct {
	ID      string    `json:"id"`
	Type    string    `json:"type"`
	Created stamp     `json:"created"`
	Data    eventData `json:"data"`
}

type eventData struct {
	Object             *customer      `json:"object"`
	PreviousAttributes map[string]any `json:"previousAttributes,omitempty"`
}

// emit queues an event about c for every webhook URL; prev is the
// previousAttributes of a customer.updated. It never blocks.
func (s *Server) emit(typ string, c *customer, prev map[string]any) {
	// Built once, on the first URL, so that every URL gets the same
	// event id; Emit calls build on this goroutine, one URL after another.
	var body []byte
	var err error
	s.hooks.Emit(typ, func(emulator.Endpoint) ([]byte, error) {
		if body == nil && err == nil {
			body, err = json.Marshal(event{
				ID:      randomID("evt_"),
				Type:    typ,
				Created: stamp(time.Now().UnixMilli()),
				Data:    eventData{Object: c, PreviousAttributes: prev},
			})
		}
		return body, err
	})
}

// randomID returns prefix and 24 hex digits of randomness: the shape of
// tiquo's ids (cust_..., evt_...).
func randomID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
