package web

import (
	"errors"
	"math"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"khomat/archive/access"
)

// loginData is the data of the sign-in page.
type loginData struct {
	Username string
	Next     string
	Error    string
	Expired  bool
	Token    string
}

// loginPage shows the sign-in form. Its CSRF token is a double-submit
// cookie: there is no session yet to bind one to.
func (w *Web) loginPage(c *gin.Context) {
	// A live session goes straight home.
	if tok := sessionToken(c.Request); tok != "" {
		if u, err := w.sessions.Authenticate(c.Request.Context(), tok); err == nil && !u.Disabled {
			c.Redirect(http.StatusSeeOther, w.path("/"))
			return
		}
	}
	d := loginData{Expired: c.Query("expired") == "1"}
	if next := c.Query("next"); w.safeNext(next) {
		d.Next = next
	}
	w.renderLogin(c, http.StatusOK, d)
}

func (w *Web) renderLogin(c *gin.Context, status int, d loginData) {
	d.Token = w.randomHex(16)
	http.SetCookie(c.Writer, &http.Cookie{
		Name: loginCookie, Value: d.Token, Path: w.path("/login"), MaxAge: 3600,
		HttpOnly: true, Secure: w.secure, SameSite: http.SameSiteStrictMode,
	})
	v := w.newView(c, "title.login", d)
	w.render(c, status, "login", v)
}

// loginSubmit checks the user name and password and opens a session.
func (w *Web) loginSubmit(c *gin.Context) {
	limitForm(c)
	d := loginData{Username: c.PostForm("username")}
	if next := c.PostForm("next"); w.safeNext(next) {
		d.Next = next
	}
	ck, err := c.Request.Cookie(loginCookie)
	if !crossSiteOK(c.Request) || err != nil || !equalToken(ck.Value, c.PostForm(csrfField)) {
		d.Error = w.msgs.get(c.GetString(ctxLang), "login.retry")
		w.renderLogin(c, http.StatusForbidden, d)
		return
	}
	password := c.PostForm("password")
	if d.Username == "" || password == "" || len(d.Username) > 256 || len(password) > 1024 {
		d.Error = w.msgs.get(c.GetString(ctxLang), "login.bad")
		w.renderLogin(c, http.StatusUnauthorized, d)
		return
	}
	s, err := w.sessions.Login(c.Request.Context(), d.Username, password, clientAddr(c.Request))
	var te *ThrottledError
	switch {
	case errors.As(err, &te):
		mins := int(math.Ceil(max(te.RetryAfter, time.Second).Minutes()))
		d.Error = w.msgs.get(c.GetString(ctxLang), "login.throttled", mins)
		w.renderLogin(c, http.StatusTooManyRequests, d)
		return
	case errors.Is(err, ErrInvalidCredentials), errors.Is(err, ErrUnauthenticated):
		d.Error = w.msgs.get(c.GetString(ctxLang), "login.bad")
		w.renderLogin(c, http.StatusUnauthorized, d)
		return
	case err != nil:
		w.log.Error("login failed", "request_id", c.GetString(ctxRID), "err", err)
		w.fail(c, http.StatusServiceUnavailable, "err.unavailable")
		return
	}
	w.setSession(c, s)
	http.SetCookie(c.Writer, &http.Cookie{Name: loginCookie, Value: "", Path: w.path("/login"), MaxAge: -1, HttpOnly: true, Secure: w.secure, SameSite: http.SameSiteStrictMode})
	target := d.Next
	if target == "" {
		target = w.path("/")
	}
	c.Redirect(http.StatusSeeOther, target)
}

// logout ends the session and forgets the user's saved searches.
func (w *Web) logout(c *gin.Context) {
	if err := w.sessions.Logout(c.Request.Context(), c.GetString(ctxToken), clientAddr(c.Request)); err != nil && !errors.Is(err, ErrUnauthenticated) {
		w.log.Warn("logout failed", "request_id", c.GetString(ctxRID), "err", err)
	}
	w.searches.forget(user(c).ID)
	w.clearSession(c)
	c.Redirect(http.StatusSeeOther, w.path("/login?ok=signedout"))
}

// home sends each user to the page of their work: search for whoever reads
// documents, the audit log for auditors, accounts for administrators.
func (w *Web) home(c *gin.Context) {
	s := user(c).Subject()
	switch {
	case access.Decide(s, access.List, access.Resource{}).Allow:
		w.searchPage(c)
	case access.Decide(s, access.ReadAudit, access.Resource{}).Allow:
		c.Redirect(http.StatusSeeOther, w.path("/audit"))
	case s.Has(access.Admin) && w.users != nil:
		c.Redirect(http.StatusSeeOther, w.path("/users"))
	default:
		w.render(c, http.StatusOK, "error", w.newView(c, "title.home", errorData{Message: w.msgs.get(c.GetString(ctxLang), "home.norole"), Status: 200}))
	}
}
