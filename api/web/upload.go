package web

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"khomat/archive"
	"khomat/archive/access"
)

// Bounds of the form fields of an upload (everything but the files).
const (
	maxFieldBytes  = 256 << 10
	maxFieldsBytes = 2 << 20
	maxFields      = 500
)

// uploadData is the data of the upload page.
type uploadData struct {
	Form         metaForm
	Errors       map[string]string
	Levels       []access.Level // the levels the uploader may use
	Compartments []string       // the uploader's own
	MaxUpload    string
	Refiled      bool // the form came back: the files must be chosen again
}

// uploadedData is the data of the bulk upload result page.
type uploadedData struct {
	Files []uploadedFile
	OK    int
}

type uploadedFile struct {
	N     int
	Name  string
	ID    string
	Level access.Level
	Error string
}

func (w *Web) canUpload(c *gin.Context) bool {
	return user(c).Subject().Has(access.Archivist)
}

// creatableLevels are the levels at which the user may create documents.
func creatableLevels(s access.Subject) []access.Level {
	var out []access.Level
	for _, l := range access.Levels() {
		if access.Decide(s, access.Create, access.Resource{Level: l}).Allow {
			out = append(out, l)
		}
	}
	return out
}

func (w *Web) uploadView(c *gin.Context, f metaForm, errs map[string]string) *view {
	s := user(c).Subject()
	d := &uploadData{
		Form: f, Errors: errs, Levels: creatableLevels(s), Compartments: s.Compartments,
		MaxUpload: humanSize(w.maxUpload), Refiled: errs != nil,
	}
	return w.newView(c, "title.upload", d)
}

// uploadPage shows the upload form.
func (w *Web) uploadPage(c *gin.Context) {
	if !w.canUpload(c) {
		w.fail(c, http.StatusForbidden, "err.forbidden")
		return
	}
	f := metaForm{"urgency": "none", "language": "vi"}
	w.render(c, http.StatusOK, "upload", w.uploadView(c, f, nil))
}

// uploadSubmit reads the multipart form as a stream: the metadata fields
// first, then each file, which goes to the archive as it arrives, never
// held whole in memory or on disk. One file leads to its document page;
// several (a bulk upload, sharing the metadata, each with its own title)
// to a list of what was stored.
func (w *Web) uploadSubmit(c *gin.Context) {
	if !w.canUpload(c) {
		w.fail(c, http.StatusForbidden, "err.forbidden")
		return
	}
	if !crossSiteOK(c.Request) {
		w.fail(c, http.StatusForbidden, "err.csrf")
		return
	}
	lang := c.GetString(ctxLang)
	mr, ok := w.uploadParts(c, func() { w.fail(c, http.StatusRequestEntityTooLarge, "err.toolarge") })
	if !ok {
		return
	}
	fields := &partFields{vals: url.Values{}}
	vals := fields.vals
	var (
		base    archive.Metadata
		form    metaForm
		files   []uploadedFile
		checked bool
	)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
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
		if !checked {
			// The token comes before any file: nothing is stored for a
			// form another site made.
			if !equalToken(vals.Get(csrfField), c.GetString(ctxCSRF)) {
				part.Close()
				w.fail(c, http.StatusForbidden, "err.csrf")
				return
			}
			form = formFromValues(func(n string) []string { return vals[n] })
			var errs map[string]string
			base, errs = w.metadata(form, lang)
			if part.FileName() == "" {
				errs["file"] = w.msgs.get(lang, "upload.err.nofile")
			}
			// Judge the shared metadata before a byte of the first
			// file is stored, with that file's title.
			m := base
			m.Title = fileTitle(vals, form, len(files), part.FileName())
			m.Normalize()
			if err := m.Validate(w.now(), w.rules); err != nil {
				addFieldErrors(errs, fieldErrors(err), lang)
			}
			if len(errs) == 0 {
				if d := access.Decide(user(c).Subject(), access.Create, m.Resource()); !d.Allow {
					errs["level"] = w.msgs.get(lang, "upload.err.level")
				}
			}
			if len(errs) > 0 {
				part.Close()
				drain(mr)
				w.render(c, http.StatusUnprocessableEntity, "upload", w.uploadView(c, form, errs))
				return
			}
			checked = true
		}
		n := len(files)
		f := uploadedFile{N: n + 1, Name: displayName(part.FileName())}
		if part.FileName() == "" {
			// An empty file input: the browser sends an empty part.
			part.Close()
			continue
		}
		m := base
		m.Title = fileTitle(vals, form, n, part.FileName())
		doc, err := w.docs.Create(c.Request.Context(), actor(c), m, archive.Upload{Content: part, ContentType: contentType(part.Header.Get("Content-Type"), part.FileName())})
		part.Close()
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			files = append(files, uploadedFile{N: n + 1, Name: f.Name, Error: w.msgs.get(lang, "err.toolarge")})
			w.renderUploaded(c, files)
			return
		case err != nil && isInvalid(err):
			errs := map[string]string{}
			addFieldErrors(errs, fieldErrors(err), lang)
			f.Error = w.fieldSummary(errs, lang)
		case errors.Is(err, archive.ErrForbidden):
			f.Error = w.msgs.get(lang, "upload.err.level")
		case errors.Is(err, archive.ErrAudit):
			w.failErr(c, err)
			return
		case err != nil:
			w.log.Error("upload failed", "request_id", c.GetString(ctxRID), "err", err)
			f.Error = w.msgs.get(lang, "upload.err.failed")
		default:
			f.ID, f.Level = doc.ID.String(), doc.Level
		}
		files = append(files, f)
	}
	switch {
	case !checked:
		// No file part at all.
		if !equalToken(vals.Get(csrfField), c.GetString(ctxCSRF)) {
			w.fail(c, http.StatusForbidden, "err.csrf")
			return
		}
		form = formFromValues(func(n string) []string { return vals[n] })
		_, errs := w.metadata(form, lang)
		errs["file"] = w.msgs.get(lang, "upload.err.nofile")
		w.render(c, http.StatusUnprocessableEntity, "upload", w.uploadView(c, form, errs))
	case len(files) == 1 && files[0].ID != "":
		c.Redirect(http.StatusSeeOther, w.path("/documents/"+files[0].ID)+"?ok=uploaded")
	default:
		w.renderUploaded(c, files)
	}
}

// uploadParts opens an upload's multipart body as a stream, bounded by the
// upload limit; tooLarge answers a body that declares more. It reports
// false when it has answered the request.
func (w *Web) uploadParts(c *gin.Context, tooLarge func()) (*multipart.Reader, bool) {
	if c.Request.ContentLength > w.maxUpload+maxFieldsBytes {
		tooLarge()
		return nil, false
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, w.maxUpload+maxFieldsBytes)
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		w.fail(c, http.StatusBadRequest, "err.invalid")
		return nil, false
	}
	mr, err := c.Request.MultipartReader()
	if err != nil {
		w.fail(c, http.StatusBadRequest, "err.invalid")
		return nil, false
	}
	return mr, true
}

// partFields are the text fields of a streamed multipart form read so
// far, and their size.
type partFields struct {
	vals  url.Values
	bytes int
}

// readField reads a text part into f, within the bounds of an upload
// form's fields. It reports false when it has answered the request: the
// part could not be read, or the fields are too many or too large.
func (w *Web) readField(c *gin.Context, f *partFields, part *multipart.Part) bool {
	defer part.Close()
	if len(f.vals) >= maxFields {
		w.fail(c, http.StatusRequestEntityTooLarge, "err.toolarge")
		return false
	}
	b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
	if err != nil {
		w.uploadBroken(c, err)
		return false
	}
	f.bytes += len(b)
	if len(b) > maxFieldBytes || f.bytes > maxFieldsBytes {
		w.fail(c, http.StatusRequestEntityTooLarge, "err.toolarge")
		return false
	}
	f.vals.Add(part.FormName(), string(b))
	return true
}

func (w *Web) renderUploaded(c *gin.Context, files []uploadedFile) {
	d := &uploadedData{Files: files}
	for _, f := range files {
		if f.ID != "" {
			d.OK++
		}
	}
	status := http.StatusOK
	if d.OK < len(files) {
		status = http.StatusUnprocessableEntity
	}
	w.render(c, status, "uploaded", w.newView(c, "title.uploaded", d))
}

// fieldSummary joins field errors into one line for the bulk result list.
func (w *Web) fieldSummary(errs map[string]string, lang string) string {
	var parts []string
	for _, n := range append([]string{"file"}, metaFieldNames()...) {
		if msg, ok := errs[n]; ok {
			parts = append(parts, w.msgs.get(lang, "field."+n)+": "+msg)
		}
	}
	if len(parts) == 0 {
		return w.msgs.get(lang, "upload.err.failed")
	}
	return strings.Join(parts, "; ")
}

// uploadBroken answers a body that could not be read: cut off, or over the
// size limit.
func (w *Web) uploadBroken(c *gin.Context, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		w.fail(c, http.StatusRequestEntityTooLarge, "err.toolarge")
		return
	}
	w.log.Info("upload body unreadable", "request_id", c.GetString(ctxRID), "err", err)
	w.fail(c, http.StatusBadRequest, "err.invalid")
}

// drain reads the rest of a refused upload, so that the browser, still
// sending, receives the answer rather than a reset connection. The
// request's size limit bounds it.
func drain(mr *multipart.Reader) {
	for {
		p, err := mr.NextPart()
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, p)
		p.Close()
	}
}

// fileTitle is the title of the n-th file (from 0): its own title field
// ("title_<n>", which the page's script adds for each chosen file), the
// shared title, or, failing both, the file's name without its extension.
func fileTitle(vals url.Values, f metaForm, n int, filename string) string {
	if t := strings.TrimSpace(vals.Get(fmt.Sprintf("title_%d", n))); t != "" {
		return t
	}
	if t := strings.TrimSpace(f["title"]); t != "" {
		return t
	}
	name := displayName(filename)
	return strings.TrimSpace(strings.TrimSuffix(name, path.Ext(name)))
}

// displayName keeps a client's file name only when it is plain text: no
// folders, no control characters.
func displayName(name string) string {
	if !utf8.ValidString(name) || len(name) > 255 {
		return ""
	}
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	if name == "." || name == "/" || strings.IndexFunc(name, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) >= 0 {
		return ""
	}
	return name
}

// contentType is the media type of an uploaded file: what the browser
// said, or, when it said nothing useful, what the extension says from a
// fixed list.
func contentType(declared, filename string) string {
	if mt, params, err := mime.ParseMediaType(declared); err == nil && mt != "application/octet-stream" && len(declared) <= archive.MaxContentTypeLen {
		return mime.FormatMediaType(mt, params)
	}
	switch strings.ToLower(path.Ext(displayName(filename))) {
	case ".pdf":
		return "application/pdf"
	case ".txt":
		return "text/plain; charset=utf-8"
	case ".docx":
		return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	case ".doc":
		return "application/msword"
	case ".xlsx":
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	case ".odt":
		return "application/vnd.oasis.opendocument.text"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".png":
		return "image/png"
	case ".tif", ".tiff":
		return "image/tiff"
	case ".zip":
		return "application/zip"
	}
	return "application/octet-stream"
}
