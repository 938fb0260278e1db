package web

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"khomat/archive"
	"khomat/archive/access"
)

// maxInlineText is how much of a text document the viewer shows.
const maxInlineText = 2 << 20

// docID parses the :id parameter. A malformed id names no document, so it
// gets the same page as a missing one.
func (w *Web) docID(c *gin.Context) (archive.ID, bool) {
	id, err := archive.ParseID(c.Param("id"))
	if err != nil {
		w.fail(c, http.StatusNotFound, "err.notfound")
		return archive.ID{}, false
	}
	return id, true
}

// versionInfo is one content version of a document.
type versionInfo struct {
	Version     uint32
	ContentType string
	Size        int64
	SHA256      string
	At          time.Time
	By          string
}

// copyRow is one entry of the copy register, with what the user may do
// with it.
type copyRow struct {
	archive.CopyRequest
	CanApprove bool
}

// documentData is the data of the document page.
type documentData struct {
	Doc       archive.Document
	Versions  []versionInfo
	Revisions int
	Copies    []copyRow
	Me        string

	ProtectionEnd   string
	CanView         bool
	CanDownload     bool
	NeedsApproval   bool
	HasApproval     bool
	CanRequestCopy  bool
	CanReclassify   bool
	CanRequestDestr bool
	CanApproveDestr bool
	CanCancelDestr  bool
	CanExtend       bool
	CanEdit         bool
	CanAddVersion   bool

	// Extend holds what was typed in the extension form and Errors what
	// is wrong with it, when the form comes back refused.
	Extend metaForm
	Errors map[string]string
}

// documentPage shows a document's metadata, versions, classification
// history and copy register, and the actions the user may take. A
// document the user may not read is "not found", exactly as a missing one.
func (w *Web) documentPage(c *gin.Context) {
	id, ok := w.docID(c)
	if !ok {
		return
	}
	w.renderDocument(c, http.StatusOK, id, nil, nil)
}

// renderDocument renders the document page with status; extend and errs,
// when not nil, are a refused extension form to show again.
func (w *Web) renderDocument(c *gin.Context, status int, id archive.ID, extend metaForm, errs map[string]string) {
	revs, ok := w.revisions(c, id)
	if !ok {
		return
	}
	d := w.documentData(c, revs)
	d.Extend, d.Errors = extend, errs
	v := w.newView(c, "title.document", d)
	v.TitleIs = v.T("title.document") + " " + shortID(d.Doc.ID.String())
	w.render(c, status, "document", v)
}

// revisions reads a document's revisions, oldest first, for the pages
// that show its versions. It reports false when it has answered the
// request: the document is missing or hidden, or cannot be read.
func (w *Web) revisions(c *gin.Context, id archive.ID) ([]archive.Document, bool) {
	revs, err := w.docs.Revisions(c.Request.Context(), actor(c), id)
	if err != nil {
		w.failErr(c, err)
		return nil, false
	}
	if len(revs) == 0 {
		w.fail(c, http.StatusNotFound, "err.notfound")
		return nil, false
	}
	return revs, true
}

// documentData is the document page's data from a document's revisions
// (oldest first, at least one): the current one, the content versions, and
// what the user may do.
func (w *Web) documentData(c *gin.Context, revs []archive.Document) *documentData {
	doc := revs[len(revs)-1]
	d := &documentData{Doc: doc, Revisions: len(revs), Me: user(c).ID}
	seen := map[uint32]bool{}
	for _, r := range revs {
		if seen[r.Version] {
			continue
		}
		seen[r.Version] = true
		at, by := r.UpdatedAt, r.UpdatedBy
		if r.Version == 1 {
			at, by = r.CreatedAt, r.CreatedBy
		}
		d.Versions = append(d.Versions, versionInfo{Version: r.Version, ContentType: r.ContentType, Size: r.Size, SHA256: r.SHA256.String(), At: at, By: by})
	}
	if end, ok := doc.ProtectionEnd(w.rules); ok {
		d.ProtectionEnd = end.StringVI()
	}
	w.allowedActions(c, d)
	return d
}

// copyApprovalFrom is the level from which a download needs an approved
// copy request, as the archive's rules say.
func (w *Web) copyApprovalFrom() access.Level {
	if w.rules.CopyApprovalFrom == access.Unclassified {
		return access.TopSecret
	}
	return w.rules.CopyApprovalFrom
}

// allowedActions works out, with the access policy, which buttons the page
// shows. The server decides again on every action.
func (w *Web) allowedActions(c *gin.Context, d *documentData) {
	s := user(c).Subject()
	doc := &d.Doc
	res := doc.Resource()
	canRead := access.Decide(s, access.Read, res).Allow
	d.CanView = canRead
	d.NeedsApproval = doc.Level >= w.copyApprovalFrom()
	for _, cr := range doc.CopyRegister {
		if cr.By == s.ID && cr.ApprovedBy != "" && cr.TakenAt.IsZero() {
			d.HasApproval = true
		}
		row := copyRow{CopyRequest: cr}
		if cr.ApprovedBy == "" && cr.TakenAt.IsZero() {
			r := res
			r.RequestedBy = cr.By
			row.CanApprove = access.Decide(s, access.ApproveCopy, r).Allow
		}
		d.Copies = append(d.Copies, row)
	}
	dl := res
	dl.CopyApproved = !d.NeedsApproval || d.HasApproval
	d.CanDownload = access.Decide(s, access.Download, dl).Allow
	d.CanRequestCopy = canRead && d.NeedsApproval && !d.HasApproval
	d.CanReclassify = len(w.reclassTargets(s, doc)) > 0
	d.CanExtend = w.canExtend(s, doc)
	d.CanEdit = canEdit(s, doc)
	d.CanAddVersion = canAddVersion(s, doc)
	if doc.Destruction == nil {
		d.CanRequestDestr = access.Decide(s, access.RequestDestruction, res).Allow
	} else {
		r := res
		r.RequestedBy = doc.Destruction.By
		d.CanApproveDestr = access.Decide(s, access.ApproveDestruction, r).Allow
		d.CanCancelDestr = access.Decide(s, access.RequestDestruction, res).Allow &&
			(doc.Destruction.By == s.ID || s.Has(access.SecurityOfficer))
	}
}

// reclassTargets are the levels the subject may move the document to.
func (w *Web) reclassTargets(s access.Subject, doc *archive.Document) []access.Level {
	var out []access.Level
	for _, l := range access.Levels() {
		if l == doc.Level {
			continue
		}
		act := access.RaiseLevel
		if l < doc.Level {
			act = access.LowerLevel
		}
		r := doc.Resource()
		r.Target = l
		if access.Decide(s, act, r).Allow {
			out = append(out, l)
		}
	}
	return out
}

// viewData is the data of the viewer page.
type viewData struct {
	Doc       archive.Document
	Kind      string // "pdf", "image", "text" or "" when the browser cannot show it
	Text      string
	Truncated bool
	Version   uint32
	Viewer    string
	At        time.Time
}

// viewKind says how the viewer shows a content type.
func viewKind(contentType string) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case mt == "application/pdf":
		return "pdf"
	case mt == "image/png", mt == "image/jpeg", mt == "image/gif", mt == "image/webp":
		return "image"
	case strings.HasPrefix(mt, "text/"), mt == "application/json", mt == "application/xml":
		return "text"
	}
	return ""
}

// viewPage shows a document's content in the page: text as text, PDF and
// images in a frame from /content. Reading is audited (access Read), and
// the page shows the level stamp, the reader and the time on the copy on
// screen.
func (w *Web) viewPage(c *gin.Context) {
	id, ok := w.docID(c)
	if !ok {
		return
	}
	ver, ok := w.versionParam(c)
	if !ok {
		return
	}
	doc, err := w.docs.Get(c.Request.Context(), actor(c), id)
	if err != nil {
		w.failErr(c, err)
		return
	}
	d := &viewData{Doc: doc, Version: ver, Viewer: user(c).DisplayName, At: w.now()}
	if d.Viewer == "" {
		d.Viewer = user(c).Username
	}
	ct := doc.ContentType
	if ver != 0 && ver != doc.Version {
		ct = "" // known only once opened
	}
	d.Kind = viewKind(ct)
	if d.Kind == "text" || ct == "" {
		content, err := w.docs.Open(c.Request.Context(), actor(c), id, archive.OpenOptions{Version: ver})
		if err != nil {
			w.failErr(c, err)
			return
		}
		d.Kind = viewKind(content.Doc.ContentType)
		if d.Kind == "text" {
			b, err := io.ReadAll(io.LimitReader(content, maxInlineText+1))
			content.Close()
			if err != nil {
				w.failErr(c, err)
				return
			}
			d.Truncated = len(b) > maxInlineText
			d.Text = strings.ToValidUTF8(string(b[:min(len(b), maxInlineText)]), "\uFFFD")
		} else {
			content.Close()
		}
	}
	v := w.newView(c, "title.view", d)
	v.TitleIs = v.T("title.view") + " " + shortID(doc.ID.String())
	w.render(c, http.StatusOK, "view", v)
}

func (w *Web) versionParam(c *gin.Context) (uint32, bool) {
	v := c.Query("v")
	if v == "" {
		return 0, true
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n == 0 {
		w.fail(c, http.StatusNotFound, "err.notfound")
		return 0, false
	}
	return uint32(n), true
}

// viewContent streams content for the viewer's frame: inline, framed only
// by the interface's own pages, never cached. Reading is audited.
func (w *Web) viewContent(c *gin.Context) {
	w.stream(c, false)
}

// download takes a copy of the document out of the archive: a POST (the
// copy is entered in the copy register), answered with the file as an
// attachment named by id only.
func (w *Web) download(c *gin.Context) {
	w.stream(c, true)
}

func (w *Web) stream(c *gin.Context, download bool) {
	id, ok := w.docID(c)
	if !ok {
		return
	}
	var ver uint32
	if download {
		if v := c.PostForm("v"); v != "" {
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil || n == 0 {
				w.fail(c, http.StatusNotFound, "err.notfound")
				return
			}
			ver = uint32(n)
		}
	} else if ver, ok = w.versionParam(c); !ok {
		return
	}
	content, err := w.docs.Open(c.Request.Context(), actor(c), id, archive.OpenOptions{Version: ver, Download: download})
	if err != nil {
		if download && errors.Is(err, archive.ErrForbidden) {
			w.fail(c, http.StatusForbidden, "err.copyneeded")
			return
		}
		w.failErr(c, err)
		return
	}
	defer content.Close()
	h := c.Writer.Header()
	ct := content.Doc.ContentType
	disposition := "attachment"
	if !download {
		disposition = "inline"
		if viewKind(ct) == "" || viewKind(ct) == "text" {
			// Only what the viewer frames is served inline; text is
			// shown as text by the viewer page itself.
			ct = "application/octet-stream"
			disposition = "attachment"
		}
		h.Set("X-Frame-Options", "SAMEORIGIN")
		h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; frame-ancestors 'self'")
	} else {
		h.Set("Content-Security-Policy", "default-src 'none'; sandbox; frame-ancestors 'none'")
	}
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": id.String() + extension(content.Doc.ContentType)}))
	h.Set("Content-Length", strconv.FormatInt(content.Length, 10))
	h.Set("Cache-Control", "no-store")
	c.Status(http.StatusOK)
	if _, err := io.Copy(c.Writer, content); err != nil {
		// The headers are out: cut the connection so that the browser
		// cannot take a truncated or unverified file for the whole.
		w.log.Error("streaming content failed", "request_id", c.GetString(ctxRID), "doc_id", id.String(), "err", err)
		panic(http.ErrAbortHandler)
	}
}

// extension is the file name extension of a content type, from a fixed
// list so that the answer does not depend on the host's MIME tables.
func extension(contentType string) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "application/pdf":
		return ".pdf"
	case "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
		return ".docx"
	case "application/msword":
		return ".doc"
	case "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
		return ".xlsx"
	case "application/vnd.oasis.opendocument.text":
		return ".odt"
	case "text/plain":
		return ".txt"
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/tiff":
		return ".tif"
	case "application/zip":
		return ".zip"
	}
	return ".bin"
}

// docAction runs a POSTed action on a document and goes back to its page
// with a message.
func (w *Web) docAction(c *gin.Context, okKey string, run func(id archive.ID) error) {
	id, ok := w.docID(c)
	if !ok {
		return
	}
	if err := run(id); err != nil {
		w.failErr(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, w.path("/documents/"+id.String())+"?ok="+okKey)
}

func (w *Web) requestCopy(c *gin.Context) {
	reason := strings.TrimSpace(c.PostForm("reason"))
	if !utf8.ValidString(reason) || utf8.RuneCountInString(reason) > archive.MaxReasonLen {
		w.fail(c, http.StatusBadRequest, "err.invalid")
		return
	}
	w.docAction(c, "copyrequested", func(id archive.ID) error {
		_, err := w.docs.RequestCopy(c.Request.Context(), actor(c), id, reason)
		return err
	})
}

func (w *Web) approveCopy(c *gin.Context) {
	req := c.Param("req")
	if len(req) > 64 {
		w.fail(c, http.StatusNotFound, "err.notfound")
		return
	}
	w.docAction(c, "copyapproved", func(id archive.ID) error {
		_, err := w.docs.ApproveCopy(c.Request.Context(), actor(c), id, req)
		return err
	})
}

func (w *Web) requestDestruction(c *gin.Context) {
	reason := strings.TrimSpace(c.PostForm("reason"))
	ref := strings.TrimSpace(c.PostForm("decision_ref"))
	if !utf8.ValidString(reason+ref) || utf8.RuneCountInString(reason) > archive.MaxReasonLen || utf8.RuneCountInString(ref) > archive.MaxDecisionRefLen {
		w.fail(c, http.StatusBadRequest, "err.invalid")
		return
	}
	w.docAction(c, "destrrequested", func(id archive.ID) error {
		_, err := w.docs.RequestDestruction(c.Request.Context(), actor(c), id, reason, ref)
		return err
	})
}

func (w *Web) cancelDestruction(c *gin.Context) {
	w.docAction(c, "destrcancelled", func(id archive.ID) error {
		_, err := w.docs.CancelDestruction(c.Request.Context(), actor(c), id)
		return err
	})
}

func (w *Web) approveDestruction(c *gin.Context) {
	id, ok := w.docID(c)
	if !ok {
		return
	}
	if err := w.docs.ApproveDestruction(c.Request.Context(), actor(c), id); err != nil {
		w.failErr(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, w.path("/")+"?ok=destroyed")
}
