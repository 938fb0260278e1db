package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"khomat/archive"
	"khomat/archive/access"
)

// editData is the data of the page that corrects a document's metadata.
type editData struct {
	Doc    archive.Document
	Form   metaForm
	Errors map[string]string
	// Revision is the revision the form was read at; the correction is
	// written only if the document is still at it.
	Revision      uint32
	Compartments  []string // the editor's own
	ProtectionEnd string
	CanReclassify bool
	// Conflict is set when the document changed after the form was read:
	// Changed lists the fields that changed meanwhile, with their current
	// values.
	Conflict bool
	ReadAt   uint32
	Changed  []changedField
}

// changedField is a field that someone else changed while the form was
// open, with the value it has now.
type changedField struct {
	Name, Now string
}

func (d *editData) formValues() metaForm          { return d.Form }
func (d *editData) formErrors() map[string]string { return d.Errors }

// Current is the document being corrected (nil on the upload form, which
// shares the metadata fields).
func (d *editData) Current() *archive.Document { return &d.Doc }

// canEdit reports whether the subject may correct the document's
// metadata: the decision the archive service takes for UpdateMetadata.
func canEdit(s access.Subject, doc *archive.Document) bool {
	return access.Decide(s, access.UpdateMetadata, doc.Resource()).Allow
}

// docForm is the metadata form filled in from a document's metadata, as
// metadata reads it back.
func docForm(m *archive.Metadata) metaForm {
	num := func(n int) string {
		if n == 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	f := metaForm{
		"issuing_body": m.IssuingBody, "number_symbol": m.NumberSymbol, "place_issued": m.PlaceIssued,
		"date_issued": m.DateIssued.StringVI(), "doc_type": string(m.Type), "title": m.Title, "summary": m.Summary,
		"signer_position": m.SignerPosition, "signer_name": m.SignerName,
		"recipients": strings.Join(m.Recipients, "\n"), "level": m.Level.String(), "urgency": m.Urgency.String(),
		"distribution_scope": m.DistributionScope, "pages": num(m.Pages), "copies": num(m.Copies),
		"language": m.Language, "dossier_code": m.DossierCode, "keywords": strings.Join(m.Keywords, ", "),
		"protection_years": num(m.Protection.Years), "protection_since": m.Protection.Since.StringVI(),
		"protection_extension_decision": m.Protection.ExtensionDecision, "state_secret_ref": m.StateSecretRef,
		"compartments": strings.Join(m.Compartments, "\n"), "named_recipients": strings.Join(m.NamedRecipients, "\n"),
		"recall_deadline": m.RecallDeadline.StringVI(),
	}
	switch {
	case m.Retention.Permanent:
		f["retention"] = "permanent"
	case m.Retention.Years > 0:
		f["retention"], f["retention_years"] = "years", strconv.Itoa(m.Retention.Years)
	}
	return f
}

// fixedFields are the metadata fields the edit form shows but does not
// change: the level changes by reclassification, the protection period
// with the level or by a security officer's extension.
var fixedFields = []string{"level", "protection_years", "protection_since", "protection_extension_decision"}

func (w *Web) editView(c *gin.Context, d *editData) *view {
	s := user(c).Subject()
	d.Compartments = s.Compartments
	d.CanReclassify = len(w.reclassTargets(s, &d.Doc)) > 0
	if end, ok := d.Doc.ProtectionEnd(w.rules); ok {
		d.ProtectionEnd = end.StringVI()
	}
	v := w.newView(c, "title.edit", d)
	v.TitleIs = v.T("title.edit") + " " + shortID(d.Doc.ID.String())
	return v
}

// editPage shows the metadata form filled in from the current revision.
// Who may not correct the document is refused here as on submission: the
// archive service decides the same way.
func (w *Web) editPage(c *gin.Context) {
	id, ok := w.docID(c)
	if !ok {
		return
	}
	doc, err := w.docs.Get(c.Request.Context(), actor(c), id)
	if err != nil {
		w.failErr(c, err)
		return
	}
	if !canEdit(user(c).Subject(), &doc) {
		w.fail(c, http.StatusForbidden, "err.forbidden")
		return
	}
	d := &editData{Doc: doc, Form: docForm(&doc.Metadata), Revision: doc.Revision}
	w.render(c, http.StatusOK, "edit", w.editView(c, d))
}

// editSubmit writes the corrected metadata as a new revision, on the
// condition that the document is still at the revision the form was read
// at. A refused form comes back as it was typed, with the messages beside
// the fields; a form overtaken by another change comes back with the
// fields that changed meanwhile, and carries the new revision, so that
// saving again is a decision taken knowingly.
func (w *Web) editSubmit(c *gin.Context) {
	id, ok := w.docID(c)
	if !ok {
		return
	}
	lang := c.GetString(ctxLang)
	rev, err := strconv.ParseUint(c.PostForm("revision"), 10, 32)
	if err != nil || rev == 0 {
		w.fail(c, http.StatusBadRequest, "err.invalid")
		return
	}
	ctx := c.Request.Context()
	cur, err := w.docs.Get(ctx, actor(c), id)
	if err != nil {
		w.failErr(c, err)
		return
	}
	s := user(c).Subject()
	allowed := canEdit(s, &cur)
	f := formFromValues(c.PostFormArray)
	for _, n := range fixedFields {
		delete(f, n)
	}
	f["level"] = cur.Level.String()
	m, errs := w.metadata(f, lang)
	m.Level, m.Protection = cur.Level, cur.Protection
	for n, v := range docForm(&cur.Metadata) {
		if isFixed(n) {
			f[n] = v
		}
	}
	m.Normalize()
	if err := m.Validate(w.now(), w.rules); err != nil {
		addFieldErrors(errs, fieldErrors(err), lang)
	}
	// The editor must still be able to read what they save: a named
	// recipient list without them, or a compartment they lack, is refused.
	if allowed && len(errs) == 0 {
		switch access.Decide(s, access.UpdateMetadata, m.Resource()).Reason {
		case access.ReasonNotNamed:
			errs["named_recipients"] = w.msgs.get(lang, "edit.err.notnamed")
		case access.ReasonCompartment:
			errs["compartments"] = w.msgs.get(lang, "edit.err.compartment")
		}
	}
	status := http.StatusUnprocessableEntity
	// Who may not correct the document is refused by the archive service,
	// which records the denial, whatever the form holds.
	if len(errs) == 0 || !allowed {
		_, err := w.docs.UpdateMetadata(ctx, actor(c), id, m, uint32(rev))
		switch {
		case err == nil:
			c.Redirect(http.StatusSeeOther, w.path("/documents/"+id.String())+"?ok=edited")
			return
		case errors.Is(err, archive.ErrConflict):
			status = http.StatusConflict
		case isInvalid(err):
			addFieldErrors(errs, fieldErrors(err), lang)
		default:
			w.failErr(c, err)
			return
		}
	} else if uint32(rev) != cur.Revision {
		status = http.StatusConflict
	}
	d := &editData{Doc: cur, Form: f, Errors: errs, Revision: uint32(rev)}
	if status == http.StatusConflict {
		if !w.conflict(c, d, uint32(rev)) {
			return
		}
	}
	w.render(c, status, "edit", w.editView(c, d))
}

// conflict fills in what changed since revision rev, and moves the form to
// the document's current revision. It reports false when it has answered
// the request itself.
func (w *Web) conflict(c *gin.Context, d *editData, rev uint32) bool {
	revs, ok := w.revisions(c, d.Doc.ID)
	if !ok {
		return false
	}
	now := revs[len(revs)-1]
	d.Doc, d.Conflict, d.ReadAt, d.Revision = now, true, rev, now.Revision
	nowForm := docForm(&now.Metadata)
	for n, v := range nowForm {
		if isFixed(n) {
			d.Form[n] = v
		}
	}
	for _, r := range revs {
		if r.Revision != rev {
			continue
		}
		was := docForm(&r.Metadata)
		for _, n := range metaFieldNames() {
			if was[n] != nowForm[n] {
				d.Changed = append(d.Changed, changedField{Name: n, Now: nowForm[n]})
			}
		}
	}
	return true
}

func isFixed(name string) bool {
	for _, n := range fixedFields {
		if n == name {
			return true
		}
	}
	return false
}
