package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/audit"
)

// Bounds of a search.
const (
	maxQueryLen      = 1000
	pageSize         = 20
	maxSearchPages   = 500
	maxSavedSearches = 10000
)

// searchStore keeps posted searches on the server under opaque keys, so
// that the query text never enters a URL, the browser's history or a log
// line. Each search belongs to the user who posted it and lives for ttl.
type searchStore struct {
	ttl time.Duration
	max int

	mu    sync.Mutex
	saved map[string]savedSearch
}

type savedSearch struct {
	owner string
	req   SearchRequest
	at    time.Time
}

func newSearchStore(ttl time.Duration, max int) *searchStore {
	return &searchStore{ttl: ttl, max: max, saved: make(map[string]savedSearch)}
}

func (s *searchStore) put(key, owner string, req SearchRequest, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.saved) >= s.max {
		// Drop what has expired, then the oldest.
		var oldestKey string
		var oldest time.Time
		for k, v := range s.saved {
			if now.Sub(v.at) > s.ttl {
				delete(s.saved, k)
				continue
			}
			if oldestKey == "" || v.at.Before(oldest) {
				oldestKey, oldest = k, v.at
			}
		}
		if len(s.saved) >= s.max {
			delete(s.saved, oldestKey)
		}
	}
	s.saved[key] = savedSearch{owner: owner, req: req, at: now}
}

func (s *searchStore) get(key, owner string, now time.Time) (SearchRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.saved[key]
	if !ok || v.owner != owner {
		return SearchRequest{}, false
	}
	if now.Sub(v.at) > s.ttl {
		delete(s.saved, key)
		return SearchRequest{}, false
	}
	return v.req, true
}

// forget drops every search of owner (at sign-out).
func (s *searchStore) forget(owner string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.saved {
		if v.owner == owner {
			delete(s.saved, k)
		}
	}
}

// searchForm is the search form as shown and as posted.
type searchForm struct {
	Query       string
	Levels      []string // level codes
	Type        string
	IssuingBody string
	From, To    string
	Sort        string
}

// searchData is the data of the search and results pages.
type searchData struct {
	Form     searchForm
	Errors   map[string]string
	Key      string
	Result   *SearchResult
	Page     int
	Pages    int
	Start    int // the number of the page's first hit
	Expired  bool
	Filters  []activeFilter
	Facets   []facetGroup
	Disabled bool // no search backend
}

// activeFilter is a filter in force, shown with a button that removes it.
type activeFilter struct {
	Label string
	Value string // "kind:value" for the refine form
}

// facetGroup is one facet with its values and counts.
type facetGroup struct {
	Kind   string
	Title  string
	Values []facetValue
}

type facetValue struct {
	Label  string
	Value  string // "kind:value"
	Count  int
	Active bool
}

// searchPage shows the empty search form: the home page of cadres.
func (w *Web) searchPage(c *gin.Context) {
	if !may(c, access.List) {
		w.fail(c, http.StatusForbidden, "err.forbidden")
		return
	}
	d := &searchData{Form: searchForm{Sort: "relevance"}, Disabled: w.search == nil}
	w.render(c, http.StatusOK, "search", w.newView(c, "title.search", d))
}

// mayList checks that the user may search, and records and answers a
// denial.
func (w *Web) mayList(c *gin.Context) bool {
	return w.decideAudit(c, access.List, audit.ActionSearch)
}

// searchSubmit reads the posted form, keeps the search under a new key and
// sends the browser to its results (POST, then 303 to a URL that holds only
// the key).
func (w *Web) searchSubmit(c *gin.Context) {
	if !w.mayList(c) {
		return
	}
	f := searchForm{
		Query: strings.TrimSpace(c.PostForm("q")), Levels: c.PostFormArray("level"), Type: c.PostForm("type"),
		IssuingBody: strings.TrimSpace(c.PostForm("issuing_body")), From: strings.TrimSpace(c.PostForm("from")),
		To: strings.TrimSpace(c.PostForm("to")), Sort: c.PostForm("sort"),
	}
	req, errs := w.parseSearchForm(c, f)
	if len(errs) > 0 {
		d := &searchData{Form: f, Errors: errs, Disabled: w.search == nil}
		w.render(c, http.StatusUnprocessableEntity, "search", w.newView(c, "title.search", d))
		return
	}
	w.saveAndShow(c, req)
}

func (w *Web) saveAndShow(c *gin.Context, req SearchRequest) {
	key := w.randomHex(16)
	w.searches.put(key, user(c).ID, req, w.now())
	c.Redirect(http.StatusSeeOther, w.path("/search/r/"+key))
}

// parseSearchForm checks the form; errors are message keys by field.
func (w *Web) parseSearchForm(c *gin.Context, f searchForm) (SearchRequest, map[string]string) {
	lang := c.GetString(ctxLang)
	errs := map[string]string{}
	req := SearchRequest{Query: f.Query, Sort: "relevance", Page: 1, Size: pageSize}
	if !utf8.ValidString(f.Query) || utf8.RuneCountInString(f.Query) > maxQueryLen {
		errs["q"] = w.msgs.get(lang, "search.err.query")
	}
	for _, l := range f.Levels {
		lv, err := access.ParseLevel(l)
		if err != nil {
			errs["level"] = w.msgs.get(lang, "err.value")
			continue
		}
		if !slices.Contains(req.Levels, lv) {
			req.Levels = append(req.Levels, lv)
		}
	}
	if f.Type != "" {
		t, err := archive.ParseDocType(f.Type)
		if err != nil {
			errs["type"] = w.msgs.get(lang, "err.value")
		} else {
			req.Types = []archive.DocType{t}
		}
	}
	if f.IssuingBody != "" {
		if !utf8.ValidString(f.IssuingBody) || utf8.RuneCountInString(f.IssuingBody) > archive.MaxNameLen {
			errs["issuing_body"] = w.msgs.get(lang, "err.value")
		} else {
			req.IssuingBodies = []string{f.IssuingBody}
		}
	}
	var err error
	if req.From, err = parseDateVI(f.From); err != nil {
		errs["from"] = w.msgs.get(lang, "err.date")
	}
	if req.To, err = parseDateVI(f.To); err != nil {
		errs["to"] = w.msgs.get(lang, "err.date")
	}
	if !req.From.IsZero() && !req.To.IsZero() && req.To.Before(req.From) {
		errs["to"] = w.msgs.get(lang, "search.err.range")
	}
	switch f.Sort {
	case "", "relevance":
	case "date", "-date":
		req.Sort = f.Sort
	default:
		errs["sort"] = w.msgs.get(lang, "err.value")
	}
	return req, errs
}

// formOf writes a request back as the form that asks it.
func formOf(req SearchRequest) searchForm {
	f := searchForm{Query: req.Query, From: req.From.StringVI(), To: req.To.StringVI(), Sort: req.Sort}
	for _, l := range req.Levels {
		f.Levels = append(f.Levels, l.String())
	}
	if len(req.Types) > 0 {
		f.Type = string(req.Types[0])
	}
	if len(req.IssuingBodies) > 0 {
		f.IssuingBody = req.IssuingBodies[0]
	}
	return f
}

// searchResults runs the search kept under the key and shows one page of
// it. Every run is audited with the query's keyed hash, never its text.
func (w *Web) searchResults(c *gin.Context) {
	if !w.mayList(c) {
		return
	}
	key := c.Param("key")
	req, ok := w.searches.get(key, user(c).ID, w.now())
	if !ok {
		d := &searchData{Form: searchForm{Sort: "relevance"}, Expired: true, Disabled: w.search == nil}
		w.render(c, http.StatusNotFound, "search", w.newView(c, "title.search", d))
		return
	}
	if w.search == nil {
		w.fail(c, http.StatusServiceUnavailable, "err.nosearch")
		return
	}
	if p := c.Query("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > maxSearchPages {
			w.fail(c, http.StatusBadRequest, "err.invalid")
			return
		}
		req.Page = n
	}
	if err := w.record(c, audit.Event{Action: audit.ActionSearch, Outcome: audit.Allowed, Reason: string(access.ReasonOK),
		QueryHash: w.audit.QueryHasher().Hash(req.Query)}); err != nil {
		w.failErr(c, err)
		return
	}
	res, err := w.search.Search(c.Request.Context(), user(c).Subject(), req)
	if errors.Is(err, ErrInvalidQuery) {
		lang := c.GetString(ctxLang)
		d := &searchData{Form: formOf(req), Errors: map[string]string{"q": w.msgs.get(lang, "search.err.syntax")}}
		w.render(c, http.StatusUnprocessableEntity, "search", w.newView(c, "title.search", d))
		return
	}
	if err != nil {
		w.failErr(c, err)
		return
	}
	v := w.newView(c, "title.results", nil)
	d := &searchData{Form: formOf(req), Key: key, Result: &res, Page: req.Page}
	d.Pages = min(maxSearchPages, (res.Total+pageSize-1)/pageSize)
	d.Start = (req.Page-1)*pageSize + 1
	d.Filters = w.activeFilters(v, req)
	d.Facets = w.facetGroups(v, req, res)
	v.Data = d
	w.render(c, http.StatusOK, "results", v)
}

func (w *Web) activeFilters(v *view, req SearchRequest) []activeFilter {
	var out []activeFilter
	for _, l := range req.Levels {
		out = append(out, activeFilter{Label: v.T("search.level") + ": " + v.LevelName(l), Value: "level:" + l.String()})
	}
	for _, t := range req.Types {
		out = append(out, activeFilter{Label: v.T("search.type") + ": " + v.TypeName(t), Value: "doc_type:" + string(t)})
	}
	for _, b := range req.IssuingBodies {
		out = append(out, activeFilter{Label: v.T("search.issuer") + ": " + b, Value: "issuing_body:" + b})
	}
	if !req.From.IsZero() {
		out = append(out, activeFilter{Label: v.T("search.from") + ": " + req.From.StringVI(), Value: "from:"})
	}
	if !req.To.IsZero() {
		out = append(out, activeFilter{Label: v.T("search.to") + ": " + req.To.StringVI(), Value: "to:"})
	}
	return out
}

func (w *Web) facetGroups(v *view, req SearchRequest, res SearchResult) []facetGroup {
	var out []facetGroup
	for _, kind := range []string{"level", "doc_type", "issuing_body"} {
		counts := res.Facets[kind]
		if len(counts) == 0 {
			continue
		}
		g := facetGroup{Kind: kind, Title: v.T("facet." + kind)}
		for _, fc := range counts {
			fv := facetValue{Label: fc.Value, Value: kind + ":" + fc.Value, Count: fc.Count}
			switch kind {
			case "level":
				l, err := access.ParseLevel(fc.Value)
				if err != nil {
					continue
				}
				fv.Label, fv.Active = v.LevelName(l), slices.Contains(req.Levels, l)
			case "doc_type":
				t := archive.DocType(fc.Value)
				if t.Valid() {
					fv.Label = v.TypeName(t)
				}
				fv.Active = slices.Contains(req.Types, t)
			case "issuing_body":
				fv.Active = slices.Contains(req.IssuingBodies, fc.Value)
			}
			g.Values = append(g.Values, fv)
		}
		out = append(out, g)
	}
	return out
}

// searchRefine adds a facet value to the search, or removes a filter, and
// keeps the result as a new search (the old key still pages the old one).
func (w *Web) searchRefine(c *gin.Context) {
	req, ok := w.searches.get(c.Param("key"), user(c).ID, w.now())
	if !ok {
		c.Redirect(http.StatusSeeOther, w.path("/search"))
		return
	}
	req.Page = 1
	req.Levels = slices.Clone(req.Levels)
	req.Types = slices.Clone(req.Types)
	req.IssuingBodies = slices.Clone(req.IssuingBodies)
	add, remove := c.PostForm("add"), c.PostForm("remove")
	apply := func(spec string, on bool) bool {
		kind, val, found := strings.Cut(spec, ":")
		if !found {
			return false
		}
		switch kind {
		case "level":
			l, err := access.ParseLevel(val)
			if err != nil {
				return false
			}
			req.Levels = toggle(req.Levels, l, on)
		case "doc_type":
			t, err := archive.ParseDocType(val)
			if err != nil {
				return false
			}
			req.Types = toggle(req.Types, t, on)
		case "issuing_body":
			if !utf8.ValidString(val) || utf8.RuneCountInString(val) > archive.MaxNameLen {
				return false
			}
			req.IssuingBodies = toggle(req.IssuingBodies, val, on)
		case "from":
			req.From = archive.Date{}
		case "to":
			req.To = archive.Date{}
		default:
			return false
		}
		return true
	}
	okAdd := add == "" || apply(add, true)
	okRemove := remove == "" || apply(remove, false)
	if !okAdd || !okRemove || (add == "" && remove == "") {
		w.fail(c, http.StatusBadRequest, "err.invalid")
		return
	}
	w.saveAndShow(c, req)
}

func toggle[T comparable](list []T, v T, on bool) []T {
	i := slices.Index(list, v)
	switch {
	case on && i < 0:
		return append(list, v)
	case !on && i >= 0:
		return slices.Delete(list, i, i+1)
	}
	return list
}

// pageURL is the URL of page n of a result.
func (w *Web) pageURL(key string, n int) string {
	return w.path("/search/r/"+key) + "?" + url.Values{"page": {strconv.Itoa(n)}}.Encode()
}

// PageURL is the URL of page n of the results shown.
func (v *view) PageURL(key string, n int) string { return v.w.pageURL(key, n) }

// parseDateVI reads a date as the interface writes it, dd/mm/yyyy (d/m/yyyy
// and dd-mm-yyyy too), or as a date input sends it, yyyy-mm-dd. Empty is the
// zero date.
func parseDateVI(s string) (archive.Date, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return archive.Date{}, nil
	}
	if len(s) == 10 && s[4] == '-' {
		return archive.ParseDate(s)
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '/' || r == '-' || r == '.' })
	if len(parts) != 3 || len(parts[2]) != 4 {
		return archive.Date{}, archive.ErrInvalidDate
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return archive.Date{}, archive.ErrInvalidDate
		}
		n[i] = v
	}
	d := archive.Date{Year: n[2], Month: time.Month(n[1]), Day: n[0]}
	if !d.Valid() {
		return archive.Date{}, archive.ErrInvalidDate
	}
	return d, nil
}

// record appends a non-document event for the request's user, failing
// closed: an error means the action must not happen.
func (w *Web) record(c *gin.Context, e audit.Event) error {
	a := actor(c)
	e.Actor = a.Subject.ID
	e.Roles = a.Subject.Roles
	e.Clearance = a.Subject.Clearance
	e.OrgUnit = a.Subject.OrgUnit
	e.ClientIP = a.ClientAddr
	e.Request = a.RequestID
	if _, err := w.audit.Append(c.Request.Context(), e); err != nil {
		return errors.Join(archive.ErrAudit, err)
	}
	return nil
}
