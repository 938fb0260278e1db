package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"khomat/archive"
	"khomat/archive/access"
)

// pageNames lists the page templates; each is parsed with layout.html and
// parts.html into its own set.
func pageNames() []string {
	return []string{
		"login", "error", "search", "results", "document", "view", "upload", "uploaded",
		"reclassify", "edit", "version", "audit", "users", "user",
	}
}

func (w *Web) parseTemplates() (map[string]*template.Template, error) {
	pages := make(map[string]*template.Template, len(pageNames()))
	for _, name := range pageNames() {
		t, err := template.New(name).Funcs(templateFuncs()).ParseFS(templateFS,
			"templates/layout.html", "templates/parts.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: parsing template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// templateFuncs are the functions that need no language; the rest are
// methods of view.
func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"stamp":      func(l access.Level) string { return l.Stamp() },
		"stampClass": stampClass,
		"date":       func(d archive.Date) string { return d.StringVI() },
		"size":       humanSize,
		"short":      func(s string) string { return shortID(s) },
		"add":        func(a, b int) int { return a + b },
		"list":       func(s ...string) []string { return s },
		"highlight":  highlight,
		"joinComma":  func(s []string) string { return strings.Join(s, ", ") },
		"joinLines":  func(s []string) string { return strings.Join(s, "\n") },
		"contains": func(list []string, s string) bool {
			for _, v := range list {
				if v == s {
					return true
				}
			}
			return false
		},
	}
}

// stampClass is the CSS class of a level's stamp: its colour.
func stampClass(l access.Level) string {
	switch l {
	case access.Confidential:
		return "stamp stamp-c"
	case access.Secret:
		return "stamp stamp-b"
	case access.TopSecret:
		return "stamp stamp-a"
	}
	return "stamp stamp-u"
}

// highlight shows a search fragment: the words between <mark> and </mark>
// marked, everything else as text, whether the search escaped it or not.
func highlight(fragment string) template.HTML {
	var b strings.Builder
	rest := fragment
	for {
		i := strings.Index(rest, "<mark>")
		if i < 0 {
			b.WriteString(template.HTMLEscapeString(html.UnescapeString(rest)))
			break
		}
		b.WriteString(template.HTMLEscapeString(html.UnescapeString(rest[:i])))
		rest = rest[i+len("<mark>"):]
		j := strings.Index(rest, "</mark>")
		if j < 0 {
			j = len(rest)
		}
		b.WriteString("<mark>" + template.HTMLEscapeString(html.UnescapeString(rest[:j])) + "</mark>")
		rest = rest[min(len(rest), j+len("</mark>")):]
	}
	return template.HTML(b.String())
}

func humanSize(n int64) string {
	switch {
	case n < 1024:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
}

func shortID(s string) string {
	if len(s) > 12 {
		return s[:8] + "…"
	}
	return s
}

// view is what every template receives: the request's language, user and
// CSRF token, what the navigation may show, and the page's own data.
type view struct {
	w       *Web
	Lang    string
	User    *User
	CSRF    string
	TitleIs string // the page title, never a document's title
	Path    string // the current path, for the language links
	Asset   string
	Flash   string
	FlashOK bool
	Nav     nav
	Data    any
}

// nav says which parts of the interface the user may use.
type nav struct {
	Search, Upload, Audit, Users bool
}

func (w *Web) newView(c *gin.Context, titleKey string, data any) *view {
	v := &view{
		w: w, Lang: c.GetString(ctxLang), CSRF: c.GetString(ctxCSRF), Path: c.Request.URL.Path,
		Asset: w.assetVer, Data: data,
	}
	if v.Lang == "" {
		v.Lang = "vi"
	}
	v.TitleIs = v.T(titleKey)
	if u, ok := c.Get(ctxUser); ok {
		uu := u.(User)
		v.User = &uu
		s := uu.Subject()
		v.Nav = nav{
			Search: access.Decide(s, access.List, access.Resource{}).Allow,
			Upload: s.Has(access.Archivist),
			Audit:  access.Decide(s, access.ReadAudit, access.Resource{}).Allow && w.audit != nil,
			Users:  s.Has(access.Admin) && w.users != nil,
		}
	}
	if k := c.Query("ok"); k != "" && w.msgs.has("ok."+k) {
		v.Flash, v.FlashOK = v.T("ok."+k), true
	}
	return v
}

// T returns the message key in the page's language, formatted with args.
func (v *view) T(key string, args ...any) string { return v.w.msgs.get(v.Lang, key, args...) }

// URL returns the absolute path of a route.
func (v *view) URL(p string) string { return v.w.path(p) }

// LevelName, TypeName, RoleName, UrgencyName, ActionName give display
// names in the page's language.
func (v *view) LevelName(l access.Level) string {
	if v.Lang == "en" {
		return l.NameEN()
	}
	return l.NameVI()
}

// TypeName is the display name of a document type.
func (v *view) TypeName(t archive.DocType) string {
	if v.Lang == "en" {
		return t.NameEN()
	}
	return t.NameVI()
}

// RoleName is the display name of a role.
func (v *view) RoleName(r access.Role) string {
	if v.Lang == "en" {
		return r.NameEN()
	}
	return r.NameVI()
}

// UrgencyName is the display name of an urgency.
func (v *view) UrgencyName(u access.Urgency) string {
	if v.Lang == "en" {
		return u.NameEN()
	}
	return u.NameVI()
}

// ActionName is the display name of an audited action code.
func (v *view) ActionName(code string) string {
	if a, err := access.ParseAction(code); err == nil {
		if v.Lang == "en" {
			return a.NameEN()
		}
		return a.NameVI()
	}
	if v.w.msgs.has("action." + code) {
		return v.T("action." + code)
	}
	return code
}

// Time shows an instant as dd/mm/yyyy HH:MM:SS in the archive's time
// zone.
func (v *view) Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(v.w.location()).Format("02/01/2006 15:04:05")
}

// MaxUploadBytes is the largest upload the server takes, so that the
// page's script can refuse a larger file before sending it.
func (v *view) MaxUploadBytes() int64 { return v.w.maxUpload }

// Levels are the four levels, for filters.
func (v *view) Levels() []access.Level { return access.Levels() }

// DocTypes are the known document types.
func (v *view) DocTypes() []archive.DocType { return archive.DocTypes() }

// Roles are the five roles.
func (v *view) Roles() []access.Role { return access.Roles() }

// Urgencies are the four urgencies.
func (v *view) Urgencies() []access.Urgency { return access.Urgencies() }

func (w *Web) location() *time.Location {
	if w.rules.Location != nil {
		return w.rules.Location
	}
	return time.FixedZone("ICT", 7*60*60)
}

// render writes a page. A template error is logged and answered with a
// bare 500: the buffer keeps a half-rendered page from going out.
func (w *Web) render(c *gin.Context, status int, name string, v *view) {
	t, ok := w.pages[name]
	if !ok {
		w.log.Error("no such page template", "request_id", c.GetString(ctxRID), "page", name)
		c.String(http.StatusInternalServerError, "500")
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		w.log.Error("rendering a page", "request_id", c.GetString(ctxRID), "page", name, "err", err)
		c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte("500 — lỗi hệ thống / internal error"))
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// errorData is the data of the error page.
type errorData struct {
	Message string
	Status  int
}

// fail answers with the error page: a status and one message of the
// catalogue, never an error's own text.
func (w *Web) fail(c *gin.Context, status int, msgKey string) {
	v := w.newView(c, "title.error", nil)
	if status == http.StatusNotFound {
		v.TitleIs = v.T("title.notfound")
	}
	v.Data = errorData{Message: v.T(msgKey), Status: status}
	w.render(c, status, "error", v)
	c.Abort()
}

// failErr answers an error from the archive or a backend: not found (the
// same page whether the document is missing or hidden), forbidden,
// conflict, refused by the audit log, or unavailable. Internal text goes
// to the log only.
func (w *Web) failErr(c *gin.Context, err error) {
	switch {
	case errors.Is(err, archive.ErrNotFound), errors.Is(err, ErrNotFound):
		w.fail(c, http.StatusNotFound, "err.notfound")
	case errors.Is(err, archive.ErrForbidden), errors.Is(err, ErrForbidden):
		w.fail(c, http.StatusForbidden, "err.forbidden")
	case errors.Is(err, archive.ErrConflict), errors.Is(err, ErrConflict):
		w.fail(c, http.StatusConflict, "err.conflict")
	case errors.Is(err, archive.ErrAudit):
		w.log.Error("audit log refused an action", "request_id", c.GetString(ctxRID), "err", err)
		w.fail(c, http.StatusServiceUnavailable, "err.audit")
	case errors.Is(err, archive.ErrIntegrity):
		w.log.Error("integrity failure", "request_id", c.GetString(ctxRID), "err", err)
		w.fail(c, http.StatusInternalServerError, "err.integrity")
	case errors.Is(err, ErrUnavailable):
		w.log.Warn("backend unavailable", "request_id", c.GetString(ctxRID), "err", err)
		w.fail(c, http.StatusServiceUnavailable, "err.unavailable")
	case errors.Is(err, archive.ErrInvalidRequest), errors.Is(err, ErrInvalid):
		w.fail(c, http.StatusBadRequest, "err.invalid")
	default:
		w.log.Error("request failed", "request_id", c.GetString(ctxRID), "err", err)
		w.fail(c, http.StatusInternalServerError, "err.internal")
	}
}

// serveStatic serves the embedded stylesheet, script and font. They are
// public and carry no data, so browsers may keep them; the page links them
// with a version parameter that changes with their content.
func (w *Web) serveStatic(c *gin.Context) {
	name := strings.TrimPrefix(path.Clean(c.Param("file")), "/")
	data, err := fs.ReadFile(w.static, name)
	if err != nil || name == "" {
		c.Status(http.StatusNotFound)
		return
	}
	ct := "application/octet-stream"
	switch path.Ext(name) {
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".ttf":
		ct = "font/ttf"
	}
	c.Header("Cache-Control", "public, max-age=86400")
	c.Data(http.StatusOK, ct, data)
}

// assetVersion hashes the static files, so that a new build's assets are
// fetched anew.
func assetVersion(static fs.FS) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		h.Write([]byte(p))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("web: hashing static assets: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// formHolder is page data with a form and its errors.
type formHolder interface {
	formValues() metaForm
	formErrors() map[string]string
}

func (d *uploadData) formValues() metaForm          { return d.Form }
func (d *uploadData) formErrors() map[string]string { return d.Errors }

// Current is nil: the upload form describes a new document.
func (d *uploadData) Current() *archive.Document { return nil }

// fieldView is what the field templates need to show one input.
type fieldView struct {
	Name, Label, Value, Error, Hint string
	Required                        bool
	Max                             int
}

// Field describes one input of the page's form: its label, value, error
// and hint in the page's language.
func (v *view) Field(name string, required bool, max int) fieldView {
	f := fieldView{Name: name, Label: v.T("field." + name), Required: required, Max: max}
	if h, ok := v.Data.(formHolder); ok {
		f.Value = h.formValues()[name]
		f.Error = h.formErrors()[name]
	}
	if v.w.msgs.has("hint." + name) {
		f.Hint = v.T("hint." + name)
	}
	return f
}
