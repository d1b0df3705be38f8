package tiquotest_test

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"strings"

	"crmsync/sinks/tiquo/tiquotest"
)

// A sink under test points its base URL at the emulator and uses its key.
// Here it creates a customer, then finds it again by email with the
// emulator's email filter, as a sink does after losing a create's answer.
func Example() {
	srv, err := tiquotest.NewServer(tiquotest.Options{}) // in memory, DefaultKey
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	call := func(method, path, body string, v any) int {
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			log.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+srv.APIKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			log.Fatal(err)
		}
		return resp.StatusCode
	}

	var created struct {
		Success bool `json:"success"`
		Data    struct {
			ID    string   `json:"id"`
			Email string   `json:"email"`
			Tags  []string `json:"tags"`
		} `json:"data"`
	}
	status := call("POST", "/customers",
		`{"firstName": "Ada", "lastName": "Lovelace", "email": "Ada@Example.com", "tags": ["vip"]}`, &created)
	fmt.Println(status, created.Success, created.Data.Email, created.Data.Tags,
		strings.HasPrefix(created.Data.ID, "cust_"))

	var found struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
		Pagination struct {
			HasMore    bool    `json:"hasMore"`
			NextCursor *string `json:"nextCursor"`
		} `json:"pagination"`
	}
	status = call("GET", "/customers?email="+url.QueryEscape("ada@example.COM"), "", &found)
	fmt.Println(status, len(found.Data), found.Data[0].ID == created.Data.ID,
		found.Pagination.HasMore, found.Pagination.NextCursor)
	fmt.Println(srv.APIKey == tiquotest.DefaultKey)
	// Output:
	// 201 true Ada@Example.com [vip] true
	// 200 1 true false <nil>
	// true
}
