package report

import (
	"bufio"
	"fmt"
	"os"
	"strconv"

	"crmsync/internal/outdir"
	csvsource "crmsync/sources/csv"
)

// VerifyRow is one line of verify.csv: one way a source row and its
// customer in the target disagree. The file's columns, in order:
//
//	key       the row's source key (the mapping's key column)
//	row       the row's number in the source (1 for the first data row)
//	crm_id    the customer's id in the CRM; "" when none was found
//	kind      value (a field holds another value), missing (no customer
//	          for the key) or ambiguous (without a state, several
//	          customers hold the row's match value)
//	field     the field that differs; for missing and ambiguous, the
//	          match field (email)
//	expected  what the mapping makes of the source, in canonical text
//	          (for missing and ambiguous, the row's match value)
//	found     what the target holds (for ambiguous, how many customers)
//
// The file is UTF-8 with a byte order mark and escapes formulas as
// diff.csv does (see DiffRow).
type VerifyRow struct {
	Key      string
	Row      int64
	CRMID    string
	Kind     string
	Field    string
	Expected string
	Found    string
}

// verifyHeader is verify.csv's header, in VerifyRow's order.
var verifyHeader = [...]string{"key", "row", "crm_id", "kind", "field", "expected", "found"}

// VerifyWriter streams VerifyRows to verify.csv in constant memory. It is
// not safe for concurrent use. The first error is kept and returned by
// every later call.
type VerifyWriter struct {
	path   string
	file   *os.File
	bw     *bufio.Writer
	line   []byte
	rows   int64
	err    error
	closed bool
}

// CreateVerify creates path afresh with mode 0600, since it lists
// customers' personal data (see outdir.Create), and writes its header
// through to the file, so that a pass stopped before its first difference
// still leaves a file that lists none.
func CreateVerify(path string) (*VerifyWriter, error) {
	f, err := outdir.Create(path)
	if err != nil {
		return nil, fmt.Errorf("verification report: %w", err)
	}
	w := &VerifyWriter{path: path, file: f, bw: bufio.NewWriterSize(f, 64<<10)}
	w.bw.WriteString("\uFEFF")
	w.writeLine(verifyHeader[:])
	if err := w.bw.Flush(); err != nil {
		w.fail(err)
		f.Close()
		return nil, w.err
	}
	return w, nil
}

// Write appends one row.
func (w *VerifyWriter) Write(r *VerifyRow) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return fmt.Errorf("verification report %s: write after close", w.path)
	}
	w.writeLine([]string{r.Key, strconv.FormatInt(r.Row, 10), r.CRMID, r.Kind, r.Field, r.Expected, r.Found})
	w.rows++
	return w.err
}

// Rows is how many rows were written.
func (w *VerifyWriter) Rows() int64 { return w.rows }

func (w *VerifyWriter) writeLine(cells []string) {
	line := w.line[:0]
	for j, v := range cells {
		if j > 0 {
			line = append(line, ',')
		}
		line = appendCSVField(line, csvsource.EscapeFormula(v))
	}
	w.line = append(line, '\n')
	if _, err := w.bw.Write(w.line); err != nil {
		w.fail(err)
	}
}

// Close flushes, syncs and closes the file, returning the first error of
// the writer's life. It is safe to call more than once.
func (w *VerifyWriter) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if err := w.bw.Flush(); err != nil {
		w.fail(err)
	}
	if err := w.file.Sync(); err != nil {
		w.fail(err)
	}
	if err := w.file.Close(); err != nil {
		w.fail(err)
	}
	return w.err
}

func (w *VerifyWriter) fail(err error) {
	if w.err == nil {
		w.err = fmt.Errorf("verification report %s: %w", w.path, err)
	}
}

// Verification is what report.html shows of a verification pass: its
// counts and the first differences (verify.csv lists them all).
type Verification struct {
	// Checked = Agree + Differ + Missing rows were compared; Rejected rows
	// a sync would not send were not.
	Checked, Agree, Differ, Missing, Rejected int64
	// Differences are the first differences found, at most
	// MaxVerifyDifferences of them.
	Differences []VerifyRow
	// Total is how many differences verify.csv lists.
	Total int64
	// Error is why the pass stopped before its end, if it did.
	Error string
}

// MaxVerifyDifferences is how many differences report.html shows.
const MaxVerifyDifferences = 50

// verifyView is the verification section of the page.
type verifyView struct {
	Tiles   []tile
	Summary string
	Agrees  bool
	Error   string
	Rows    []verifyRowView
	More    string
}

type verifyRowView struct {
	Key, Row, CRMID, Kind, Field, Expected, Found string
}

func newVerifyView(v *Verification) *verifyView {
	if v == nil {
		return nil
	}
	share := func(n int64) string {
		if v.Checked == 0 {
			return ""
		}
		return fmtPct(n, v.Checked) + " of checked"
	}
	vv := &verifyView{Error: v.Error, Agrees: v.Differ == 0 && v.Missing == 0 && v.Error == ""}
	vv.Tiles = []tile{
		{Key: "checked", Label: "Checked", Value: fmtInt(v.Checked), Note: "customers compared", Zero: v.Checked == 0},
		{Key: "agree", Label: "Agree", Value: fmtInt(v.Agree), Note: share(v.Agree), Zero: v.Agree == 0},
		{Key: "differ", Label: "Differ", Value: fmtInt(v.Differ), Note: share(v.Differ), Zero: v.Differ == 0},
		{Key: "missing", Label: "Missing", Value: fmtInt(v.Missing), Note: share(v.Missing), Zero: v.Missing == 0},
		{Key: "not-compared", Label: "Not compared", Value: fmtInt(v.Rejected), Note: "rows a sync rejects", Zero: v.Rejected == 0},
	}
	sizeTiles(vv.Tiles)
	switch {
	case v.Error != "":
		vv.Summary = "stopped"
	case vv.Agrees:
		vv.Summary = "the two sides agree"
	default:
		vv.Summary = fmtInt(v.Differ+v.Missing) + " " + plural(v.Differ+v.Missing, "customer differs", "customers differ")
	}
	for i, d := range v.Differences {
		if i == MaxVerifyDifferences {
			break
		}
		vv.Rows = append(vv.Rows, verifyRowView{Key: d.Key, Row: fmtPos(d.Row), CRMID: d.CRMID, Kind: d.Kind,
			Field: d.Field, Expected: d.Expected, Found: d.Found})
	}
	if shown := int64(len(vv.Rows)); v.Total > shown {
		vv.More = fmt.Sprintf("and %s more in verify.csv", fmtInt(v.Total-shown))
	}
	return vv
}
