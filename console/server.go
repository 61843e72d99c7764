package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

//go:embed web
var webFS embed.FS

// Server is the console: its pages, its JSON API and the readers behind
// them. Make one with New and serve it with Run.
type Server struct {
	cfg     Config
	nc      *nats.Conn
	cl      *client.Client
	js      jetstream.JetStream
	log     zerolog.Logger
	token   string // the per-process secret every action must carry
	version string // the assets' hash, so a browser never runs old ones
	pages   *template.Template
	static  fs.FS
	hub     *hub
	watch   *watcher
	col     *collector
	handler http.Handler

	stop     chan struct{} // closed when Run ends: the event streams end
	stopOnce sync.Once
}

// New returns a console reading through nc (the caller keeps and closes
// it), or the problems of cfg.
func New(cfg Config, nc *nats.Conn) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("console config: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	tok := make([]byte, 32)
	if _, err := rand.Read(tok); err != nil {
		return nil, err
	}
	static, err := fs.Sub(webFS, "web/static")
	if err != nil {
		return nil, err
	}
	pages, err := template.ParseFS(webFS, "web/page.html")
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, nc: nc, js: js, log: cfg.Logger, cl: client.New(nc, client.WithTimeout(cfg.Timeout)),
		token: base64.RawURLEncoding.EncodeToString(tok), version: assetsVersion(static), pages: pages, static: static,
		hub: newHub(), stop: make(chan struct{})}
	r := newRates(cfg.Window, time.Now)
	s.watch = newWatcher(nc, r, cfg.Logger)
	s.col = &collector{cfg: cfg, nc: nc, js: js, hc: newHTTPClient(cfg.Timeout), w: s.watch, rates: r}
	s.handler = s.routes()
	return s, nil
}

// assetsVersion is a short hash of the static files.
func assetsVersion(static fs.FS) string {
	h := sha256.New()
	_ = fs.WalkDir(static, ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(static, path)
			h.Write([]byte(path))
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// Run serves the console on ln until ctx ends, and reads the overview
// every Config.Every meanwhile. It logs "listening" with the address once
// it accepts requests.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute,
		MaxHeaderBytes: 64 << 10, ErrorLog: nil}
	// Connections that carry no request yet (a browser opens some ahead
	// of time): a shutdown closes them at once rather than waiting for
	// them, as net/http does, for 5 seconds.
	var freshMu sync.Mutex
	fresh := map[net.Conn]bool{}
	srv.ConnState = func(c net.Conn, st http.ConnState) {
		freshMu.Lock()
		defer freshMu.Unlock()
		if st == http.StateNew {
			fresh[c] = true
		} else {
			delete(fresh, c)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { s.overviewLoop(ctx) })
	wg.Go(func() { s.movedLoop(ctx) })
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	s.log.Info().Str("addr", ln.Addr().String()).Msg("listening")
	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
	}
	s.stopOnce.Do(func() { close(s.stop) }) // the event streams end, so the shutdown does not wait for them
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	shut := make(chan struct{})
	go func() {
		_ = srv.Shutdown(sctx)
		close(shut)
	}()
	freshMu.Lock()
	for c := range fresh {
		_ = c.Close()
	}
	freshMu.Unlock()
	<-shut
	cancel()
	wg.Wait()
	s.watch.close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// overviewLoop reads the overview every Config.Every and pushes it.
func (s *Server) overviewLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.Every)
	defer t.Stop()
	for {
		s.hub.publish("overview", s.col.collect(ctx))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// movedEvery is how often the pages are told which orders moved.
const movedEvery = 300 * time.Millisecond

// movedLoop tells the pages which orders' events went by.
func (s *Server) movedLoop(ctx context.Context) {
	t := time.NewTicker(movedEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if m, ok := s.watch.flush(); ok {
				s.hub.publish("moved", m)
			}
		}
	}
}

// overview is the last overview read, or one read now.
func (s *Server) overview(ctx context.Context) *Overview {
	if o := s.col.current(); o != nil {
		return o
	}
	return s.col.collect(ctx)
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /{$}", s.page("overview", "Overview"))
	mux.HandleFunc("GET /sagas", s.page("sagas", "Sagas"))
	mux.HandleFunc("GET /sagas/{id}", s.sagaPage)
	mux.HandleFunc("GET /dead-letters", s.page("dead-letters", "Dead letters"))
	mux.Handle("GET /static/", http.StripPrefix("/static/", s.staticFiles()))

	mux.HandleFunc("GET /api/overview", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.overview(r.Context())) })
	mux.HandleFunc("GET /api/sagas", s.apiSagas)
	mux.HandleFunc("GET /api/sagas/{id}", s.apiSaga)
	mux.HandleFunc("GET /api/dead-letters", s.apiLetters)
	mux.HandleFunc("GET /api/dead-letters/{seq}", s.apiLetter)
	mux.Handle("POST /api/dead-letters/{seq}/redrive", s.action(true))
	mux.Handle("POST /api/dead-letters/{seq}/purge", s.action(false))
	mux.HandleFunc("GET /api/dead-letters/{seq}/{action}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, errors.New("an action is a POST from the console's page; a GET changes nothing"))
	})
	mux.HandleFunc("GET /api/events", s.events)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeError(w, http.StatusMethodNotAllowed, errors.New("the console changes nothing but through its actions"))
			return
		}
		s.render(w, http.StatusNotFound, pageData{Page: "not-found", Title: "Not found"})
	})
	return s.guard(mux)
}

// pageData is what the page template is given.
type pageData struct {
	Page, Title, OrderID string
	Token, Version       string
	StuckAfter           string
}

func (s *Server) page(name, title string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		s.render(w, http.StatusOK, pageData{Page: name, Title: title})
	}
}

func (s *Server) sagaPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !validID(id) {
		s.render(w, http.StatusNotFound, pageData{Page: "not-found", Title: "Not found"})
		return
	}
	s.render(w, http.StatusOK, pageData{Page: "saga", Title: "Saga " + id, OrderID: id})
}

func (s *Server) render(w http.ResponseWriter, code int, d pageData) {
	d.Token, d.Version, d.StuckAfter = s.token, s.version, s.cfg.StuckAfter.String()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if err := s.pages.ExecuteTemplate(w, "page.html", d); err != nil {
		s.log.Error().Err(err).Str("page", d.Page).Msg("render")
	}
}

// staticFiles serves the embedded assets; the pages name them with the
// assets' version, so they may be kept a while.
func (s *Server) staticFiles() http.Handler {
	files := http.FileServerFS(s.static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

func (s *Server) apiSagas(w http.ResponseWriter, r *http.Request) {
	q, err := parseSagaQuery(r.URL.Query().Get)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, listSagas(r.Context(), s.cl, q, s.cfg.StuckAfter, time.Now()))
}

func (s *Server) apiSaga(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !validID(id) {
		writeError(w, http.StatusBadRequest, fmt.Errorf("%w: the order id must match %s", ErrBadRequest, idPattern))
		return
	}
	o := s.overview(r.Context())
	writeJSON(w, http.StatusOK, readSaga(r.Context(), s.cl, id, lanesOf(s.cfg.Services), o.down, s.cfg.StuckAfter, time.Now()))
}

// down says why service cannot act now, as the overview saw it: "" if it
// can, or if the overview cannot tell.
func (o *Overview) down(service string) string {
	for _, st := range o.Services {
		if st.Name != service || !st.Served {
			continue
		}
		switch {
		case !st.Reachable:
			return service + " does not answer on " + st.HTTPAddr + " (" + st.Error + "): is it running?"
		case !st.Ready:
			for _, c := range st.Checks {
				if !c.OK {
					return service + " is not ready: " + c.Name + ": " + c.Reason + "."
				}
			}
			return service + " is not ready."
		}
	}
	return ""
}

func (s *Server) apiLetters(w http.ResponseWriter, r *http.Request) {
	service, limit, err := parseLetterQuery(r.URL.Query().Get)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 3*s.cfg.Timeout)
	defer cancel()
	writeJSON(w, http.StatusOK, listLetters(ctx, s.js, service, limit))
}

// seq reads a letter's sequence from the path.
func seq(r *http.Request) (uint64, error) {
	n, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%w: seq must be a DLQ stream sequence (a positive integer)", ErrBadRequest)
	}
	return n, nil
}

func (s *Server) apiLetter(w http.ResponseWriter, r *http.Request) {
	n, err := seq(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	l, err := getLetter(r.Context(), s.js, n, s.cfg.Timeout)
	switch {
	case errNotFound(err):
		writeError(w, http.StatusNotFound, fmt.Errorf("no dead letter %d: it was redriven or purged, or never was", n))
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, errors.New(dlqUnavailable(err)))
	default:
		writeJSON(w, http.StatusOK, letterDetail(l))
	}
}

// action is a redrive or a purge: a POST with the page's token from the
// console's own origin (guardAction).
func (s *Server) action(redrive bool) http.Handler {
	what := map[bool]string{true: "redrive", false: "purge"}[redrive]
	return s.guardAction(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := seq(r)
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		res, err := act(r.Context(), s.js, n, redrive, s.cfg.Timeout)
		log := s.log.With().Str("action", what).Uint64("dlq_seq", n).Logger()
		switch {
		case errNotFound(err):
			writeError(w, http.StatusNotFound, fmt.Errorf("no dead letter %d: it was redriven or purged already", n))
		case err != nil:
			log.Error().Err(err).Msg("dead letter action failed")
			writeError(w, http.StatusBadGateway, fmt.Errorf("%s %d: %w", what, n, err))
		default:
			log.Info().Str("result", res.Message).Msg("dead letter " + what + "d")
			writeJSON(w, http.StatusOK, res)
		}
	}))
}

// events streams the overview and the orders that moved to a page
// (server-sent events) until it leaves or the console stops.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	ch, leave, ok := s.hub.listen()
	if !ok {
		writeError(w, http.StatusServiceUnavailable, errors.New("too many pages listening"))
		return
	}
	defer leave()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	rc := http.NewResponseController(w)
	send := func(event string, data []byte) bool {
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if o := s.col.current(); o != nil {
		if b, err := json.Marshal(o); err == nil && !send("overview", b) {
			return
		}
	} else if !send("hello", []byte("{}")) {
		return
	}
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.stop:
			return
		case <-keepalive.C:
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case m := <-ch:
			if !send(m.event, m.data) {
				return
			}
		}
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}
