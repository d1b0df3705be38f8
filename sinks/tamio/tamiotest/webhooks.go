package tamiotest

import (
	"encoding/json"
	"strings"

	"crmsync/internal/emulator"
	"github.com/google/uuid"
)

// event is the body of a webhook delivery.
type event struct {
	EventID    string    `json:"event_id"`
	EventType  string    `json:"event_type"`
	APIVersion int       `json:"api_version"`
	Object     string    `json:"object"`
	Data       eventData `json:"data"`
	EndpointID string    `json:"endpoint_id"`
}

type eventData struct {
	Customer *customer `json:"customer"`
}

// emit sends an event about c to every webhook URL; it never blocks (see
// [emulator.Webhooks.Emit]).
func (s *Server) emit(eventType string, c *customer, src eventSource) {
	ev := event{
		EventType:  eventType,
		APIVersion: 2,
		Object:     "event",
	}
	var made bool
	s.hooks.Emit(eventType, func(ep emulator.Endpoint) ([]byte, error) {
		if !made {
			// Built only when some URL takes it: most servers have none.
			made = true
			cc := *c
			cc.Source = src
			ev.EventID = "whev_" + strings.ReplaceAll(uuid.NewString(), "-", "")
			ev.Data.Customer = &cc
		}
		ev.EndpointID = ep.ID
		return json.Marshal(ev)
	})
}
