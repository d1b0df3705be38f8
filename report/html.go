package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"crmsync/pipeline"
)

//go:embed report.html.tmpl
var pageSource string

var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	// groups splits a formatted number at its separators, for the
	// template to mark each as a place to break a line: a huge count in a
	// narrow tile then wraps between groups, not inside one.
	"groups": func(s string) []string { return strings.Split(s, ",") },
}).Parse(pageSource))

// How much of each list the page shows: it is a summary, and a run with a
// million rejects must still give a page a browser opens at once. The
// full lists are in rejects.csv, diff.csv and the state store.
const (
	maxFields       = 15
	maxRejectGroups = 40
	maxExamples     = 3
	maxFailing      = 50
	maxHistory      = 20
)

// WriteHTML renders r as a self-contained HTML page. Nothing is written to
// w when rendering fails.
func WriteHTML(w io.Writer, r *Run) error {
	if r == nil {
		return fmt.Errorf("html report: no run")
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, newView(r)); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	return nil
}

// WriteHTMLFile writes the page to path with mode 0600, through a
// temporary file in the same directory renamed into place, so a crash
// leaves the previous report or the new one, never half a page.
func WriteHTMLFile(path string, r *Run) error {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, r); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	fail := func(err error) error {
		tmp.Close()
		return fmt.Errorf("html report %s: %w", path, err)
	}
	// CreateTemp already makes the file 0600; the explicit Chmod keeps
	// that promise whatever CreateTemp does in a later Go.
	if err := tmp.Chmod(0o600); err != nil {
		return fail(err)
	}
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("html report %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("html report %s: %w", path, err)
	}
	// The rename is durable only once the directory is synced.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// view is the page's data, every number already formatted, so that the
// template holds no arithmetic.
type view struct {
	Title                         string
	ID                            string
	Status                        badge
	DryRun                        bool
	Source, Mapping, Target, Mode string
	Started, Finished, Took       string
	Error                         string
	Warnings                      []string
	Tiles                         []tile
	Donut                         donut
	Fields                        barList
	Phases                        barList
	API                           []tile
	Rejects                       []rejectView
	RejectsMore                   string
	RejectedTotal                 string
	Failing                       []failingView
	FailingMore                   string
	History                       []historyView
	// Codes explains the codes the page shows, for their links to land on:
	// the page is self-contained, so it cannot link to the README.
	Codes []codeView
	// Verify is the verification section, nil when none ran; VerifyOnly
	// says the run was a verification alone (crmsync verify), which has
	// no sync counts to show.
	Verify     *verifyView
	VerifyOnly bool
}

type badge struct{ Label, Class string }

// tile is one big number; Key names it for the stylesheet and for tests.
type tile struct {
	Key, Label, Value, Note string
	Size                    string // a smaller font for a long Value: m, l or xl
	Zero                    bool
}

type barList struct {
	Rows []barRow
	More string
}

type barRow struct {
	Label, Value, Share string
	Width               string // of the bar, a percentage of the largest
}

type rejectView struct {
	Stage, Code, Count, Share string
	Width                     string
	Anchor, Meaning           string // of the code's entry; "" when the reference lacks it
	Examples                  []exampleView
	More                      string
}

type exampleView struct {
	Row, Line, Column, Field, Message string
}

type failingView struct {
	Key, CRMID, Runs, Code, Message string
	Anchor, Meaning                 string // as in rejectView
}

// codeView is an entry of the page's list of reject codes.
type codeView struct {
	Anchor, Name, Stage, Meaning, Fix string
}

// codeList gathers the entries of the codes a page shows, each once, in
// the order the page shows them.
type codeList struct {
	list []codeView
}

// link returns the anchor and meaning of the entry of code at stage (at
// any stage when stage is ""), adding it to the list; "" when the
// reference lacks it.
func (l *codeList) link(stage, code string) (anchor, meaning string) {
	for _, c := range pipeline.LookupCode(code) {
		if stage != "" && string(c.Stage) != stage {
			continue
		}
		if !slices.ContainsFunc(l.list, func(v codeView) bool { return v.Anchor == c.Anchor() }) {
			l.list = append(l.list, codeView{Anchor: c.Anchor(), Name: c.Name, Stage: string(c.Stage), Meaning: c.Meaning, Fix: c.Fix})
		}
		return c.Anchor(), c.Meaning
	}
	return "", ""
}

type historyView struct {
	ID, Started                                          string
	Status                                               badge
	Read, Created, Updated, Unchanged, Rejected, Deleted string
	Current                                              bool
}

func newView(r *Run) *view {
	v := &view{
		Title:    "crmsync run" + runNumber(r.ID, " "),
		ID:       runNumber(r.ID, ""),
		Status:   statusBadge(r.Status),
		DryRun:   r.DryRun,
		Source:   r.Source,
		Mapping:  r.Mapping,
		Target:   r.Target,
		Mode:     r.Mode,
		Started:  fmtTime(r.StartedAt),
		Finished: fmtTime(r.FinishedAt),
		Took:     fmtTook(r.StartedAt, r.FinishedAt),
		Error:    r.Error,
		Warnings: r.Warnings,
	}
	v.Verify, v.VerifyOnly = newVerifyView(r.Verify), r.Mode == "verify"
	if v.VerifyOnly {
		v.Title = "crmsync verification" + runNumber(r.ID, " ")
	}
	v.Title += " · " + v.Status.Label
	if r.DryRun {
		v.Title += " (dry run)"
	}
	v.Tiles = countTiles(r)
	v.Donut = outcomeDonut(r)
	v.Fields = fieldBars(r.FieldChanges)
	v.Phases = phaseBars(r.Phases)
	v.API = apiTiles(r)
	var codes codeList
	v.Rejects, v.RejectsMore = rejectViews(r.Rejects, r.Counts.Rejected, &codes)
	v.RejectedTotal = fmtInt(r.Counts.Rejected) + " " + plural(r.Counts.Rejected, "row", "rows")
	v.Failing, v.FailingMore = failingViews(r.Failing, &codes)
	v.Codes = codes.list
	v.History = historyViews(r)
	return v
}

// runNumber writes a run's id as "#7" after sep; a run without a state
// has no id (0) and gets no number, rather than a "#0" that reads as one.
func runNumber(id int64, sep string) string {
	if id <= 0 {
		return ""
	}
	return sep + "#" + strconv.FormatInt(id, 10)
}

func statusBadge(s string) badge {
	switch s {
	case "done":
		return badge{"Done", "ok"}
	case "done_with_rejects":
		return badge{"Done with rejects", "warn"}
	case "aborted":
		return badge{"Aborted", "bad"}
	case "differs":
		return badge{"Differs", "bad"}
	case "failed":
		return badge{"Failed", "bad"}
	case "interrupted":
		return badge{"Interrupted", "info"}
	case "running":
		return badge{"Running", "info"}
	case "":
		return badge{"Unknown", "neutral"}
	}
	return badge{s, "neutral"}
}

func countTiles(r *Run) []tile {
	c := r.Counts
	created, updated, deleted := "Created", "Updated", "Deleted"
	if r.DryRun {
		created, updated, deleted = "Would create", "Would update", "Would delete"
	}
	share := func(n int64) string {
		if c.Read == 0 {
			return ""
		}
		return fmtPct(n, c.Read) + " of read"
	}
	tiles := []tile{
		{Key: "read", Label: "Read", Value: fmtInt(c.Read), Note: "source rows", Zero: c.Read == 0},
		{Key: "created", Label: created, Value: fmtInt(c.Created), Note: share(c.Created), Zero: c.Created == 0},
		{Key: "updated", Label: updated, Value: fmtInt(c.Updated), Note: share(c.Updated), Zero: c.Updated == 0},
		{Key: "unchanged", Label: "Unchanged", Value: fmtInt(c.Unchanged), Note: share(c.Unchanged), Zero: c.Unchanged == 0},
		{Key: "rejected", Label: "Rejected", Value: fmtInt(c.Rejected), Note: share(c.Rejected), Zero: c.Rejected == 0},
		{Key: "deleted", Label: deleted, Value: fmtInt(c.Deleted), Note: "not in the source", Zero: c.Deleted == 0},
		{Key: "pending", Label: "Pending", Value: fmtInt(c.Pending), Note: "not finished", Zero: c.Pending == 0},
	}
	if c.Deleted == 0 && r.Mode != "mirror" {
		tiles[5].Note = "mirror mode only"
	}
	if c.Pending == 0 {
		tiles[6].Note = "none left"
	}
	sizeTiles(tiles)
	return tiles
}

func apiTiles(r *Run) []tile {
	a := r.API
	rate := "—"
	if secs := r.FinishedAt.Sub(r.StartedAt).Seconds(); !r.StartedAt.IsZero() && !r.FinishedAt.IsZero() && secs > 0 {
		rate = fmtInt(int64(math.Round(float64(r.Counts.Read) / secs)))
	}
	tiles := []tile{
		{Key: "calls", Label: "API calls", Value: fmtInt(a.Calls), Zero: a.Calls == 0},
		{Key: "retries", Label: "Retries", Value: fmtInt(a.Retries), Zero: a.Retries == 0},
		{Key: "rate-limited", Label: "Rate-limited", Value: fmtInt(a.RateLimited), Note: "HTTP 429", Zero: a.RateLimited == 0},
		{Key: "throughput", Label: "Rows per second", Value: rate, Zero: rate == "—" || rate == "0"},
	}
	sizeTiles(tiles)
	return tiles
}

// sizeTiles picks one font for a row of tiles, from its longest number,
// so that a million ("1,048,576") fits a seven-tile row, even the largest
// int64 fits a phone's tile, and the numbers of a row stay alike.
func sizeTiles(tiles []tile) {
	longest := 0
	for _, t := range tiles {
		longest = max(longest, len(t.Value))
	}
	size := ""
	switch {
	case longest > 14:
		size = "xl"
	case longest > 10:
		size = "l"
	case longest > 7:
		size = "m"
	}
	for i := range tiles {
		tiles[i].Size = size
	}
}

// donut is the outcome chart: a ring of circle strokes, one dash each, in
// a fixed 200×200 box so its labels keep their size on every screen.
type donut struct {
	Segments []segment
	Labels   []segLabel
	Legend   []legendItem
	Extra    []legendItem // outcomes that are not source rows: deletes
	Total    string
	Small    bool // Total is long: a smaller font keeps it inside the ring
	Squeeze  bool // Total is too long even for that: squeeze it to fit
	Empty    bool
}

type segment struct {
	Class, Dash, Offset, Title string
}

type segLabel struct {
	X, Y, Text string
}

type legendItem struct {
	Key, Label, Count, Pct string
	Zero                   bool
}

const (
	ringRadius = 70.0
	ringGap    = 1.5 // between segments, in the ring's units
	labelMin   = 0.07
)

func outcomeDonut(r *Run) donut {
	c := r.Counts
	outcomes := []struct {
		key, label string
		n          int64
	}{
		{"created", "Created", c.Created},
		{"updated", "Updated", c.Updated},
		{"unchanged", "Unchanged", c.Unchanged},
		{"rejected", "Rejected", c.Rejected},
		{"pending", "Pending", c.Pending},
	}
	if r.DryRun {
		outcomes[0].label, outcomes[1].label = "Would create", "Would update"
	}
	// Shares are taken of a float total: an int64 one could overflow.
	var total int64
	var totalF float64
	nonzero := 0
	for _, o := range outcomes {
		if o.n > 0 {
			total = satAdd(total, o.n)
			totalF += float64(o.n)
			nonzero++
		}
	}
	d := donut{Total: fmtInt(total), Empty: total == 0}
	d.Small = len(d.Total) > 7
	d.Squeeze = len(d.Total) > 9
	circ := 2 * math.Pi * ringRadius
	var start float64
	for _, o := range outcomes {
		n := max(o.n, 0)
		if o.key == "pending" && n == 0 {
			continue // a finished run has none, and a zero here reads as a worry
		}
		pct := fmtPct(float64(n), totalF)
		d.Legend = append(d.Legend, legendItem{Key: o.key, Label: o.label, Count: fmtInt(n), Pct: pct, Zero: n == 0})
		if n == 0 || total == 0 {
			continue
		}
		frac := float64(n) / totalF
		length := frac * circ
		dash := length
		if nonzero > 1 {
			// A gap separates neighbours; a sliver still shows.
			dash = max(length-ringGap, 0.8)
		}
		d.Segments = append(d.Segments, segment{
			Class:  o.key,
			Dash:   fmtNum(dash) + " " + fmtNum(circ),
			Offset: fmtNum(-start),
			Title:  o.label + ": " + fmtInt(n) + " (" + pct + ")",
		})
		if frac >= labelMin {
			// The ring starts at 12 o'clock and runs clockwise.
			mid := (start + length/2) / circ
			a := 2*math.Pi*mid - math.Pi/2
			d.Labels = append(d.Labels, segLabel{
				X:    fmtNum(100 + ringRadius*math.Cos(a)),
				Y:    fmtNum(100 + ringRadius*math.Sin(a)),
				Text: shortPct(frac),
			})
		}
		start += length
	}
	if c.Deleted != 0 || r.Mode == "mirror" {
		label := "Deleted"
		if r.DryRun {
			label = "Would delete"
		}
		d.Extra = append(d.Extra, legendItem{Key: "deleted", Label: label, Count: fmtInt(c.Deleted), Zero: c.Deleted == 0})
	}
	return d
}

func fieldBars(fields []FieldCount) barList {
	fields = slices.Clone(fields)
	// The contract is most first; sorting again costs nothing and keeps a
	// caller's slip from hiding the top field.
	slices.SortStableFunc(fields, func(a, b FieldCount) int {
		switch {
		case a.Count > b.Count:
			return -1
		case a.Count < b.Count:
			return 1
		}
		return 0
	})
	var top int64
	if len(fields) > 0 {
		top = fields[0].Count
	}
	var l barList
	for i, f := range fields {
		if i == maxFields {
			var rest int64
			for _, g := range fields[i:] {
				rest = satAdd(rest, g.Count)
			}
			l.More = fmt.Sprintf("and %s more %s, with %s %s between them",
				fmtInt(int64(len(fields)-i)), plural(int64(len(fields)-i), "field", "fields"),
				fmtInt(rest), plural(rest, "change", "changes"))
			break
		}
		l.Rows = append(l.Rows, barRow{Label: f.Field, Value: fmtInt(f.Count), Width: fmtWidth(float64(f.Count), float64(top))})
	}
	return l
}

func phaseBars(phases []Phase) barList {
	var total, top float64
	for _, p := range phases {
		s := nonNeg(p.Seconds)
		total += s
		top = max(top, s)
	}
	var l barList
	for _, p := range phases {
		s := nonNeg(p.Seconds)
		share := "—"
		if total > 0 {
			share = shortPct(s / total)
		}
		l.Rows = append(l.Rows, barRow{Label: p.Name, Value: fmtSeconds(s), Share: share, Width: fmtWidth(s, top)})
	}
	if len(phases) > 1 {
		l.More = "Total " + fmtSeconds(total)
	}
	return l
}

func rejectViews(groups []RejectGroup, rejected int64, codes *codeList) ([]rejectView, string) {
	groups = slices.Clone(groups)
	slices.SortStableFunc(groups, func(a, b RejectGroup) int {
		switch {
		case a.Count > b.Count:
			return -1
		case a.Count < b.Count:
			return 1
		}
		return 0
	})
	var sum, top int64
	for _, g := range groups {
		sum = satAdd(sum, g.Count)
		top = max(top, g.Count)
	}
	// The share is of all rejected rows; the groups' sum stands in when
	// the run's count is missing.
	of := max(rejected, sum)
	var out []rejectView
	more := ""
	for i, g := range groups {
		if i == maxRejectGroups {
			var rest int64
			for _, h := range groups[i:] {
				rest = satAdd(rest, h.Count)
			}
			more = fmt.Sprintf("and %s more %s, with %s rejected %s: see rejects.csv",
				fmtInt(int64(len(groups)-i)), plural(int64(len(groups)-i), "code", "codes"),
				fmtInt(rest), plural(rest, "row", "rows"))
			break
		}
		rv := rejectView{
			Stage: g.Stage,
			Code:  g.Code,
			Count: fmtInt(g.Count) + " " + plural(g.Count, "row", "rows"),
			Share: fmtPct(g.Count, of),
			Width: fmtWidth(float64(g.Count), float64(top)),
		}
		rv.Anchor, rv.Meaning = codes.link(g.Stage, g.Code)
		for j, e := range g.Examples {
			if j == maxExamples {
				break
			}
			rv.Examples = append(rv.Examples, exampleView{
				Row:     fmtPos(e.Row),
				Line:    fmtPos(e.Line),
				Column:  e.Column,
				Field:   e.Field,
				Message: e.Message,
			})
		}
		if rest := g.Count - int64(len(rv.Examples)); rest > 0 && len(rv.Examples) > 0 {
			rv.More = fmt.Sprintf("and %s more in rejects.csv", fmtInt(rest))
		}
		out = append(out, rv)
	}
	return out, more
}

func failingViews(rows []FailingRow, codes *codeList) ([]failingView, string) {
	var out []failingView
	for i, f := range rows {
		if i == maxFailing {
			n := int64(len(rows) - i)
			return out, fmt.Sprintf("and %s more %s: the state store lists them all", fmtInt(n), plural(n, "row", "rows"))
		}
		fv := failingView{
			Key:     f.Key,
			CRMID:   f.CRMID,
			Runs:    fmtInt(int64(f.Runs)) + " " + plural(int64(f.Runs), "run", "runs"),
			Code:    f.Code,
			Message: f.Message,
		}
		// The state keeps no stage with a failure: the code's first entry
		// serves.
		fv.Anchor, fv.Meaning = codes.link("", f.Code)
		out = append(out, fv)
	}
	return out, ""
}

func historyViews(r *Run) []historyView {
	row := func(id int64, started time.Time, status string, c Counts) historyView {
		return historyView{
			ID:        runNumber(id, ""),
			Started:   fmtTime(started),
			Status:    statusBadge(status),
			Read:      fmtInt(c.Read),
			Created:   fmtInt(c.Created),
			Updated:   fmtInt(c.Updated),
			Unchanged: fmtInt(c.Unchanged),
			Rejected:  fmtInt(c.Rejected),
			Deleted:   fmtInt(c.Deleted),
		}
	}
	// This run heads the table, so the trend reads against it.
	cur := row(r.ID, r.StartedAt, r.Status, r.Counts)
	cur.Current = true
	out := []historyView{cur}
	for _, h := range r.History {
		if len(out) > maxHistory {
			break
		}
		if h.ID == r.ID {
			continue // a store that lists this run too: it heads the table already
		}
		out = append(out, row(h.ID, h.StartedAt, h.Status, h.Counts))
	}
	return out
}

// fmtInt writes n with thousands separators: 1234567 is "1,234,567".
func fmtInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	digits := s
	sign := ""
	if n < 0 {
		sign, digits = "-", s[1:]
	}
	if len(digits) <= 3 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(digits)/3)
	b.WriteString(sign)
	head := len(digits) % 3
	if head == 0 {
		head = 3
	}
	b.WriteString(digits[:head])
	for i := head; i < len(digits); i += 3 {
		b.WriteByte(',')
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// fmtPos writes a row or line number, which people search for in a file,
// so without separators; 0 means unknown.
func fmtPos(n int64) string {
	if n <= 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

// fmtPct writes part as a share of total to one decimal, never rounding a
// non-zero share to 0% nor a partial one to 100%.
func fmtPct[N int64 | float64](part, total N) string {
	if !(total > 0) || !(part > 0) {
		return "0%"
	}
	if part >= total {
		return "100%"
	}
	p := 100 * float64(part) / float64(total)
	switch {
	case p < 0.1:
		return "<0.1%"
	case p >= 99.95:
		return ">99.9%"
	}
	return strconv.FormatFloat(p, 'f', 1, 64) + "%"
}

// shortPct writes a fraction as a whole percentage, for chart labels.
func shortPct(frac float64) string {
	p := math.Round(100 * nonNeg(frac))
	if p < 1 && frac > 0 {
		return "<1%"
	}
	return strconv.FormatFloat(p, 'f', 0, 64) + "%"
}

// fmtWidth is a bar's width, as an SVG percentage of the longest bar.
func fmtWidth(v, top float64) string {
	if top <= 0 || v <= 0 {
		return "0%"
	}
	return fmtNum(math.Min(100*v/top, 100)) + "%"
}

// fmtNum writes an SVG coordinate. A NaN or infinity would make the
// browser drop the element, so it becomes 0.
func fmtNum(f float64) string {
	f = finite(f)
	if f == 0 {
		f = 0 // not "-0.00"
	}
	return strconv.FormatFloat(f, 'f', 2, 64)
}

func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// nonNeg is finite for amounts that cannot be negative: a phase that took
// "-1 s" is a clock step, shown as nothing.
func nonNeg(f float64) float64 {
	return max(finite(f), 0)
}

func fmtSeconds(s float64) string {
	s = nonNeg(s)
	switch {
	case s < 10:
		return strconv.FormatFloat(s, 'f', 2, 64) + " s"
	case s < 60:
		return strconv.FormatFloat(s, 'f', 1, 64) + " s"
	case s < 3600:
		t := int64(math.Round(s))
		return fmt.Sprintf("%d min %02d s", t/60, t%60)
	}
	t := int64(math.Round(s / 60))
	return fmt.Sprintf("%s h %02d min", fmtInt(t/60), t%60)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Format("2006-01-02 15:04:05 MST")
}

func fmtTook(start, end time.Time) string {
	if start.IsZero() || end.IsZero() || end.Before(start) {
		return "—"
	}
	return fmtSeconds(end.Sub(start).Seconds())
}

// satAdd adds counts, stopping at the largest int64 rather than wrapping
// to a negative total; negative counts, which no run has, add nothing.
func satAdd(a, b int64) int64 {
	if b <= 0 {
		return a
	}
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
