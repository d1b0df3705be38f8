package emutest

import "maps"

// With returns a copy of m with k set to v: a request body that differs
// from another by one member.
func With(m map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(m)+1)
	maps.Copy(out, m)
	out[k] = v
	return out
}

// Without returns a copy of m without k.
func Without(m map[string]any, k string) map[string]any {
	out := maps.Clone(m)
	delete(out, k)
	if out == nil {
		out = map[string]any{}
	}
	return out
}
