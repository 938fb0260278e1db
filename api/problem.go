package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"golang.org/x/text/language"

	"khomat/archive"
	"khomat/archive/identity"
	"khomat/archive/store"
)

// Problem is an RFC 9457 problem detail, the body of every error response
// (media type application/problem+json). Code is stable and meant for
// programs; Title and Detail are for people, in Vietnamese or English after
// the request's Accept-Language (Vietnamese when it names neither). No
// field ever carries internal error text.
type Problem struct {
	// Type is a URI naming the kind of problem: "urn:khomat:problem:<code>".
	Type string `json:"type"`
	// Title is a short summary of the kind of problem.
	Title string `json:"title"`
	// Status repeats the HTTP status code.
	Status int `json:"status"`
	// Detail explains this occurrence.
	Detail string `json:"detail"`
	// Code is the stable machine-readable code (see the Code constants).
	Code string `json:"code"`
	// RequestID joins the response to the server's log.
	RequestID string `json:"request_id,omitempty"`
	// Errors lists what is wrong with each field of an invalid request.
	Errors []FieldProblem `json:"errors,omitempty"`
}

// FieldProblem is one problem with one field of a request body.
type FieldProblem struct {
	// Field is the JSON path of the field ("title", "keywords[2]").
	Field string `json:"field"`
	// Code is the stable code of the problem ("required", "too_long").
	Code string `json:"code"`
	// Detail explains it in the response's language.
	Detail string `json:"detail"`
}

// The stable problem codes.
const (
	CodeBadRequest         = "bad_request"           // malformed request
	CodeInvalidJSON        = "invalid_json"          // a body that is not the expected JSON
	CodeInvalidUTF8        = "invalid_utf8"          // text that is not UTF-8
	CodeInvalidMetadata    = "invalid_metadata"      // metadata that fails validation (see errors)
	CodeInvalidAccount     = "invalid_account"       // account data that fails validation (see errors)
	CodeInvalidMultipart   = "invalid_multipart"     // a malformed multipart upload
	CodeMissingMetadata    = "missing_metadata"      // an upload without its metadata part first
	CodeMissingFile        = "missing_file"          // an upload without its file part
	CodeInvalidFilename    = "invalid_filename"      // a file name with a path, control or invalid characters
	CodeInvalidQuery       = "invalid_query"         // a search or filter that does not parse
	CodeTooLarge           = "too_large"             // a body over the configured limit
	CodeUnsupportedMedia   = "unsupported_media"     // a body of the wrong media type
	CodeUnauthenticated    = "unauthenticated"       // no valid session
	CodeInvalidCredentials = "invalid_credentials"   // wrong user name or password
	CodeThrottled          = "throttled"             // too many failed logins
	CodeForbidden          = "forbidden"             // not allowed
	CodeNotFound           = "not_found"             // no such thing, or one the caller may not see
	CodeConflict           = "conflict"              // changed concurrently, or already exists
	CodeRangeNotSatisfied  = "range_not_satisfiable" // a Range outside the content
	CodeMethodNotAllowed   = "method_not_allowed"    // the path exists, not with this method
	CodeAuditUnavailable   = "audit_unavailable"     // the audit log refused: nothing was done
	CodeUnavailable        = "unavailable"           // storage or index unreachable
	CodeIntegrity          = "integrity"             // stored data failed its integrity check
	CodeInternal           = "internal"              // anything else
)

// message is a problem's title and default detail in both languages.
type message struct{ titleVI, titleEN, detailVI, detailEN string }

var messages = map[string]message{
	CodeBadRequest:         {"Yêu cầu không hợp lệ", "Bad request", "Yêu cầu không đúng định dạng.", "The request is malformed."},
	CodeInvalidJSON:        {"JSON không hợp lệ", "Invalid JSON", "Nội dung yêu cầu không phải JSON hợp lệ theo đặc tả.", "The request body is not the JSON the API expects."},
	CodeInvalidUTF8:        {"Văn bản không phải UTF-8", "Text is not UTF-8", "Nội dung có chuỗi không phải UTF-8 hợp lệ.", "The request contains text that is not valid UTF-8."},
	CodeInvalidMetadata:    {"Thông tin tài liệu không hợp lệ", "Invalid document metadata", "Một số trường thông tin tài liệu không hợp lệ; xem danh sách lỗi.", "Some metadata fields are invalid; see the list of errors."},
	CodeInvalidAccount:     {"Thông tin tài khoản không hợp lệ", "Invalid account data", "Một số trường thông tin tài khoản không hợp lệ; xem danh sách lỗi.", "Some account fields are invalid; see the list of errors."},
	CodeInvalidMultipart:   {"Dữ liệu tải lên không hợp lệ", "Invalid upload", "Dữ liệu multipart không đúng định dạng hoặc bị cắt ngang.", "The multipart body is malformed or was cut off."},
	CodeMissingMetadata:    {"Thiếu thông tin tài liệu", "Metadata missing", "Phần \"metadata\" phải đứng trước phần \"file\".", "The \"metadata\" part must come before the \"file\" part."},
	CodeMissingFile:        {"Thiếu tệp", "File missing", "Yêu cầu không có phần \"file\".", "The request has no \"file\" part."},
	CodeInvalidFilename:    {"Tên tệp không hợp lệ", "Invalid file name", "Tên tệp không được chứa đường dẫn, ký tự điều khiển hoặc ký tự không hợp lệ.", "The file name must not contain a path, control characters or invalid characters."},
	CodeInvalidQuery:       {"Truy vấn không hợp lệ", "Invalid query", "Tham số tìm kiếm hoặc lọc không hợp lệ.", "A search or filter parameter is invalid."},
	CodeTooLarge:           {"Dữ liệu quá lớn", "Too large", "Nội dung yêu cầu vượt quá giới hạn cho phép.", "The request body exceeds the allowed size."},
	CodeUnsupportedMedia:   {"Kiểu dữ liệu không được hỗ trợ", "Unsupported media type", "Kiểu nội dung của yêu cầu không được hỗ trợ.", "The request's content type is not supported here."},
	CodeUnauthenticated:    {"Chưa đăng nhập", "Not signed in", "Cần đăng nhập; phiên làm việc không có, đã hết hạn hoặc đã bị thu hồi.", "Sign in first: the session is missing, expired or revoked."},
	CodeInvalidCredentials: {"Đăng nhập không thành công", "Sign-in failed", "Tên đăng nhập hoặc mật khẩu không đúng.", "The user name or password is wrong."},
	CodeThrottled:          {"Quá nhiều lần thử", "Too many attempts", "Quá nhiều lần đăng nhập sai; hãy thử lại sau.", "Too many failed sign-ins; try again later."},
	CodeForbidden:          {"Không được phép", "Forbidden", "Bạn không có quyền thực hiện thao tác này.", "You are not allowed to do this."},
	CodeNotFound:           {"Không tìm thấy", "Not found", "Không tìm thấy tài nguyên được yêu cầu.", "The requested resource was not found."},
	CodeConflict:           {"Xung đột", "Conflict", "Dữ liệu đã bị thay đổi hoặc đã tồn tại; hãy tải lại và thử lại.", "It changed concurrently or already exists; reload and try again."},
	CodeRangeNotSatisfied:  {"Khoảng dữ liệu không hợp lệ", "Range not satisfiable", "Khoảng byte yêu cầu nằm ngoài nội dung.", "The requested byte range lies outside the content."},
	CodeMethodNotAllowed:   {"Phương thức không được hỗ trợ", "Method not allowed", "Đường dẫn này không hỗ trợ phương thức đã dùng.", "This path does not support the method used."},
	CodeAuditUnavailable:   {"Nhật ký kiểm tra không sẵn sàng", "Audit log unavailable", "Không ghi được nhật ký kiểm tra nên thao tác đã bị từ chối; không có gì thay đổi.", "The audit log could not record the action, so it was refused; nothing changed."},
	CodeUnavailable:        {"Dịch vụ tạm thời không sẵn sàng", "Service unavailable", "Kho lưu trữ hoặc chỉ mục tạm thời không truy cập được; hãy thử lại sau.", "Storage or the index is unreachable for now; try again later."},
	CodeIntegrity:          {"Lỗi toàn vẹn dữ liệu", "Integrity failure", "Dữ liệu lưu trữ không qua được kiểm tra toàn vẹn; không dữ liệu nào được trả về. Hãy báo quản trị.", "Stored data failed its integrity check and nothing of it was returned; tell an administrator."},
	CodeInternal:           {"Lỗi hệ thống", "Internal error", "Đã xảy ra lỗi hệ thống; hãy báo quản trị kèm mã yêu cầu.", "Something went wrong on the server; tell an administrator the request id."},
}

var supported = language.NewMatcher([]language.Tag{language.Vietnamese, language.English})

// english reports whether the request prefers English to Vietnamese.
func english(r *http.Request) bool {
	h := r.Header.Get("Accept-Language")
	if h == "" || len(h) > 256 {
		return false
	}
	tags, _, err := language.ParseAcceptLanguage(h)
	if err != nil || len(tags) == 0 {
		return false
	}
	tag, _, _ := supported.Match(tags...)
	base, _ := tag.Base()
	return base.String() == "en"
}

// newProblem builds the problem of code with status in the request's
// language. detailVI and detailEN, when not empty, replace the default
// detail.
func newProblem(c *gin.Context, status int, code string) Problem {
	m, ok := messages[code]
	if !ok {
		m = messages[CodeInternal]
	}
	p := Problem{Type: "urn:khomat:problem:" + code, Status: status, Code: code, RequestID: requestID(c)}
	if english(c.Request) {
		p.Title, p.Detail = m.titleEN, m.detailEN
	} else {
		p.Title, p.Detail = m.titleVI, m.detailVI
	}
	return p
}

// abort writes the problem and stops the handler chain.
func abort(c *gin.Context, p Problem) {
	c.Header("Content-Type", "application/problem+json; charset=utf-8")
	c.Header("Content-Disposition", "")
	c.AbortWithStatusJSON(p.Status, p)
}

// fail writes the problem of code.
func fail(c *gin.Context, status int, code string) {
	abort(c, newProblem(c, status, code))
}

// fieldsProblem is a 422 listing the field errors of invalid metadata.
func fieldsProblem(c *gin.Context, fes archive.FieldErrors) Problem {
	return fieldsProblemCode(c, CodeInvalidMetadata, fes)
}

// fieldsProblemCode is a 422 of code listing field errors.
func fieldsProblemCode(c *gin.Context, code string, fes archive.FieldErrors) Problem {
	p := newProblem(c, http.StatusUnprocessableEntity, code)
	en := english(c.Request)
	for _, fe := range fes {
		d := fe.MessageVI
		if en || d == "" {
			d = fe.Message
		}
		p.Errors = append(p.Errors, FieldProblem{Field: fe.Field, Code: fe.Code, Detail: d})
	}
	return p
}

// failErr maps an error of the archive, audit, store or identity layers to
// its problem. Internal text is logged with the request id, never sent.
func (s *Server) failErr(c *gin.Context, err error) {
	var fes archive.FieldErrors
	var mbe *http.MaxBytesError
	var afes identity.FieldErrors
	switch {
	case errors.As(err, &afes):
		abort(c, fieldsProblemCode(c, CodeInvalidAccount, archive.FieldErrors(afes)))
		return
	case errors.As(err, &fes):
		abort(c, fieldsProblem(c, fes))
		return
	case errors.As(err, &mbe):
		fail(c, http.StatusRequestEntityTooLarge, CodeTooLarge)
		return
	case errors.Is(err, archive.ErrNotFound), errors.Is(err, ErrNotFound):
		fail(c, http.StatusNotFound, CodeNotFound)
		return
	case errors.Is(err, archive.ErrForbidden), errors.Is(err, ErrForbidden):
		s.metrics.denials.WithLabelValues(c.FullPath()).Inc()
		fail(c, http.StatusForbidden, CodeForbidden)
		return
	case errors.Is(err, archive.ErrConflict), errors.Is(err, ErrConflict):
		fail(c, http.StatusConflict, CodeConflict)
		return
	case errors.Is(err, archive.ErrInvalidRequest), errors.Is(err, ErrInvalid):
		fail(c, http.StatusBadRequest, CodeBadRequest)
		return
	case errors.Is(err, ErrInvalidQuery):
		fail(c, http.StatusBadRequest, CodeInvalidQuery)
		return
	case errors.Is(err, ErrUnauthenticated):
		s.unauthenticated(c)
		return
	case errors.Is(err, archive.ErrAudit):
		s.log.Error("audit log refused an action", "request_id", requestID(c), "err", err)
		fail(c, http.StatusServiceUnavailable, CodeAuditUnavailable)
		return
	case errors.Is(err, archive.ErrIntegrity):
		s.log.Error("integrity failure", "request_id", requestID(c), "err", err)
		fail(c, http.StatusInternalServerError, CodeIntegrity)
		return
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, ErrUnavailable):
		s.log.Error("backend unavailable", "request_id", requestID(c), "err", err)
		fail(c, http.StatusServiceUnavailable, CodeUnavailable)
		return
	case errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		s.log.Info("request cancelled by the client", "request_id", requestID(c))
		c.Abort()
		return
	}
	s.log.Error("request failed", "request_id", requestID(c), "err", err)
	fail(c, http.StatusInternalServerError, CodeInternal)
}

// safeHeaderText reports whether s is short printable ASCII.
func safeHeaderText(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x21 || r > 0x7e }) < 0
}
