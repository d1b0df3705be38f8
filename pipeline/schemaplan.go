package pipeline

import "sync"

// schemaPlan is what the per-row checks of a schema need, worked out once:
// which fields ValidateCreate looks at, and the fields of each group.
type schemaPlan struct {
	// createRequired lists the RequiredOnCreate fields.
	createRequired []int
	// groupChecks lists the nested objects with RequiredInGroup parts.
	groupChecks []groupCheck
}

// groupCheck is a nested object whose required parts a create must fill
// when it fills any part.
type groupCheck struct {
	name            string
	required, parts []int
}

// plans holds the plan of each schema by its address. Schemas are built
// once and never changed after their first use, so a plan stays true.
var plans sync.Map

// plan returns s's plan, made on first use.
func (s *Schema) plan() *schemaPlan {
	if p, ok := plans.Load(s); ok {
		return p.(*schemaPlan)
	}
	p := &schemaPlan{}
	at := map[string]int{}
	for i := range s.Fields {
		f := &s.Fields[i]
		if f.RequiredOnCreate {
			p.createRequired = append(p.createRequired, i)
		}
		g := f.Group()
		if g == "" {
			continue
		}
		k, ok := at[g]
		if !ok {
			k = len(p.groupChecks)
			at[g] = k
			p.groupChecks = append(p.groupChecks, groupCheck{name: g})
		}
		p.groupChecks[k].parts = append(p.groupChecks[k].parts, i)
		if f.RequiredInGroup {
			p.groupChecks[k].required = append(p.groupChecks[k].required, i)
		}
	}
	// Groups without required parts need no look.
	checks := p.groupChecks[:0]
	for _, g := range p.groupChecks {
		if len(g.required) > 0 {
			checks = append(checks, g)
		}
	}
	p.groupChecks = checks
	actual, _ := plans.LoadOrStore(s, p)
	return actual.(*schemaPlan)
}
