package revnuetest

import (
	"net/http"
	"slices"
	"strconv"
)

// parseID reads the {id} of a customer's path: decimal digits naming an
// int64, else the customer cannot exist (404), as Django's <int:id>
// route does not match.
func parseID(r *http.Request) (int64, *apiError) {
	raw := r.PathValue("id")
	if !integerToken.MatchString(raw) || raw[0] == '-' {
		return 0, notFound()
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return 0, notFound()
	}
	return id, nil
}

func (s *Server) getCustomer(r *http.Request) (int, any, *apiError) {
	id, aerr := parseID(r)
	if aerr != nil {
		return 0, nil, aerr
	}
	rec, err := s.st.get(r.Context(), id)
	if err != nil {
		return 0, nil, s.fail(r, err)
	}
	if rec == nil {
		return 0, nil, notFound()
	}
	return http.StatusOK, s.readShape(id, rec), nil
}

// readBody reads and checks the body of a create or a PUT.
func (s *Server) readBody(r *http.Request) (*record, *apiError) {
	body, release, aerr := readRequest(r)
	if aerr != nil {
		return nil, aerr
	}
	defer release()
	return s.readRecord(body)
}

func (s *Server) createCustomer(r *http.Request) (int, any, *apiError) {
	rec, aerr := s.readBody(r)
	if aerr != nil {
		return 0, nil, aerr
	}
	id, err := s.st.create(r.Context(), rec)
	if err != nil {
		return 0, nil, s.fail(r, err)
	}
	return http.StatusCreated, s.readShape(id, rec), nil
}

// replaceCustomer is the PUT: the body becomes the whole customer. An
// unknown customer is a 404 whatever the body, as DRF looks the object up
// before it reads the body; customers are never deleted, so the look-up
// on the read pool still holds when the write comes.
func (s *Server) replaceCustomer(r *http.Request) (int, any, *apiError) {
	id, aerr := parseID(r)
	if aerr != nil {
		return 0, nil, aerr
	}
	if old, err := s.st.get(r.Context(), id); err != nil || old == nil {
		if err != nil {
			return 0, nil, s.fail(r, err)
		}
		return 0, nil, notFound()
	}
	rec, aerr := s.readBody(r)
	if aerr != nil {
		return 0, nil, aerr
	}
	if err := s.st.replace(r.Context(), id, rec); err != nil {
		return 0, nil, s.fail(r, err)
	}
	return http.StatusOK, s.readShape(id, rec), nil
}

func (s *Server) listCustomers(r *http.Request) (int, any, *apiError) {
	company, pg, aerr := s.listQuery(r)
	if aerr != nil {
		return 0, nil, aerr
	}
	count, rows, err := s.st.page(r.Context(), company, pg.offset(), pg.size)
	if err != nil {
		return 0, nil, s.fail(r, err)
	}
	results := make([]*customer, len(rows))
	for i, row := range rows {
		results[i] = s.readShape(row.id, row.r)
	}
	return pg.answer(r, count, results)
}

// category is a category as its list answers it.
type category struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

func (s *Server) listCategories(r *http.Request) (int, any, *apiError) {
	_, pg, aerr := s.listQuery(r)
	if aerr != nil {
		return 0, nil, aerr
	}
	all := make([]category, len(s.opts.Categories))
	for i, c := range s.opts.Categories {
		all[i] = category(c)
	}
	slices.SortFunc(all, func(a, b category) int { return int(a.ID - b.ID) })
	return pg.answer(r, int64(len(all)), pageOf(all, pg))
}

// template is the template as its list answers it.
type template struct {
	ID     int64           `json:"id"`
	Name   string          `json:"name"`
	Fields []templateField `json:"fields"`
}

type templateField struct {
	ID   int64  `json:"id"`
	Key  string `json:"key"`
	Type string `json:"type"`
}

func (s *Server) listTemplates(r *http.Request) (int, any, *apiError) {
	_, pg, aerr := s.listQuery(r)
	if aerr != nil {
		return 0, nil, aerr
	}
	t := template{ID: s.opts.Template.ID, Name: s.opts.Template.Name, Fields: make([]templateField, len(s.opts.Template.Fields))}
	for i, f := range s.opts.Template.Fields {
		t.Fields[i] = templateField(f)
	}
	return pg.answer(r, 1, pageOf([]template{t}, pg))
}

// listQuery reads the parameters of every list: the company it
// requires, then the page.
func (s *Server) listQuery(r *http.Request) (int64, pager, *apiError) {
	raw := r.URL.Query().Get("company")
	if raw == "" {
		return 0, pager{}, invalidField("company", msgRequired)
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || !integerToken.MatchString(raw) {
		return 0, pager{}, invalidField("company", msgInteger)
	}
	if !s.hasCompany(id) {
		return 0, pager{}, invalidField("company", "Invalid pk \"%d\" - object does not exist.", id)
	}
	pg, aerr := newPager(r)
	return id, pg, aerr
}
