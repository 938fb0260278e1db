package front

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/identity"
	"khomat/search"
)

func sp(start, end int) search.Span { return search.Span{Start: start, End: end} }

func TestMark(t *testing.T) {
	for _, tc := range []struct {
		f    search.Fragment
		want string
	}{
		{search.Fragment{Text: "Kế hoạch <b>năm</b>", Marks: []search.Span{sp(0, 4)}}, "<mark>Kế</mark> hoạch &lt;b&gt;năm&lt;/b&gt;"},
		{search.Fragment{Text: "a<b", Marks: []search.Span{sp(1, 2)}}, "a<mark>&lt;</mark>b"},
		{search.Fragment{Text: "abc", Marks: []search.Span{sp(2, 9), sp(1, 0)}}, "abc"},
		{search.Fragment{Text: "abcd", Marks: []search.Span{sp(2, 3), sp(0, 1)}}, "ab<mark>c</mark>d"},
	} {
		if got := Mark(tc.f); got != tc.want {
			t.Errorf("Mark(%+v) = %q, want %q", tc.f, got, tc.want)
		}
	}
	if h := Highlights(nil); h != nil {
		t.Errorf("Highlights(nil) = %v", h)
	}
	h := Highlights([]search.Fragment{{Field: "title", Text: "x", Marks: []search.Span{sp(0, 1)}}, {Field: "title", Text: "y"}})
	if len(h) != 1 || len(h["title"]) != 2 || h["title"][0] != "<mark>x</mark>" {
		t.Errorf("Highlights = %v", h)
	}
}

func TestError(t *testing.T) {
	fes := identity.FieldErrors{{Field: "password", Code: "too_short", Message: "too short", MessageVI: "quá ngắn"}}
	for _, tc := range []struct {
		in   error
		want error
	}{
		{fmt.Errorf("login: %w", identity.ErrBadCredentials), ErrInvalidCredentials},
		{identity.ErrUnauthenticated, ErrUnauthenticated},
		{identity.ErrForbidden, ErrForbidden},
		{identity.ErrNotFound, ErrNotFound},
		{identity.ErrConflict, ErrConflict},
		{fes, ErrInvalid},
		{identity.ErrAudit, archive.ErrAudit},
		{identity.ErrIntegrity, archive.ErrIntegrity},
	} {
		if got := Error(tc.in); !errors.Is(got, tc.want) {
			t.Errorf("Error(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	var kept identity.FieldErrors
	if !errors.As(Error(fes), &kept) || len(kept) != 1 {
		t.Error("the field errors are not kept in the chain")
	}
	var te *ThrottledError
	if !errors.As(Error(&identity.ThrottledError{RetryAfter: time.Minute}), &te) || te.RetryAfter != time.Minute {
		t.Errorf("throttled: %v", te)
	}
	if Error(nil) != nil {
		t.Error("Error(nil) is not nil")
	}
}

func TestSearchError(t *testing.T) {
	for _, tc := range []struct{ in, want error }{
		{&search.QueryError{}, ErrInvalidQuery},
		{search.ErrForbidden, ErrForbidden},
		{search.ErrNotReady, ErrUnavailable},
		{search.ErrClosed, ErrUnavailable},
	} {
		if got := SearchError(tc.in); !errors.Is(got, tc.want) || !errors.Is(got, tc.in) {
			t.Errorf("SearchError(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	other := errors.New("disk")
	if SearchError(other) != other || SearchError(nil) != nil {
		t.Error("other errors are not passed through")
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := http.Header{}
	SecurityHeaders(h, "default-src 'none'", "camera=()", false)
	for k, v := range map[string]string{
		"Content-Security-Policy": "default-src 'none'", "Permissions-Policy": "camera=()", "X-Frame-Options": "DENY",
		"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cross-Origin-Opener-Policy": "same-origin",
		"Cross-Origin-Resource-Policy": "same-origin", "Cache-Control": "no-store",
	} {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if h.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS without TLS")
	}
	SecurityHeaders(h, "x", "y", true)
	if h.Get("Strict-Transport-Security") != "max-age=31536000" {
		t.Error("no HSTS with TLS")
	}
	for id, want := range map[string]bool{"client-req-0001": true, "short": false, "has space ok": false, "a\r\nb-123456": false, "": false} {
		if ValidRequestID(id) != want {
			t.Errorf("ValidRequestID(%q) = %v", id, !want)
		}
	}
}

func TestDisabledUserIsNoSubject(t *testing.T) {
	u := User{ID: "u1", Roles: []access.Role{access.Reader}, Clearance: access.Secret}
	if s := u.Subject(); s.ID != "u1" || s.Clearance != access.Secret {
		t.Errorf("Subject = %+v", s)
	}
	u.Disabled = true
	if s := u.Subject(); s.ID != "" || len(s.Roles) != 0 {
		t.Errorf("a disabled user's subject = %+v", s)
	}
}
