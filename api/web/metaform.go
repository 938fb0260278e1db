package web

import (
	"errors"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"khomat/archive"
	"khomat/archive/access"
)

// metaForm is the metadata form as the user filled it in, kept as text so
// that a form with mistakes comes back exactly as it was typed.
type metaForm map[string]string

// Get returns a field's text.
func (f metaForm) Get(name string) string { return f[name] }

// Has reports whether a multi-valued field (one value per line) holds v.
func (f metaForm) Has(name, v string) bool {
	for _, x := range splitList(f[name]) {
		if x == v {
			return true
		}
	}
	return false
}

// metaFieldNames returns the form's fields, in the order of the form.
func metaFieldNames() []string {
	return []string{
		"issuing_body", "number_symbol", "place_issued", "date_issued", "doc_type", "title", "summary",
		"signer_position", "signer_name", "recipients", "level", "urgency", "distribution_scope",
		"pages", "copies", "language", "dossier_code", "keywords", "retention", "retention_years",
		"protection_years", "protection_since", "protection_extension_decision", "state_secret_ref",
		"compartments", "named_recipients", "recall_deadline",
	}
}

// formFromValues collects the metadata fields of a posted form; multi-valued
// fields (checkboxes) are joined one per line.
func formFromValues(get func(string) []string) metaForm {
	f := metaForm{}
	for _, n := range metaFieldNames() {
		if vs := get(n); len(vs) > 0 {
			f[n] = strings.Join(vs, "\n")
		}
	}
	return f
}

// splitList splits a field holding a list: one entry per line, or entries
// separated by commas or semicolons; blanks are dropped.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' || r == ';' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// splitLines splits a field with one entry per line (entries may hold
// commas, as recipients do).
func splitLines(s string) []string {
	var out []string
	for _, p := range strings.Split(s, "\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// metadata reads the form into archive metadata. Values that do not even
// parse (a date that is not dd/mm/yyyy, a number that is not a number) are
// reported by field, with messages in lang; the rest is for
// Metadata.Validate to judge.
func (w *Web) metadata(f metaForm, lang string) (archive.Metadata, map[string]string) {
	errs := map[string]string{}
	bad := func(field, key string) {
		if _, ok := errs[field]; !ok {
			errs[field] = w.msgs.get(lang, key)
		}
	}
	for k, v := range f {
		if !utf8.ValidString(v) {
			bad(k, "err.value")
			f[k] = ""
		}
	}
	m := archive.Metadata{
		IssuingBody: f["issuing_body"], NumberSymbol: f["number_symbol"], PlaceIssued: f["place_issued"],
		Title: f["title"], Summary: strings.ReplaceAll(f["summary"], "\r\n", "\n"),
		SignerPosition: f["signer_position"], SignerName: f["signer_name"],
		Recipients:        splitLines(f["recipients"]),
		DistributionScope: f["distribution_scope"], Language: f["language"], DossierCode: f["dossier_code"],
		Keywords:        splitList(f["keywords"]),
		StateSecretRef:  f["state_secret_ref"],
		Compartments:    splitList(f["compartments"]),
		NamedRecipients: splitList(f["named_recipients"]),
	}
	var err error
	if m.DateIssued, err = parseDateVI(f["date_issued"]); err != nil {
		bad("date_issued", "err.date")
	}
	if m.RecallDeadline, err = parseDateVI(f["recall_deadline"]); err != nil {
		bad("recall_deadline", "err.date")
	}
	if m.Protection.Since, err = parseDateVI(f["protection_since"]); err != nil {
		bad("protection_since", "err.date")
	}
	if v := f["doc_type"]; v != "" {
		if m.Type, err = archive.ParseDocType(v); err != nil {
			bad("doc_type", "err.value")
		}
	}
	if v := f["level"]; v == "" {
		bad("level", "err.required")
	} else if m.Level, err = access.ParseLevel(v); err != nil {
		bad("level", "err.value")
	}
	if m.Urgency, err = access.ParseUrgency(f["urgency"]); err != nil {
		bad("urgency", "err.value")
	}
	num := func(field string) int {
		v := strings.TrimSpace(f[field])
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			bad(field, "err.number")
		}
		return n
	}
	m.Pages, m.Copies = num("pages"), num("copies")
	switch f["retention"] {
	case "":
	case "permanent":
		m.Retention.Permanent = true
	case "years":
		m.Retention.Years = num("retention_years")
		if m.Retention.Years == 0 {
			bad("retention_years", "err.required")
		}
	default:
		bad("retention", "err.value")
	}
	m.Protection.Years = num("protection_years")
	m.Protection.ExtensionDecision = f["protection_extension_decision"]
	return m, errs
}

// historyPrefix matches the prefix of a classification change's field.
var historyPrefix = regexp.MustCompile(`^classification_history\[\d+\]\.`)

// formField maps a FieldError's JSON path to the form field that shows it:
// "keywords[2]" → "keywords", "protection.years" → "protection_years",
// "classification_history[3].decision_ref" → "decision_ref".
func formField(path string) string {
	path = historyPrefix.ReplaceAllString(path, "")
	if i := strings.IndexByte(path, '['); i >= 0 {
		path = path[:i]
	}
	if path == "protection" {
		return "protection_years"
	}
	return strings.ReplaceAll(path, ".", "_")
}

// addFieldErrors puts the messages of fes beside their fields (the first
// message of a field wins).
func addFieldErrors(errs map[string]string, fes []archive.FieldError, lang string) {
	for _, fe := range fes {
		k := formField(fe.Field)
		if _, ok := errs[k]; ok {
			continue
		}
		msg := fe.MessageVI
		if lang == "en" || msg == "" {
			msg = fe.Message
		}
		errs[k] = msg
	}
}

// fieldErrors finds field errors in err's chain: archive.FieldErrors or
// any other error whose type is a slice of archive.FieldError (the identity
// store has its own).
func fieldErrors(err error) []archive.FieldError {
	want := reflect.TypeFor[[]archive.FieldError]()
	var found []archive.FieldError
	var walk func(error) bool
	walk = func(e error) bool {
		if e == nil {
			return false
		}
		if v := reflect.ValueOf(e); v.Kind() == reflect.Slice && v.Type().ConvertibleTo(want) {
			found = v.Convert(want).Interface().([]archive.FieldError)
			return true
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			return walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				if walk(x) {
					return true
				}
			}
		}
		return false
	}
	walk(err)
	return found
}

// isInvalid reports whether err is a validation failure with field errors.
func isInvalid(err error) bool {
	return len(fieldErrors(err)) > 0 || errors.Is(err, archive.ErrInvalidMetadata)
}

// postedForm reads the named fields of a posted form, trimmed.
func postedForm(c *gin.Context, names ...string) metaForm {
	f := metaForm{}
	for _, n := range names {
		f[n] = strings.TrimSpace(c.PostForm(n))
	}
	return f
}

// submitDocForm finishes a form that acts on document id: it marks values
// of f that are not UTF-8 in errs, then, if errs is still empty, runs the
// action. When the action succeeds it goes back to the document page with
// the message okKey and reports false; when the action is refused with
// field errors it adds them to errs and reports true, as it does when errs
// was not empty: the caller shows the form again. Any other failure is
// answered here, and it reports false.
func (w *Web) submitDocForm(c *gin.Context, id archive.ID, okKey string, f metaForm, errs map[string]string, run func() error) bool {
	lang := c.GetString(ctxLang)
	for k, v := range f {
		if !utf8.ValidString(v) {
			errs[k] = w.msgs.get(lang, "err.value")
		}
	}
	if len(errs) > 0 {
		return true
	}
	switch err := run(); {
	case err == nil:
		c.Redirect(http.StatusSeeOther, w.path("/documents/"+id.String())+"?ok="+okKey)
		return false
	case isInvalid(err):
		addFieldErrors(errs, fieldErrors(err), lang)
		return true
	default:
		w.failErr(c, err)
		return false
	}
}
