package web

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"khomat/archive"
	"khomat/archive/access"
)

// versionData is the data of the page that adds a content version: the
// document's versions so far and the upload form.
type versionData struct {
	*documentData
	MaxUpload string
}

// canAddVersion reports whether the subject may add a content version to
// the document: the decision the archive service takes for AddVersion.
func canAddVersion(s access.Subject, doc *archive.Document) bool {
	return access.Decide(s, access.AddVersion, doc.Resource()).Allow
}

// versionPage shows the document's versions and the form that uploads the
// next one (a corrected scan, a signed copy).
func (w *Web) versionPage(c *gin.Context) {
	id, ok := w.docID(c)
	if !ok {
		return
	}
	w.renderVersion(c, http.StatusOK, id, nil)
}

// renderVersion renders the version page with status; errs, when not nil,
// are the messages of a refused upload.
func (w *Web) renderVersion(c *gin.Context, status int, id archive.ID, errs map[string]string) {
	revs, ok := w.revisions(c, id)
	if !ok {
		return
	}
	d := &versionData{documentData: w.documentData(c, revs), MaxUpload: humanSize(w.maxUpload)}
	if !d.CanAddVersion {
		w.fail(c, http.StatusForbidden, "err.forbidden")
		return
	}
	d.Errors = errs
	v := w.newView(c, "title.version", d)
	v.TitleIs = v.T("title.version") + " " + shortID(d.Doc.ID.String())
	w.render(c, status, "version", v)
}

// versionSubmit stores the uploaded file as the document's next version.
// The multipart body streams to the archive as it arrives, under the
// configured size limit, as the upload page's does; its CSRF token must
// come before the file. A refused upload stores nothing and comes back to
// the form with the message beside the file field.
func (w *Web) versionSubmit(c *gin.Context) {
	id, ok := w.docID(c)
	if !ok {
		return
	}
	if !crossSiteOK(c.Request) {
		w.fail(c, http.StatusForbidden, "err.csrf")
		return
	}
	lang := c.GetString(ctxLang)
	refuse := func(status int, key string, args ...any) {
		w.renderVersion(c, status, id, map[string]string{"file": w.msgs.get(lang, key, args...)})
	}
	tooLarge := func() { refuse(http.StatusRequestEntityTooLarge, "upload.err.toolarge", humanSize(w.maxUpload)) }
	mr, ok := w.uploadParts(c, tooLarge)
	if !ok {
		return
	}
	var mbe *http.MaxBytesError
	fields := &partFields{vals: url.Values{}}
	vals := fields.vals
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if errors.As(err, &mbe) {
			tooLarge()
			return
		}
		if err != nil {
			w.uploadBroken(c, err)
			return
		}
		if part.FormName() != "file" {
			if !w.readField(c, fields, part) {
				return
			}
			continue
		}
		// The token comes before the file: nothing is stored for a form
		// another site made.
		if !equalToken(vals.Get(csrfField), c.GetString(ctxCSRF)) {
			part.Close()
			w.fail(c, http.StatusForbidden, "err.csrf")
			return
		}
		content := bufio.NewReader(part)
		if _, err := content.Peek(1); part.FileName() == "" || err != nil {
			part.Close()
			drain(mr)
			switch {
			case errors.As(err, &mbe):
				tooLarge()
			case part.FileName() == "":
				refuse(http.StatusUnprocessableEntity, "upload.err.nofile")
			case err == io.EOF:
				refuse(http.StatusUnprocessableEntity, "version.err.empty")
			default:
				w.uploadBroken(c, err)
			}
			return
		}
		_, err = w.docs.AddVersion(c.Request.Context(), actor(c), id, archive.Upload{
			Content: content, ContentType: contentType(part.Header.Get("Content-Type"), part.FileName()),
		})
		part.Close()
		switch {
		case err == nil:
			drain(mr)
			c.Redirect(http.StatusSeeOther, w.path("/documents/"+id.String())+"?ok=versionadded#versions")
		case errors.As(err, &mbe):
			tooLarge()
		case errors.Is(err, archive.ErrInvalidRequest):
			refuse(http.StatusUnprocessableEntity, "upload.err.failed")
		default:
			w.failErr(c, err)
		}
		return
	}
	if !equalToken(vals.Get(csrfField), c.GetString(ctxCSRF)) {
		w.fail(c, http.StatusForbidden, "err.csrf")
		return
	}
	refuse(http.StatusUnprocessableEntity, "upload.err.nofile")
}
