package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"khomat/api/internal/front"
	"khomat/archive"
	"khomat/archive/access"
)

// Keys of what the middleware leaves in the Gin context.
const (
	ctxUser  = "khomat.web.user"
	ctxToken = "khomat.web.token"
	ctxCSRF  = "khomat.web.csrf"
	ctxLang  = "khomat.web.lang"
	ctxRID   = "khomat.web.request_id"
)

// csrfField is the name of the hidden form field holding the CSRF token.
const csrfField = "csrf"

// headers sets the interface's security headers on every page, replacing
// what the JSON API's middleware set: the API forbids everything (its
// answers are data), while pages need their own stylesheet, script and
// font, and nothing else.
func (w *Web) headers(c *gin.Context) {
	h := c.Writer.Header()
	front.SecurityHeaders(h, "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "+
		"connect-src 'self'; form-action 'self'; frame-src 'self'; base-uri 'none'; frame-ancestors 'none'",
		"camera=(), microphone=(), geolocation=(), payment=(), usb=()", w.secure)
	h.Del("Pragma")
	rid := h.Get("X-Request-ID") // set by the API's middleware when there is one
	if !front.ValidRequestID(rid) {
		rid = w.randomHex(12)
		h.Set("X-Request-ID", rid)
	}
	c.Set(ctxRID, rid)
	c.Next()
}

// language picks the page language: "?lang=en" or "?lang=vi" chooses and
// remembers it in a cookie (and the page is reloaded without the
// parameter), the cookie keeps it, and Vietnamese is the default.
func (w *Web) language(c *gin.Context) {
	lang := "vi"
	if ck, err := c.Request.Cookie(LangCookie); err == nil && ck.Value == "en" {
		lang = "en"
	}
	if q := c.Query("lang"); (q == "vi" || q == "en") && c.Request.Method == http.MethodGet {
		http.SetCookie(c.Writer, &http.Cookie{
			Name: LangCookie, Value: q, Path: w.path("/"), MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: w.secure, SameSite: http.SameSiteStrictMode,
		})
		u := *c.Request.URL
		v := u.Query()
		v.Del("lang")
		u.RawQuery = v.Encode()
		c.Redirect(http.StatusSeeOther, u.RequestURI())
		c.Abort()
		return
	}
	c.Set(ctxLang, lang)
	c.Next()
}

// authenticate resolves the session cookie. Without one, the browser goes
// to the sign-in page; with one that has ended, to the sign-in page with
// the "session expired" message. The CSRF token of the session's forms is
// derived from the session token.
func (w *Web) authenticate(c *gin.Context) {
	token := sessionToken(c.Request)
	if token == "" {
		w.toLogin(c, false)
		return
	}
	u, err := w.sessions.Authenticate(c.Request.Context(), token)
	if err == nil && u.Disabled {
		err = ErrUnauthenticated
	}
	if err != nil {
		if errors.Is(err, ErrUnauthenticated) {
			w.clearSession(c)
			w.toLogin(c, true)
			return
		}
		w.log.Error("authenticating a session", "request_id", c.GetString(ctxRID), "err", err)
		w.fail(c, http.StatusServiceUnavailable, "err.unavailable")
		return
	}
	c.Set(ctxUser, u)
	c.Set(ctxToken, token)
	c.Set(ctxCSRF, csrfToken(token))
	c.Next()
}

// toLogin sends the browser to the sign-in page, with where it was going
// when that is a page of the interface (a GET: a form posted with an ended
// session is not replayed).
func (w *Web) toLogin(c *gin.Context, expired bool) {
	v := url.Values{}
	if expired {
		v.Set("expired", "1")
	}
	if c.Request.Method == http.MethodGet {
		if next := c.Request.URL.RequestURI(); w.safeNext(next) && next != w.path("/") {
			v.Set("next", next)
		}
	}
	target := w.path("/login")
	if len(v) > 0 {
		target += "?" + v.Encode()
	}
	c.Redirect(http.StatusSeeOther, target)
	c.Abort()
}

// safeNext accepts a redirect target only when it is a path of this
// interface: no scheme, no host, no "//", nothing but plain characters.
var nextPath = regexp.MustCompile(`^/[A-Za-z0-9/_.=&?%-]*$`)

func (w *Web) safeNext(p string) bool {
	return nextPath.MatchString(p) && !strings.HasPrefix(p, "//") && !strings.Contains(p, "/../") &&
		strings.HasPrefix(p, w.path("/")) && !strings.HasPrefix(p, w.path("/login")) && !strings.HasPrefix(p, w.path("/static/"))
}

func sessionToken(r *http.Request) string {
	ck, err := r.Cookie(SessionCookie)
	if err != nil || ck.Value == "" || len(ck.Value) > 512 || strings.ContainsAny(ck.Value, " \t\r\n;,\"") {
		return ""
	}
	return ck.Value
}

// setSession gives the browser its session cookie: HttpOnly (no script
// reads it), SameSite=Strict (no other site's page sends it), Secure over
// TLS, for the whole server so that the JSON API accepts it too.
func (w *Web) setSession(c *gin.Context, s Session) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: SessionCookie, Value: s.Token, Path: "/", Expires: s.ExpiresAt,
		HttpOnly: true, Secure: w.secure, SameSite: http.SameSiteStrictMode,
	})
}

func (w *Web) clearSession(c *gin.Context) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: w.secure, SameSite: http.SameSiteStrictMode,
	})
}

// csrfToken derives the CSRF token of a session from its token: a hash
// that only someone holding the session token (HttpOnly, so not even the
// page's own script) or the page that shows it can know. It needs no
// server-side state or key, so any node that serves the session accepts
// it, and it ends with the session.
func csrfToken(session string) string {
	sum := sha256.Sum256([]byte("khomat web csrf v1\x00" + session))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// csrf refuses a state-changing form whose token does not match the
// session's, or that a browser says came from another site.
func (w *Web) csrf(c *gin.Context) {
	limitForm(c)
	if !crossSiteOK(c.Request) {
		w.fail(c, http.StatusForbidden, "err.csrf")
		return
	}
	want := c.GetString(ctxCSRF)
	got := c.PostForm(csrfField)
	if want == "" || !equalToken(got, want) {
		w.fail(c, http.StatusForbidden, "err.csrf")
		return
	}
	c.Next()
}

// maxFormBody bounds the body of every form but the upload's.
const maxFormBody = 1 << 20

// limitForm bounds a form's body before it is parsed.
func limitForm(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxFormBody)
}

func equalToken(a, b string) bool {
	return len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// crossSiteOK reports whether a state-changing request may come from where
// the browser says it comes from: the same origin, or a browser that says
// nothing (older ones; the CSRF token still has to match).
func crossSiteOK(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return false
		}
	}
	return true
}

// user is the signed-in user of the request.
func user(c *gin.Context) User {
	v, _ := c.Get(ctxUser)
	u, _ := v.(User)
	return u
}

// actor is who the archive acts for: the session's user, the connection's
// address and the request id. Nothing in a form fills it.
func actor(c *gin.Context) archive.Actor {
	return archive.Actor{Subject: user(c).Subject(), ClientAddr: clientAddr(c.Request), RequestID: c.GetString(ctxRID)}
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// may reports whether the user may take a non-document action.
func may(c *gin.Context, a access.Action) bool {
	return access.Decide(user(c).Subject(), a, access.Resource{}).Allow
}

func (w *Web) randomHex(n int) string {
	b := make([]byte, n)
	if _, err := io.ReadFull(w.rand, b); err != nil {
		// crypto/rand does not fail; a broken injected source gives a
		// time-based id rather than no id.
		return hex.EncodeToString([]byte(time.Now().Format("150405.000000000")))
	}
	return hex.EncodeToString(b)
}
