package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/choreo-dev/choreo/shared/natsauth"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// readyMessage is what a service logs once its endpoints serve and every
// durable consumer of it is bound (shared/service), and never before.
const readyMessage = "service started"

// listeningMessage is what a tool logs, with the address in "addr", once
// it accepts connections (the console: cmd/choreo).
const listeningMessage = "listening"

// ready is the stack's one readiness rule: it returns nil once the run p is
// ready, or why it is not yet.
//
//   - nats-server is ready when its client port accepts a connection and
//     JetStream answers an account info request.
//   - A service is ready when this run has logged readyMessage. A micro
//     $SRV.PING answers earlier — once the endpoints serve, before the
//     consumers are bound — so it is not enough.
//   - A tool is ready when this run has logged listeningMessage with its
//     address, and GET /healthz there answers 200.
//
// Both the chaos suite and the benchmark wait on this function alone: a
// probe of another kind (an HTTP /readyz, say) replaces its body and nothing
// else.
func (s *Stack) ready(ctx context.Context, p *Proc) error {
	if p.Entry.NATS() {
		opts, err := s.ConnectOptions(natsauth.Observer) // none outside the secure profile
		if err != nil {
			return err
		}
		url := s.nodeURL[p.Entry.Name]
		if url == "" {
			url = s.url
		}
		return jetStreamAnswers(ctx, url, opts...)
	}
	if p.Entry.Tool() {
		addr := loggedAddr(p.Output())
		if addr == "" {
			return errors.New(`no "` + listeningMessage + `" with its address in its log yet`)
		}
		return httpAnswers(ctx, "http://"+addr+"/healthz")
	}
	if !loggedReady(p.Output()) {
		return errors.New(`no "` + readyMessage + `" in its log yet`)
	}
	return nil
}

// Addr is the address the named tool's current run said it listens on, ""
// before it has.
func (s *Stack) Addr(name string) string {
	p := s.Proc(name)
	if p == nil || !p.Entry.Tool() {
		return ""
	}
	return loggedAddr(p.Output())
}

// httpAnswers returns nil once GET url answers 200.
func httpAnswers(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

func jetStreamAnswers(ctx context.Context, url string, opts ...nats.Option) error {
	nc, err := nats.Connect(url, append(opts, nats.Name("stack readiness probe"), nats.Timeout(time.Second))...)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = js.AccountInfo(ctx)
	return err
}

// loggedReady reports whether a JSON log holds a line whose message is
// readyMessage.
func loggedReady(log string) bool {
	_, ok := logged(log, readyMessage)
	return ok
}

// loggedAddr is the address of the last line of a JSON log whose message
// is listeningMessage, "" if none.
func loggedAddr(log string) string {
	addr, _ := logged(log, listeningMessage)
	return addr
}

// logged finds the last line of a JSON log whose message is msg — under
// zerolog's key "message", or "msg" as log/slog names it — and returns its
// "addr".
func logged(log, msg string) (addr string, ok bool) {
	for line := range strings.Lines(log) {
		if !strings.Contains(line, msg) {
			continue
		}
		var rec struct {
			Message string `json:"message"`
			Msg     string `json:"msg"`
			Addr    string `json:"addr"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && (rec.Message == msg || rec.Msg == msg) {
			addr, ok = rec.Addr, true
		}
	}
	return addr, ok
}
