package main

import "testing"

// The kill lines name the route a kill landed on: ids dropped, a version
// in the path kept.
func TestRouteOf(t *testing.T) {
	for p, want := range map[string]string{
		"api/v2/customer/1202": "api/v2/customer/{id}",
		"api/v2/customer/":     "api/v2/customer/",
		"customers/cust_8f3a":  "customers/{id}",
		"customers/update/3f2b1c9e-5d4a-4e8b-9c7d-1a2b3c4d5e6f": "customers/update/{id}",
		"v2x/customers/v12": "{id}/customers/v12",
	} {
		if got := routeOf(p); got != want {
			t.Errorf("routeOf(%q) = %q, want %q", p, got, want)
		}
	}
}
