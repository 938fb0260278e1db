package api

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
)

// loginRequest is the body of POST /auth/login.
type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// login checks a user name and password and opens a session: the token in
// the body (for scripts) and in an HttpOnly, SameSite=Strict cookie (for
// browsers), Secure when served over TLS.
func (s *Server) login(c *gin.Context) {
	var req loginRequest
	if !decodeJSON(c, &req) {
		return
	}
	if req.Username == "" || req.Password == "" {
		fail(c, http.StatusUnauthorized, CodeInvalidCredentials)
		return
	}
	sess, err := s.sessions.Login(c.Request.Context(), req.Username, req.Password, clientAddr(c.Request))
	var te *ThrottledError
	switch {
	case errors.As(err, &te):
		s.metrics.denials.WithLabelValues(c.FullPath()).Inc()
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(max(te.RetryAfter, time.Second).Seconds()))))
		fail(c, http.StatusTooManyRequests, CodeThrottled)
		return
	case errors.Is(err, ErrInvalidCredentials), errors.Is(err, ErrUnauthenticated):
		s.metrics.denials.WithLabelValues(c.FullPath()).Inc()
		fail(c, http.StatusUnauthorized, CodeInvalidCredentials)
		return
	case err != nil:
		s.failErr(c, err)
		return
	}
	s.setCookie(c, sess.Token, sess.ExpiresAt)
	c.JSON(http.StatusOK, sess)
}

func (s *Server) setCookie(c *gin.Context, token string, expires time.Time) {
	ck := &http.Cookie{
		Name: SessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteStrictMode,
	}
	if token == "" {
		ck.MaxAge = -1
	} else {
		ck.Expires = expires
	}
	http.SetCookie(c.Writer, ck)
}

// logout ends the request's session and clears the cookie.
func (s *Server) logout(c *gin.Context) {
	token, _ := bearer(c.Request)
	if err := s.sessions.Logout(c.Request.Context(), token, clientAddr(c.Request)); err != nil && !errors.Is(err, ErrUnauthenticated) {
		s.failErr(c, err)
		return
	}
	s.setCookie(c, "", time.Time{})
	c.Status(http.StatusNoContent)
}

// me returns the signed-in user.
func (s *Server) me(c *gin.Context) {
	u, _ := currentUser(c)
	c.JSON(http.StatusOK, u)
}

func (s *Server) usersReady(c *gin.Context) bool {
	if s.users == nil {
		fail(c, http.StatusServiceUnavailable, CodeUnavailable)
		return false
	}
	return true
}

func (s *Server) createUser(c *gin.Context) {
	if !s.usersReady(c) {
		return
	}
	var req NewUser
	if !decodeJSON(c, &req) {
		return
	}
	u, err := s.users.CreateUser(c.Request.Context(), s.actor(c), req)
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.Header("Location", "/api/v1/users/"+u.ID)
	c.JSON(http.StatusCreated, u)
}

func (s *Server) listUsers(c *gin.Context) {
	if !s.usersReady(c) {
		return
	}
	users, err := s.users.ListUsers(c.Request.Context(), s.actor(c))
	if err != nil {
		s.failErr(c, err)
		return
	}
	if users == nil {
		users = []User{}
	}
	c.JSON(http.StatusOK, gin.H{"users": users})
}

func (s *Server) updateUser(c *gin.Context) {
	if !s.usersReady(c) {
		return
	}
	id := c.Param("id")
	if !safeHeaderText(id) {
		fail(c, http.StatusNotFound, CodeNotFound)
		return
	}
	var req UserChange
	if !decodeJSON(c, &req) {
		return
	}
	u, err := s.users.UpdateUser(c.Request.Context(), s.actor(c), id, req)
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, u)
}
