package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"khomat/archive"
	"khomat/archive/access"
)

// reclassifyData is the data of the reclassification page.
type reclassifyData struct {
	Doc     archive.Document
	Targets []access.Level
	Form    metaForm
	Errors  map[string]string
}

func (w *Web) reclassifyView(c *gin.Context, doc archive.Document, f metaForm, errs map[string]string) *view {
	d := &reclassifyData{Doc: doc, Targets: w.reclassTargets(user(c).Subject(), &doc), Form: f, Errors: errs}
	v := w.newView(c, "title.reclassify", d)
	v.TitleIs = v.T("title.reclassify") + " " + shortID(doc.ID.String())
	return v
}

// reclassifyPage shows the form that raises or lowers a document's level:
// only the levels the user may move it to are offered (archivists raise,
// security officers lower or declassify).
func (w *Web) reclassifyPage(c *gin.Context) {
	id, ok := w.docID(c)
	if !ok {
		return
	}
	doc, err := w.docs.Get(c.Request.Context(), actor(c), id)
	if err != nil {
		w.failErr(c, err)
		return
	}
	v := w.reclassifyView(c, doc, metaForm{}, nil)
	if len(v.Data.(*reclassifyData).Targets) == 0 {
		w.fail(c, http.StatusForbidden, "err.forbidden")
		return
	}
	w.render(c, http.StatusOK, "reclassify", v)
}

// reclassifySubmit changes the level with its reason and the decision it
// rests on.
func (w *Web) reclassifySubmit(c *gin.Context) {
	id, ok := w.docID(c)
	if !ok {
		return
	}
	lang := c.GetString(ctxLang)
	f := postedForm(c, "level", "reason", "decision_ref", "state_secret_ref", "protection_years")
	errs := map[string]string{}
	r := archive.Reclassification{Reason: strings.ReplaceAll(f["reason"], "\r\n", "\n"), DecisionRef: f["decision_ref"], StateSecretRef: f["state_secret_ref"]}
	lv, err := access.ParseLevel(f["level"])
	if err != nil {
		errs["level"] = w.msgs.get(lang, "err.required")
	}
	r.To = lv
	if f["decision_ref"] == "" {
		errs["decision_ref"] = w.msgs.get(lang, "err.required")
	}
	if f["reason"] == "" {
		errs["reason"] = w.msgs.get(lang, "err.required")
	}
	if v := f["protection_years"]; v != "" {
		if r.ProtectionYears, err = strconv.Atoi(v); err != nil || r.ProtectionYears < 0 {
			errs["protection_years"] = w.msgs.get(lang, "err.number")
		}
	}
	if !w.submitDocForm(c, id, "reclassified", f, errs, func() error {
		_, err := w.docs.Reclassify(c.Request.Context(), actor(c), id, r)
		return err
	}) {
		return
	}
	doc, err := w.docs.Get(c.Request.Context(), actor(c), id)
	if err != nil {
		w.failErr(c, err)
		return
	}
	w.render(c, http.StatusUnprocessableEntity, "reclassify", w.reclassifyView(c, doc, f, errs))
}
