package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/store"
)

// docID parses the :id parameter. A malformed id names no document, so it
// gets the same 404 as a missing one.
func (s *Server) docID(c *gin.Context) (archive.ID, bool) {
	id, err := archive.ParseID(c.Param("id"))
	if err != nil {
		fail(c, http.StatusNotFound, CodeNotFound)
		return archive.ID{}, false
	}
	return id, true
}

// notFound answers a document the caller may not read exactly as a missing
// one, and counts the denial.
func (s *Server) docError(c *gin.Context, err error) {
	if errors.Is(err, archive.ErrNotFound) {
		s.metrics.denials.WithLabelValues(c.FullPath()).Inc()
	}
	s.failErr(c, err)
}

// createDocument stores a new document from a multipart upload: a
// "metadata" part (JSON) and then a "file" part, streamed to the archive
// without being held in memory.
func (s *Server) createDocument(c *gin.Context) {
	mr, ok := s.multipart(c)
	if !ok {
		return
	}
	part, err := mr.NextPart()
	if err != nil {
		s.uploadFailed(c, err, CodeInvalidMultipart)
		return
	}
	if part.FormName() != "metadata" {
		part.Close()
		s.metrics.uploads.WithLabelValues("rejected").Inc()
		fail(c, http.StatusBadRequest, CodeMissingMetadata)
		return
	}
	raw, err := io.ReadAll(io.LimitReader(part, s.maxJSON+1))
	part.Close()
	if err != nil {
		s.uploadFailed(c, err, CodeInvalidMultipart)
		return
	}
	if int64(len(raw)) > s.maxJSON {
		s.metrics.uploads.WithLabelValues("rejected").Inc()
		fail(c, http.StatusRequestEntityTooLarge, CodeTooLarge)
		return
	}
	m, p := decodeMetadata(c, raw, true)
	if p != nil {
		s.metrics.uploads.WithLabelValues("rejected").Inc()
		abort(c, *p)
		return
	}
	file, ok := s.filePart(c, mr)
	if !ok {
		return
	}
	doc, err := s.docs.Create(c.Request.Context(), s.actor(c), m, file.upload())
	if err != nil {
		s.uploadError(c, file, err)
		return
	}
	s.metrics.uploads.WithLabelValues("ok").Inc()
	s.metrics.uploadBytes.Add(float64(doc.Size))
	c.Header("Location", "/api/v1/documents/"+doc.ID.String())
	c.JSON(http.StatusCreated, doc)
}

// addVersion stores new content as the next version: a multipart body with
// one "file" part.
func (s *Server) addVersion(c *gin.Context) {
	id, ok := s.docID(c)
	if !ok {
		return
	}
	mr, ok := s.multipart(c)
	if !ok {
		return
	}
	file, ok := s.filePart(c, mr)
	if !ok {
		return
	}
	doc, err := s.docs.AddVersion(c.Request.Context(), s.actor(c), id, file.upload())
	if err != nil {
		s.uploadError(c, file, err)
		return
	}
	s.metrics.uploads.WithLabelValues("ok").Inc()
	s.metrics.uploadBytes.Add(float64(doc.Size))
	c.JSON(http.StatusCreated, doc)
}

// multipart opens the request's multipart reader.
func (s *Server) multipart(c *gin.Context) (*multipart.Reader, bool) {
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		s.metrics.uploads.WithLabelValues("rejected").Inc()
		fail(c, http.StatusUnsupportedMediaType, CodeUnsupportedMedia)
		return nil, false
	}
	mr, err := c.Request.MultipartReader()
	if err != nil {
		s.metrics.uploads.WithLabelValues("rejected").Inc()
		fail(c, http.StatusBadRequest, CodeInvalidMultipart)
		return nil, false
	}
	return mr, true
}

// filePart reads up to the "file" part and checks its name and type.
func (s *Server) filePart(c *gin.Context, mr *multipart.Reader) (*uploadReader, bool) {
	part, err := mr.NextPart()
	if err == io.EOF {
		s.metrics.uploads.WithLabelValues("rejected").Inc()
		fail(c, http.StatusBadRequest, CodeMissingFile)
		return nil, false
	}
	if err != nil {
		s.uploadFailed(c, err, CodeInvalidMultipart)
		return nil, false
	}
	if part.FormName() != "file" {
		part.Close()
		s.metrics.uploads.WithLabelValues("rejected").Inc()
		fail(c, http.StatusBadRequest, CodeMissingFile)
		return nil, false
	}
	if !safeFilename(rawFilename(part)) {
		part.Close()
		s.metrics.uploads.WithLabelValues("rejected").Inc()
		fail(c, http.StatusBadRequest, CodeInvalidFilename)
		return nil, false
	}
	ct := part.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || len(ct) > archive.MaxContentTypeLen {
		part.Close()
		s.metrics.uploads.WithLabelValues("rejected").Inc()
		fail(c, http.StatusBadRequest, CodeUnsupportedMedia)
		return nil, false
	}
	return &uploadReader{part: part, mr: mr, limit: s.maxUpload, contentType: mime.FormatMediaType(mt, params)}, true
}

// uploadReader streams the file part to the archive. It reports io.EOF only
// once the multipart body has ended properly after the part: a body cut
// off, a part too many or a file over the limit is an error instead, and
// the archive then discards what it wrote, so nothing half-uploaded is
// ever committed.
type uploadReader struct {
	part        *multipart.Part
	mr          *multipart.Reader
	limit       int64
	n           int64
	contentType string
	err         error // what made the upload fail, for the response
}

var (
	errTooLarge     = errors.New("api: upload over the size limit")
	errTrailingPart = errors.New("api: a part after the file part")
)

func (u *uploadReader) Read(p []byte) (int, error) {
	if u.err != nil {
		return 0, u.err
	}
	if int64(len(p)) > u.limit-u.n+1 {
		p = p[:u.limit-u.n+1]
	}
	n, err := u.part.Read(p)
	u.n += int64(n)
	if u.n > u.limit {
		u.err = errTooLarge
		return 0, u.err
	}
	if err == io.EOF {
		next, nerr := u.mr.NextPart()
		switch {
		case nerr == io.EOF:
			return n, io.EOF
		case nerr == nil:
			next.Close()
			u.err = errTrailingPart
		default:
			u.err = fmt.Errorf("api: reading the upload: %w", nerr)
		}
		return n, u.err
	}
	if err != nil {
		u.err = fmt.Errorf("api: reading the upload: %w", err)
		return n, u.err
	}
	return n, nil
}

func (u *uploadReader) upload() archive.Upload {
	return archive.Upload{Content: u, ContentType: u.contentType}
}

// uploadError answers a failed create or new version: the archive's own
// errors as usual, and a failure of the upload itself (cut off, too large)
// as the client's fault.
func (s *Server) uploadError(c *gin.Context, u *uploadReader, err error) {
	if u.err != nil && !errors.Is(err, archive.ErrAudit) && !errors.Is(err, archive.ErrForbidden) && !errors.Is(err, archive.ErrNotFound) {
		s.uploadFailed(c, u.err, CodeInvalidMultipart)
		return
	}
	s.metrics.uploads.WithLabelValues("failed").Inc()
	s.docError(c, err)
}

// uploadFailed answers an upload the client broke.
func (s *Server) uploadFailed(c *gin.Context, err error, code string) {
	s.metrics.uploads.WithLabelValues("rejected").Inc()
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, errTooLarge), errors.As(err, &mbe):
		fail(c, http.StatusRequestEntityTooLarge, CodeTooLarge)
	default:
		s.log.Info("upload rejected", "request_id", requestID(c), "err", err)
		fail(c, http.StatusBadRequest, code)
	}
}

// rawFilename is the file name as the client sent it (Part.FileName strips
// the path, which would hide a traversal attempt).
func rawFilename(p *multipart.Part) string {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return "\x00" // unparseable: refused
	}
	return params["filename"]
}

// safeFilename accepts a client's file name only when it is a plain name:
// no path, no control characters, valid UTF-8. The name is not stored (a
// file name may reveal what a classified title would), but a name that
// tries to climb folders says the client is broken or hostile.
func safeFilename(name string) bool {
	if name == "" {
		return true
	}
	if len(name) > 255 || !utf8.ValidString(name) || name == "." || name == ".." {
		return false
	}
	if strings.ContainsAny(name, `/\:`) || strings.Contains(name, "..") {
		return false
	}
	return strings.IndexFunc(name, func(r rune) bool { return unicode.IsControl(r) || r == utf8.RuneError }) < 0
}

// decodeMetadata reads metadata JSON strictly: valid UTF-8, known fields
// only, and, for a new document, title, level and doc_type present (a
// missing level must not default to unclassified).
func decodeMetadata(c *gin.Context, raw []byte, requireFields bool) (archive.Metadata, *Problem) {
	if !utf8.Valid(raw) {
		p := newProblem(c, http.StatusBadRequest, CodeInvalidUTF8)
		return archive.Metadata{}, &p
	}
	var present map[string]json.RawMessage
	if err := json.Unmarshal(raw, &present); err != nil {
		p := newProblem(c, http.StatusBadRequest, CodeInvalidJSON)
		return archive.Metadata{}, &p
	}
	if requireFields {
		var fes archive.FieldErrors
		for _, f := range []string{"title", "level", "doc_type"} {
			if v, ok := present[f]; !ok || string(v) == "null" || string(v) == `""` {
				fes = append(fes, archive.FieldError{Field: f, Code: archive.CodeRequired, Message: "is required", MessageVI: "là bắt buộc"})
			}
		}
		if len(fes) > 0 {
			p := fieldsProblem(c, fes)
			return archive.Metadata{}, &p
		}
	}
	var m archive.Metadata
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		p := jsonProblem(c, err)
		return archive.Metadata{}, &p
	}
	if dec.More() {
		p := newProblem(c, http.StatusBadRequest, CodeInvalidJSON)
		return archive.Metadata{}, &p
	}
	return m, nil
}

// jsonProblem explains a JSON decoding error without quoting the input: an
// unknown level, role or date names its field.
func jsonProblem(c *gin.Context, err error) Problem {
	var ute *json.UnmarshalTypeError
	var mbe *http.MaxBytesError
	field := ""
	switch {
	case errors.As(err, &mbe):
		return newProblem(c, http.StatusRequestEntityTooLarge, CodeTooLarge)
	case errors.As(err, &ute):
		field = ute.Field
	case errors.Is(err, access.ErrUnknownLevel):
		field = "level"
	case errors.Is(err, access.ErrUnknownRole):
		field = "roles"
	case errors.Is(err, access.ErrUnknownUrgency):
		field = "urgency"
	case errors.Is(err, archive.ErrInvalidDate):
		field = "date"
	case errors.Is(err, archive.ErrInvalidID):
		field = "id"
	}
	if field == "" {
		return newProblem(c, http.StatusBadRequest, CodeInvalidJSON)
	}
	p := newProblem(c, http.StatusUnprocessableEntity, CodeInvalidMetadata)
	d := "giá trị không hợp lệ"
	if english(c.Request) {
		d = "invalid value"
	}
	p.Errors = []FieldProblem{{Field: field, Code: archive.CodeInvalid, Detail: d}}
	return p
}

// decodeJSON reads a JSON body strictly into v.
func decodeJSON(c *gin.Context, v any) bool {
	if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || (mt != "application/json" && mt != "application/merge-patch+json") {
		fail(c, http.StatusUnsupportedMediaType, CodeUnsupportedMedia)
		return false
	}
	raw, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			fail(c, http.StatusRequestEntityTooLarge, CodeTooLarge)
			return false
		}
		fail(c, http.StatusBadRequest, CodeBadRequest)
		return false
	}
	if !utf8.Valid(raw) {
		fail(c, http.StatusBadRequest, CodeInvalidUTF8)
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil || dec.More() {
		if err == nil {
			err = errors.New("trailing data")
		}
		abort(c, jsonProblem(c, err))
		return false
	}
	return true
}

func (s *Server) getDocument(c *gin.Context) {
	id, ok := s.docID(c)
	if !ok {
		return
	}
	doc, err := s.docs.Get(c.Request.Context(), s.actor(c), id)
	if err != nil {
		s.docError(c, err)
		return
	}
	c.Header("ETag", revisionETag(doc))
	c.JSON(http.StatusOK, doc)
}

func revisionETag(doc archive.Document) string {
	return `"r` + strconv.FormatUint(uint64(doc.Revision), 10) + `"`
}

func (s *Server) documentRevisions(c *gin.Context) {
	id, ok := s.docID(c)
	if !ok {
		return
	}
	docs, err := s.docs.Revisions(c.Request.Context(), s.actor(c), id)
	if err != nil {
		s.docError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"revisions": docs})
}

// updateDocument applies a JSON merge patch (RFC 7396) to the metadata and
// writes it as a new revision. If-Match with the revision's ETag, or a
// "revision" member, makes the write conditional.
func (s *Server) updateDocument(c *gin.Context) {
	id, ok := s.docID(c)
	if !ok {
		return
	}
	var patch map[string]json.RawMessage
	if !decodeJSON(c, &patch) {
		return
	}
	var expected uint32
	if v, ok := patch["revision"]; ok {
		if err := json.Unmarshal(v, &expected); err != nil {
			fail(c, http.StatusBadRequest, CodeInvalidJSON)
			return
		}
		delete(patch, "revision")
	}
	if im := c.GetHeader("If-Match"); im != "" {
		n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(im, `"r`), `"`), 10, 32)
		if err != nil {
			fail(c, http.StatusBadRequest, CodeBadRequest)
			return
		}
		expected = uint32(n)
	}
	ctx := c.Request.Context()
	cur, err := s.docs.Get(ctx, s.actor(c), id)
	if err != nil {
		s.docError(c, err)
		return
	}
	base, err := json.Marshal(cur.Metadata)
	if err != nil {
		s.failErr(c, err)
		return
	}
	merged, err := mergePatch(base, patch)
	if err != nil {
		fail(c, http.StatusBadRequest, CodeInvalidJSON)
		return
	}
	m, p := decodeMetadata(c, merged, false)
	if p != nil {
		abort(c, *p)
		return
	}
	doc, err := s.docs.UpdateMetadata(ctx, s.actor(c), id, m, expected)
	if err != nil {
		s.docError(c, err)
		return
	}
	c.Header("ETag", revisionETag(doc))
	c.JSON(http.StatusOK, doc)
}

// mergePatch applies an RFC 7396 merge patch to the top level of base
// (metadata members are replaced whole; null removes one).
func mergePatch(base []byte, patch map[string]json.RawMessage) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(base, &doc); err != nil {
		return nil, err
	}
	for k, v := range patch {
		if string(v) == "null" {
			delete(doc, k)
			continue
		}
		doc[k] = v
	}
	return json.Marshal(doc)
}

// reclassifyRequest is the body of POST /documents/{id}/classification.
type reclassifyRequest struct {
	Level           *access.Level `json:"level"`
	Reason          string        `json:"reason"`
	DecisionRef     string        `json:"decision_ref"`
	StateSecretRef  string        `json:"state_secret_ref"`
	ProtectionYears int           `json:"protection_years"`
}

func (s *Server) reclassify(c *gin.Context) {
	id, ok := s.docID(c)
	if !ok {
		return
	}
	var req reclassifyRequest
	if !decodeJSON(c, &req) {
		return
	}
	if req.Level == nil {
		abort(c, fieldsProblem(c, archive.FieldErrors{{Field: "level", Code: archive.CodeRequired, Message: "is required", MessageVI: "là bắt buộc"}}))
		return
	}
	doc, err := s.docs.Reclassify(c.Request.Context(), s.actor(c), id, archive.Reclassification{
		To: *req.Level, Reason: req.Reason, DecisionRef: req.DecisionRef,
		StateSecretRef: req.StateSecretRef, ProtectionYears: req.ProtectionYears,
	})
	if err != nil {
		s.docError(c, err)
		return
	}
	c.JSON(http.StatusOK, doc)
}

// copyRequest is the body of POST /documents/{id}/copies.
type copyRequest struct {
	Reason string `json:"reason"`
}

// requestCopy enters a request to take a copy (a download) in the
// document's copy register; from the level where copies need approval,
// a download needs one approved request per copy.
func (s *Server) requestCopy(c *gin.Context) {
	id, ok := s.docID(c)
	if !ok {
		return
	}
	var req copyRequest
	if !decodeJSON(c, &req) {
		return
	}
	cr, err := s.docs.RequestCopy(c.Request.Context(), s.actor(c), id, req.Reason)
	if err != nil {
		s.docError(c, err)
		return
	}
	c.JSON(http.StatusCreated, cr)
}

// approveCopy approves another user's copy request (security officer).
func (s *Server) approveCopy(c *gin.Context) {
	id, ok := s.docID(c)
	if !ok {
		return
	}
	req := c.Param("req")
	if !safeHeaderText(req) {
		fail(c, http.StatusNotFound, CodeNotFound)
		return
	}
	doc, err := s.docs.ApproveCopy(c.Request.Context(), s.actor(c), id, req)
	if err != nil {
		s.docError(c, err)
		return
	}
	c.JSON(http.StatusOK, doc)
}

// destructionRequest is the body of POST /documents/{id}/destruction.
type destructionRequest struct {
	Reason      string `json:"reason"`
	DecisionRef string `json:"decision_ref"`
}

// requestDestruction asks for the document's destruction; another person,
// a security officer, approves it.
func (s *Server) requestDestruction(c *gin.Context) {
	id, ok := s.docID(c)
	if !ok {
		return
	}
	var req destructionRequest
	if !decodeJSON(c, &req) {
		return
	}
	doc, err := s.docs.RequestDestruction(c.Request.Context(), s.actor(c), id, req.Reason, req.DecisionRef)
	if err != nil {
		s.docError(c, err)
		return
	}
	c.JSON(http.StatusOK, doc)
}

// cancelDestruction withdraws a pending destruction request.
func (s *Server) cancelDestruction(c *gin.Context) {
	id, ok := s.docID(c)
	if !ok {
		return
	}
	doc, err := s.docs.CancelDestruction(c.Request.Context(), s.actor(c), id)
	if err != nil {
		s.docError(c, err)
		return
	}
	c.JSON(http.StatusOK, doc)
}

// approveDestruction destroys the document: from then on it is not found,
// and its envelopes are deleted, so no key opens its content.
func (s *Server) approveDestruction(c *gin.Context) {
	id, ok := s.docID(c)
	if !ok {
		return
	}
	if err := s.docs.ApproveDestruction(c.Request.Context(), s.actor(c), id); err != nil {
		s.docError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// content streams a version's content. A single byte range (Range:
// bytes=a-b, a-, -n) gives 206 with Content-Range; a range outside the
// content gives 416. ?download=1 takes a copy out of the archive (access
// Download: from the archive's Rules.CopyApprovalFrom, Tuyệt mật by default,
// it needs an approved copy request, one per copy);
// otherwise the content is shown inline (access Read). Headers name the
// document by id only: a classified title never goes into a header.
func (s *Server) content(c *gin.Context) {
	id, ok := s.docID(c)
	if !ok {
		return
	}
	opts := archive.OpenOptions{Download: c.Query("download") == "1" || c.Query("download") == "true"}
	if v := c.Query("version"); v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			fail(c, http.StatusBadRequest, CodeInvalidQuery)
			return
		}
		opts.Version = uint32(n)
	}
	rng, rangeOK := parseRange(c.GetHeader("Range"))
	ctx := c.Request.Context()
	a := s.actor(c)
	if rng != nil && rng.suffix {
		// A suffix range needs the size first.
		doc, err := s.docs.Get(ctx, a, id)
		if err != nil {
			s.docError(c, err)
			return
		}
		size := doc.Size
		if opts.Version != 0 && opts.Version != doc.Version {
			rng = nil // an old version's size is not at hand: send it whole
		} else {
			rng.off = max(0, size-rng.n)
			rng.n = size - rng.off
			if size == 0 {
				rangeOK = false
			}
		}
	}
	if !rangeOK {
		rng = nil
	}
	if rng != nil {
		opts.Range = &store.Range{Offset: rng.off, Length: rng.n}
	}
	ct, err := s.docs.Open(ctx, a, id, opts)
	if err != nil {
		s.docError(c, err)
		return
	}
	defer ct.Close()
	size := ct.Doc.Size
	h := c.Writer.Header()
	if rng != nil && rng.off >= size {
		h.Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
		fail(c, http.StatusRequestedRangeNotSatisfiable, CodeRangeNotSatisfied)
		return
	}
	disposition := "inline"
	if opts.Download {
		disposition = "attachment"
	}
	h.Set("Content-Type", ct.Doc.ContentType)
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": id.String() + extension(ct.Doc.ContentType)}))
	h.Set("Content-Length", strconv.FormatInt(ct.Length, 10))
	h.Set("Accept-Ranges", "bytes")
	h.Set("ETag", `"`+ct.Doc.SHA256.String()+`"`)
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	status := http.StatusOK
	if rng != nil {
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", ct.Offset, ct.Offset+ct.Length-1, size))
	}
	c.Status(status)
	if c.Request.Method == http.MethodHead {
		return
	}
	// Whole 64 KiB chunks of the decrypted stream per write: fewer,
	// larger writes to the connection.
	buf := make([]byte, 256<<10)
	if _, err := io.CopyBuffer(struct{ io.Writer }{c.Writer}, ct, buf); err != nil {
		// The headers are out: cut the connection so the client cannot
		// take a truncated or unverified body for the whole.
		s.log.Error("streaming content failed", "request_id", requestID(c), "doc_id", id.String(), "err", err)
		panic(http.ErrAbortHandler)
	}
}

// byteRange is a parsed Range header.
type byteRange struct {
	off, n int64 // n < 0: to the end
	suffix bool  // "-n": the last n bytes
}

// parseRange reads a single "bytes=" range. Multiple ranges and anything it
// does not understand are ignored (the whole content is sent), as RFC 9110
// allows; ok is false then.
func parseRange(h string) (*byteRange, bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return nil, false
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return nil, false
	}
	if first == "" {
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n <= 0 {
			return nil, false
		}
		return &byteRange{n: n, suffix: true}, true
	}
	off, err := strconv.ParseInt(first, 10, 64)
	if err != nil || off < 0 {
		return nil, false
	}
	if last == "" {
		return &byteRange{off: off, n: -1}, true
	}
	end, err := strconv.ParseInt(last, 10, 64)
	if err != nil || end < off {
		return nil, false
	}
	return &byteRange{off: off, n: end - off + 1}, true
}

// extension is the file name extension for a content type, from a fixed
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
