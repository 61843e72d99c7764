package stack

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/choreo-dev/choreo/shared/natsauth"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// readyMessage is what a service logs once its endpoints serve and every
// durable consumer of it is bound (shared/service), and never before.
const readyMessage = "service started"

// ready is the stack's one readiness rule: it returns nil once the run p is
// ready, or why it is not yet.
//
//   - nats-server is ready when its client port accepts a connection and
//     JetStream answers an account info request.
//   - A service is ready when this run has logged readyMessage. A micro
//     $SRV.PING answers earlier — once the endpoints serve, before the
//     consumers are bound — so it is not enough.
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
	if !loggedReady(p.Output()) {
		return errors.New(`no "` + readyMessage + `" in its log yet`)
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
// readyMessage: under zerolog's key "message", or "msg" as log/slog names
// it.
func loggedReady(log string) bool {
	for line := range strings.Lines(log) {
		if !strings.Contains(line, readyMessage) {
			continue
		}
		var rec struct {
			Message string `json:"message"`
			Msg     string `json:"msg"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && (rec.Message == readyMessage || rec.Msg == readyMessage) {
			return true
		}
	}
	return false
}
