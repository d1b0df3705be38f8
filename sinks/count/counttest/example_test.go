package counttest_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"strconv"
	"strings"
	"time"

	"crmsync/sinks/count/counttest"
)

// A sink under test points its base URL at the emulator and signs every
// request with the emulator's credentials. Here it creates a customer,
// changes only the city of its billing address (and so sends the whole
// address again, as COUNT replaces addresses whole), and checks an email
// with find-by-email.
func Example() {
	srv, err := counttest.NewServer(counttest.Options{}) // in memory, the default client
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	call := func(method, path, body string, v any) int {
		ts := time.Now().Unix()
		bodyHash := ""
		if body != "" {
			sum := sha256.Sum256([]byte(body))
			bodyHash = hex.EncodeToString(sum[:])
		}
		signedPath, _, _ := strings.Cut(path, "?") // without /partners and the query
		mac := hmac.New(sha256.New, []byte(srv.ClientSecret))
		mac.Write([]byte(method + ":" + signedPath + ":" + strconv.FormatInt(ts, 10) + ":" + bodyHash))

		req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader([]byte(body)))
		if err != nil {
			log.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+srv.Token)
		req.Header.Set("x-client-id", srv.ClientID)
		req.Header.Set("x-timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("x-signature", hex.EncodeToString(mac.Sum(nil)))
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

	type addr struct {
		Street, City, ZipCode *string
	}
	var created struct {
		Status string
		Data   struct {
			ID              string
			Email           string
			BillingAddress  *addr
			ShippingAddress *addr
		}
	}
	status := call("POST", "/customers", `{"customer": "Acme", "email": "Ops@Acme.example",
		"billingAddress": {"street": "1 Main St", "city": "Springfield", "zipCode": "62701"}}`, &created)
	fmt.Println(status, created.Status, created.Data.Email, *created.Data.BillingAddress.City)

	var updated struct {
		Data struct{ BillingAddress *addr }
	}
	status = call("PUT", "/customers/"+created.Data.ID, `{"customer": "Acme", "email": "Ops@Acme.example",
		"billingAddress": {"street": "1 Main St", "city": "Chicago", "zipCode": "62701"}}`, &updated)
	b := updated.Data.BillingAddress
	fmt.Println(status, *b.Street, *b.City, *b.ZipCode)

	var found struct {
		Status string
		Code   string
	}
	status = call("GET", "/customers/find-by-email?email=ops%40acme.example", "", &found)
	fmt.Println(status, found.Status)
	status = call("GET", "/customers/find-by-email?email=new%40acme.example", "", &found)
	fmt.Println(status, found.Code)
	fmt.Println(srv.Token == counttest.DefaultToken, strings.HasSuffix(srv.URL, "/partners"))
	// Output:
	// 201 success Ops@Acme.example Springfield
	// 200 1 Main St Chicago 62701
	// 200 success
	// 404 not_found
	// true true
}
