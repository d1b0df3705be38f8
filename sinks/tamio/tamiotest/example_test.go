package tamiotest_test

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"strings"

	"crmsync/sinks/tamio/tamiotest"
)

// A sink under test points its base URL at the emulator and uses its key.
func Example() {
	srv, err := tamiotest.NewServer(tamiotest.Options{}) // in memory, DefaultKey
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	body := `{"name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "country": "GB"}`
	req, err := http.NewRequest("POST", srv.URL+"/customers/create", strings.NewReader(body))
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

	var answer struct {
		Status   int `json:"status"`
		Customer struct {
			Email    string `json:"email"`
			Country  string `json:"country"`
			Category string `json:"category"`
			Priority string `json:"priority"`
		} `json:"customer"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		log.Fatal(err)
	}
	fmt.Println(answer.Status, answer.Customer.Email, answer.Customer.Country,
		answer.Customer.Category, answer.Customer.Priority)
	fmt.Println(srv.APIKey == tamiotest.DefaultKey)
	// Output:
	// 200 ada@example.com gb customer normal
	// true
}
