package front

import (
	"net/http"
	"regexp"
)

// SecurityHeaders sets on h the headers both front ends send with every
// answer — no sniffing, no framing, no referrer, no sharing across origins,
// no caching, and HSTS when hsts is set — with each front end's own
// Content-Security-Policy and Permissions-Policy: the API forbids
// everything (its answers are data), the pages allow their own assets.
func SecurityHeaders(h http.Header, csp, permissions string, hsts bool) {
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", permissions)
	h.Set("Cache-Control", "no-store")
	if hsts {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

// ValidRequestID reports whether id is a request id a client may choose
// (X-Request-ID): a plain token of 8 to 64 letters, digits, '.', '_' or
// '-', safe in a header and a log line.
func ValidRequestID(id string) bool { return requestIDPattern.MatchString(id) }
