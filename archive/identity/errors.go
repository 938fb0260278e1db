package identity

import (
	"fmt"
	"strings"
	"time"

	"khomat/archive"
)

// Error is an error of the identity package that a person may be shown: a
// stable code for clients and the message in English and Vietnamese. The
// API maps each one to a status and picks the language; the text never
// holds a name, a password or a token. Every error the package returns that
// a client should see matches one of the Err… values below with errors.Is,
// and errors.As recovers the *Error.
type Error struct {
	// Code is stable: clients and tests may key on it.
	Code string
	// Message is the English message.
	Message string
	// MessageVI is the Vietnamese message.
	MessageVI string
	// kind, when set, is the more general error this one is a case of
	// (ErrUsernameTaken is an ErrConflict).
	kind *Error
}

// Error returns the English message.
func (e *Error) Error() string { return "identity: " + e.Message }

// Unwrap returns the more general error e is a case of, or nil.
func (e *Error) Unwrap() error {
	if e.kind == nil {
		return nil
	}
	return e.kind
}

// The errors of the package.
var (
	// ErrForbidden: the acting subject may not do this (no admin role, a
	// clearance or compartment above their own, a change to their own
	// account that needs a second admin).
	ErrForbidden = &Error{Code: "forbidden", Message: "not allowed",
		MessageVI: "Không được phép thực hiện thao tác này"}
	// ErrNotFound: no such user, or one the acting admin may not manage
	// (above their clearance or with a compartment they lack): the two are
	// indistinguishable on purpose.
	ErrNotFound = &Error{Code: "not_found", Message: "user not found",
		MessageVI: "Không tìm thấy người dùng"}
	// ErrConflict: the account changed since it was read (a concurrent
	// edit, or a stale IfRevision); reload and try again.
	ErrConflict = &Error{Code: "conflict", Message: "the account was changed by someone else; reload and try again",
		MessageVI: "Tài khoản vừa được người khác thay đổi; hãy tải lại và thử lại"}
	// ErrUsernameTaken: another account has this username (compared
	// case-insensitively). It matches ErrConflict too.
	ErrUsernameTaken = &Error{Code: "username_taken", Message: "the username is already taken",
		MessageVI: "Tên đăng nhập đã có người dùng", kind: ErrConflict}
	// ErrInvalid: the input is malformed. The error is a FieldErrors
	// listing every problem.
	ErrInvalid = &Error{Code: "invalid", Message: "invalid account data",
		MessageVI: "Thông tin tài khoản không hợp lệ"}
	// ErrBadCredentials: a login, or a password change, failed. It is the
	// same error for an unknown username, a wrong password and a disabled
	// account, so a client cannot tell which usernames exist.
	ErrBadCredentials = &Error{Code: "bad_credentials", Message: "wrong username or password",
		MessageVI: "Sai tên đăng nhập hoặc mật khẩu"}
	// ErrThrottled: too many failed logins for this username or from this
	// address; the error is a *ThrottledError that says for how long.
	ErrThrottled = &Error{Code: "throttled", Message: "too many failed attempts; try again later",
		MessageVI: "Đăng nhập sai quá nhiều lần; vui lòng thử lại sau"}
	// ErrUnauthenticated: the token is malformed, unknown, expired or
	// revoked, or its user is disabled or changed. One error for all, so a
	// client learns nothing about which.
	ErrUnauthenticated = &Error{Code: "unauthenticated", Message: "not signed in, or the session has ended",
		MessageVI: "Chưa đăng nhập hoặc phiên làm việc đã kết thúc"}
	// ErrAudit: the audit log could not record the action, so it was
	// refused (fail closed).
	ErrAudit = &Error{Code: "audit_unavailable", Message: "the audit log is unavailable; the action was refused",
		MessageVI: "Không ghi được nhật ký kiểm tra nên thao tác bị từ chối"}
	// ErrIntegrity: a stored identity object was altered, swapped or is
	// not Khomat's. Nothing of it is used.
	ErrIntegrity = &Error{Code: "integrity", Message: "an identity record failed its integrity check",
		MessageVI: "Dữ liệu tài khoản không toàn vẹn"}
)

// ThrottledError is returned by Login while the username or the client
// address is locked out after failed attempts. It matches ErrThrottled.
type ThrottledError struct {
	// RetryAfter is how long until the lockout ends (at least a second).
	RetryAfter time.Duration
}

// Error says how long to wait.
func (e *ThrottledError) Error() string {
	return fmt.Sprintf("identity: too many failed attempts; retry after %s", e.RetryAfter.Round(time.Second))
}

// Unwrap returns ErrThrottled.
func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// FieldErrors lists every problem found in the input of Create, Update,
// SetPassword, ChangePassword or EnsureAdmin, one archive.FieldError per
// problem, with its field's JSON name, a stable code (archive.Code…) and the
// message in English and Vietnamese. It matches ErrInvalid.
type FieldErrors []archive.FieldError

// Error joins the problems: "identity: invalid account data: username: is
// too short; password: …".
func (es FieldErrors) Error() string {
	var b strings.Builder
	b.WriteString(ErrInvalid.Error())
	for i, e := range es {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns ErrInvalid.
func (es FieldErrors) Unwrap() error { return ErrInvalid }
