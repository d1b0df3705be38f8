package revnuetest_test

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"strings"

	"crmsync/sinks/revnue/revnuetest"
)

// A sink under test points its base URL at the emulator and uses its
// token. Here a customer is created with a fax, then updated with a PUT
// that sends only company, name and phone: Revnue replaces the whole
// record, so the fax is gone. A sink must send the complete customer.
func Example() {
	srv, err := revnuetest.NewServer(revnuetest.Options{}) // in memory, DefaultToken
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	call := func(method, path, body string) map[string]any {
		req, err := http.NewRequest(method, srv.URL+revnuetest.APIPrefix+path, strings.NewReader(body))
		if err != nil {
			log.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+srv.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			log.Fatal(err)
		}
		fmt.Println(method, resp.StatusCode)
		return v
	}

	c := call("POST", "/customer/", `{"company": 1, "name": "Acme GmbH", "fax": "+49 30 1234", "country": 276,
		"category": 1, "template": {"id": 1, "fields": [{"id": 1, "value": 2500.5}]}}`)
	fmt.Println(c["fax"], c["country"], c["category"], c["template"])

	c = call("PUT", fmt.Sprintf("/customer/%v", c["id"]), `{"company": 1, "name": "Acme GmbH", "phone": "+49 30 5678"}`)
	fmt.Println(c["phone"], c["fax"], c["country"], c["template"], c["nda_signed"])
	// Output:
	// POST 201
	// +49 30 1234 Germany map[id:1 name:Default] map[fields:map[account_tier:<nil> contract_value:2500.50 renewal_date:<nil> seats:<nil>] id:1]
	// PUT 200
	// +49 30 5678 <nil> <nil> <nil> false
}
