package cli

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"crmsync/crm"
	"crmsync/gdpr"
	"crmsync/pipeline"
	"crmsync/state"
)

// anonymisingAPIsHelp names the APIs an erase anonymises in, for the help.
func anonymisingAPIsHelp() string {
	var names []string
	for _, c := range crm.All() {
		if c.NewEraser == nil && c.NewAnonymiser != nil {
			names = append(names, c.Name)
		}
	}
	if len(names) == 0 {
		return "none in this build"
	}
	return strings.Join(names, ", ")
}

// anonymisedBefore returns the customer an earlier run of the log
// anonymised (or was anonymising) for a subject named by match value
// only, whom no customer holds under that value any more; nil when the
// log names none, or the CRM no longer holds it.
func anonymisedBefore(ctx context.Context, r pipeline.Reader, s gdpr.Subject, matchHash string, erased *gdpr.Erased) (*pipeline.Customer, error) {
	if s.ID != "" || matchHash == "" {
		return nil, nil // a subject named by id was read by it
	}
	id := erased.AnonymisedMatches[matchHash]
	if id == "" {
		return nil, nil
	}
	c, err := r.Get(ctx, id)
	if pipeline.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the customer row %d was anonymised in: %w", s.Row, err)
	}
	return c, nil
}

// anonymised tallies an erase's anonymisations.
type anonymised struct {
	done, already, absent, failed int
	// withLeft counts the customers left holding what the API cannot
	// clear, and left names it.
	withLeft int
	left     []string
}

func (a *anonymised) addLeft(left []string) {
	if len(left) == 0 {
		return
	}
	a.withLeft++
	for _, l := range left {
		if !slices.Contains(a.left, l) {
			a.left = append(a.left, l)
		}
	}
}

// anonymiseAll anonymises the held customers a chunk at a time, and says
// what became of the subjects.
func (o *eraseOptions) anonymiseAll(ctx context.Context, log *slog.Logger, an pipeline.Anonymiser, st *state.Store, elog *gdpr.ErasureLog,
	run, logPath string, list, held []*erasure, counts map[string]int, forgotten int, started time.Time, interrupted func(error) error) error {
	var t anonymised
	t.already = counts[gdpr.OutcomeAlreadyAnonymised]
	for _, e := range list {
		if !e.held && e.outcome == gdpr.OutcomeAlreadyAnonymised {
			t.addLeft(e.left)
		}
	}
	for chunk := range slices.Chunk(held, eraseChunkSize) {
		if err := ctx.Err(); err != nil {
			return interrupted(err)
		}
		n, err := anonymiseChunk(ctx, an, st, elog, run, chunk, &t)
		forgotten += n
		if err != nil {
			return interrupted(err)
		}
		log.Info("progress", "anonymised", t.done, "failed", t.failed, "of", len(held))
	}

	fmt.Fprintf(o.stdout, "erase: %d subjects: %d customers anonymised, %d failed; %d already anonymised, %d subjects already absent, %d not found",
		len(list), t.done, t.failed, t.already, counts[gdpr.OutcomeAlreadyAbsent]+t.absent, counts[gdpr.OutcomeNotFound])
	if st != nil {
		fmt.Fprintf(o.stdout, "; %d removed from the sync state", forgotten)
	}
	fmt.Fprintf(o.stdout, "\nlog: %s\n", logPath)
	if t.withLeft > 0 {
		fmt.Fprintf(o.stdout, "left to clear by hand: %d anonymised customers still hold %s, which the API gives no way to clear; the log's left_to_clear column names it for each\n",
			t.withLeft, strings.Join(t.left, ", "))
	}
	if len(held) == 0 && t.already == 0 {
		fmt.Fprintln(o.stdout, "nothing to erase: the CRM holds none of the subjects")
	}
	log.Info("erase finished", "anonymised", t.done, "failed", t.failed, "already_anonymised", t.already,
		"already_absent", counts[gdpr.OutcomeAlreadyAbsent]+t.absent, "not_found", counts[gdpr.OutcomeNotFound],
		"left_to_clear", t.withLeft, "state_removed", forgotten, "seconds", fmt.Sprintf("%.1f", time.Since(started).Seconds()))
	if t.failed > 0 {
		return pipeline.Fatalf("the API refused to anonymise %d customers: see the rows marked failed in %s", t.failed, logPath)
	}
	return nil
}

// anonymiseChunk anonymises a chunk of customers, as eraseChunk deletes
// one: the log's "anonymising" rows are synced before anything is sent,
// and the state forgets the customers first, so that a run killed at any
// point leaves neither a state holding an erased customer nor an
// anonymisation the next run cannot account for (it finds the customer
// by the log's id, and anonymised already).
func anonymiseChunk(ctx context.Context, an pipeline.Anonymiser, st *state.Store, elog *gdpr.ErasureLog, run string, chunk []*erasure, t *anonymised) (forgotten int, err error) {
	ids := make([]string, len(chunk))
	entries := make([]gdpr.ErasureEntry, len(chunk))
	now := time.Now()
	for i, e := range chunk {
		ids[i] = e.crmID
		entries[i] = gdpr.ErasureEntry{Time: now, Run: run, CRMID: e.crmID, MatchSHA256: e.matchHash, Outcome: gdpr.OutcomeAnonymising}
	}
	if err := elog.Append(entries...); err != nil {
		return 0, fmt.Errorf("writing the erasure log: %w", err)
	}
	if st != nil {
		if forgotten, err = forget(ctx, st, ids); err != nil {
			return 0, err
		}
	}
	res := make([]pipeline.Anonymisation, len(ids))
	if err := an.Anonymise(ctx, ids, res); err != nil {
		return forgotten, fmt.Errorf("anonymising %d customers: %w", len(ids), err)
	}
	now = time.Now()
	for i, r := range res {
		outcome := gdpr.OutcomeFailed
		switch r.Outcome {
		case pipeline.Anonymised:
			outcome = gdpr.OutcomeAnonymised
			t.done++
			t.addLeft(r.Left)
		case pipeline.AlreadyAnonymised:
			outcome = gdpr.OutcomeAlreadyAnonymised
			t.already++
			t.addLeft(r.Left)
		case pipeline.AnonymiseAbsent:
			outcome = gdpr.OutcomeAlreadyAbsent
			t.absent++
		default:
			t.failed++
		}
		entries[i].Time, entries[i].Outcome, entries[i].Left = now, outcome, r.Left
	}
	if err := elog.Append(entries...); err != nil {
		return forgotten, fmt.Errorf("writing the erasure log: %w", err)
	}
	return forgotten, nil
}
