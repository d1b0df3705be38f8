package tamio

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"crmsync/pipeline"
)

// TestAPIRejectCodes: an API error code the reference explains becomes the
// row's code; any other becomes pipeline.CodeAPI, its number kept in the
// reason, so that no row carries a code `crmsync codes` cannot explain.
func TestAPIRejectCodes(t *testing.T) {
	for _, tc := range []struct {
		err      error
		code     string
		inReason string
	}{
		{&APIError{Status: 400, Code: CodeNotFound, Message: "teammate not found", Index: -1}, "1002", ""},
		{fmt.Errorf("bulk create: %w", &APIError{Status: 400, Code: CodeCustomerExists, Message: "exists", Index: -1}), "10142", ""},
		{&APIError{Status: 400, Code: 4242, Message: "something new", Index: -1}, pipeline.CodeAPI, "tamio error 4242: "},
		{&APIError{Status: 409, Index: -1, Method: "POST", Path: "/customers/create"}, pipeline.CodeAPI, "tamio error 409"},
		{errors.New("no envelope at all"), pipeline.CodeAPI, "no envelope at all"},
	} {
		r := apiReject(tc.err, &pipeline.Record{Values: make([]string, len(schema.Fields))})
		if r.Code != tc.code || !strings.Contains(r.Message, tc.inReason) || r.Stage != pipeline.StageAPI {
			t.Errorf("apiReject(%v) = %s %q %q, want %s with %q", tc.err, r.Stage, r.Code, r.Message, tc.code, tc.inReason)
		}
		if len(pipeline.LookupCode(r.Code)) == 0 {
			t.Errorf("apiReject(%v) gave code %q, which the reference lacks", tc.err, r.Code)
		}
	}
}
