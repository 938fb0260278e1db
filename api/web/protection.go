package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"khomat/archive"
	"khomat/archive/access"
)

// canExtend reports whether the subject may extend the document's
// protection period today: a security officer who can read it, while the
// period runs.
func (w *Web) canExtend(s access.Subject, doc *archive.Document) bool {
	r := doc.Resource()
	end, ok := doc.ProtectionEnd(w.rules)
	r.ProtectionEnded = !ok || !w.rules.Today(w.now()).Before(end)
	return access.Decide(s, access.ExtendProtection, r).Allow
}

// extendPage sends a GET of the form's address (the language switch of a
// refused form) to the document page, where the form is.
func (w *Web) extendPage(c *gin.Context) {
	id, ok := w.docID(c)
	if !ok {
		return
	}
	c.Redirect(http.StatusSeeOther, w.path("/documents/"+id.String())+"#extend")
}

// extendSubmit extends a document's protection period by the years of
// the security officer's decision. A refused form comes back on the
// document page with the messages beside its fields.
func (w *Web) extendSubmit(c *gin.Context) {
	id, ok := w.docID(c)
	if !ok {
		return
	}
	lang := c.GetString(ctxLang)
	f := postedForm(c, "years", "reason", "decision_ref")
	errs := map[string]string{}
	x := archive.Extension{Reason: strings.ReplaceAll(f["reason"], "\r\n", "\n"), DecisionRef: f["decision_ref"]}
	var err error
	if x.Years, err = strconv.Atoi(f["years"]); err != nil || x.Years < 1 {
		errs["years"] = w.msgs.get(lang, "err.number")
	}
	if f["decision_ref"] == "" {
		errs["decision_ref"] = w.msgs.get(lang, "err.required")
	}
	if !w.submitDocForm(c, id, "extended", f, errs, func() error {
		_, err := w.docs.ExtendProtection(c.Request.Context(), actor(c), id, x)
		return err
	}) {
		return
	}
	w.renderDocument(c, http.StatusUnprocessableEntity, id, f, errs)
}
