package console

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// contentSecurityPolicy allows the console's own scripts, styles and
// requests and nothing else: no inline script, no framing, no plugin.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// TokenHeader carries the page's token on every action.
const TokenHeader = "X-Choreo-Token"

// maxActionBody bounds what an action's request may carry (nothing is
// read from it).
const maxActionBody = 1 << 10

// guard sets the security headers on every answer and refuses a request
// for another host: a page of another site whose name resolves to the
// console's address (DNS rebinding) cannot read it.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if !s.hostAllowed(r.Host) {
			writeError(w, http.StatusMisdirectedRequest, fmt.Errorf("%w: the console answers requests for its own address only, not %q", ErrForbidden, r.Host))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hostAllowed reports whether a request's Host names the console: a
// loopback name or address, or the host it was told to listen on. Listening
// on every interface (0.0.0.0, ::), any host is.
func (s *Server) hostAllowed(host string) bool {
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	name = strings.Trim(strings.ToLower(name), "[]")
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return true
	}
	if ip := net.ParseIP(name); ip != nil && ip.IsLoopback() {
		return true
	}
	listen, _, _ := net.SplitHostPort(s.cfg.Addr)
	if ip := net.ParseIP(listen); listen == "" || (ip != nil && ip.IsUnspecified()) {
		return true
	}
	return strings.EqualFold(strings.Trim(listen, "[]"), name)
}

// guardAction lets through an action only with the page's token, from the
// console's own origin (Sec-Fetch-Site, Origin: net/http's cross-origin
// protection), and with at most a small body. A page of another site can
// neither read the token nor send it.
func (s *Server) guardAction(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusForbidden, fmt.Errorf("%w: a request from another origin", ErrForbidden))
	}))
	return cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get(TokenHeader)), []byte(s.token)) != 1 {
			writeError(w, http.StatusForbidden, fmt.Errorf("%w: no valid %s: reload the console's page and try again", ErrForbidden, TokenHeader))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxActionBody)
		next.ServeHTTP(w, r)
	}))
}
