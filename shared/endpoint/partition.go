package endpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// Requests to a partitioned service.
//
// Every instance of a partitioned service serves the contract's subjects (in
// one queue group, as unpartitioned) and, beside each, its partition's own
// subject "<subject>.p<index>". A request that names the key its endpoint is
// routed by (RouteBy: an order id, a customer id, a SKU) and whose key
// another partition owns is handed to that partition's subject as it came —
// the same body, headers and reply subject — so the owner answers the
// client directly, in one extra hop. A request whose endpoint gathers
// (Gather: a list across all orders, a payment found by its order) is asked
// of every partition and their answers merged. Anything else is answered
// where it lands.

// RouteBy makes a partitioned service answer the endpoint in the partition
// that owns the request's top-level string field (an empty or missing one is
// answered where it lands: an order placed without an id gets one this
// partition owns).
func RouteBy(field string) Option {
	return func(e *Endpoint) { e.route = field }
}

// Merge combines the answers of every partition to one request: the
// request's body and each partition's successful reply body. An error it
// returns is replied as Handler errors are.
type Merge func(request []byte, replies [][]byte) (any, error)

// Gather makes a partitioned service ask every partition and merge their
// answers. Error replies are left out (a 404 of the partitions that do not
// hold what is asked for, say); if every partition failed, the first
// partition's error is the answer.
func Gather(merge Merge) Option {
	return func(e *Endpoint) { e.merge = merge }
}

// PartitionSubject is partition p's own subject for an endpoint's subject.
func PartitionSubject(subject string, p int) string { return subject + ".p" + strconv.Itoa(p) }

// routeKey is the request's top-level string field, "" if absent or not a
// string (an invalid body is left for the handler to refuse, wherever it
// lands).
func routeKey(data []byte, field string) string {
	if field == "" || !bytes.Contains(data, []byte(`"`+field+`"`)) || len(data) > MaxBodySize {
		return ""
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(data, &fields) != nil {
		return ""
	}
	var key string
	if json.Unmarshal(fields[field], &key) != nil {
		return ""
	}
	return key
}

// forward hands m to the partition that owns its key, if another does, and
// reports whether it did.
func (s *Server) forward(e *served, m *nats.Msg) bool {
	if !s.part.Partitioned() || e.route == "" {
		return false
	}
	key := routeKey(m.Data, e.route)
	if key == "" || s.part.Owns(key) {
		return false
	}
	out := &nats.Msg{Subject: PartitionSubject(e.Subject, s.part.Of(key)), Reply: m.Reply, Data: m.Data, Header: m.Header}
	if err := s.nc.PublishMsg(out); err != nil {
		s.log.Warn().Err(err).Str(keySubject, m.Subject).Msg("cannot hand a request to its partition")
	}
	return true
}

// gather answers req, a request to a gathering endpoint, from every
// partition: this one's handler, the others through their own subjects.
func (s *Server) gather(ctx context.Context, e *served, req *request) {
	replies := make([]*nats.Msg, s.part.Count)
	var wg sync.WaitGroup
	for p := range s.part.Count {
		if p == s.part.Index {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rctx, cancel := context.WithTimeout(ctx, min(s.timeout, 10*time.Second))
			defer cancel()
			msg := &nats.Msg{Subject: PartitionSubject(e.Subject, p), Data: req.data, Header: nats.Header(req.headers)}
			if r, err := s.nc.RequestMsgWithContext(rctx, msg); err == nil {
				replies[p] = r
			} else {
				replies[p] = errorMsg(err)
			}
		}()
	}
	local := &request{nc: s.nc, subject: req.subject, data: req.data, headers: req.headers, capture: func(m *nats.Msg) {
		replies[s.part.Index] = m
	}}
	s.run(ctx, &e.Endpoint, local)
	wg.Wait()
	var ok [][]byte
	var first *nats.Msg
	for _, r := range replies {
		if r == nil {
			continue
		}
		if r.Header.Get(micro.ErrorCodeHeader) == "" {
			ok = append(ok, r.Data)
		} else if first == nil {
			first = r
		}
	}
	if len(ok) == 0 && first != nil {
		_ = req.send(&nats.Msg{Header: first.Header, Data: first.Data}, nil,
			first.Header.Get(micro.ErrorCodeHeader), first.Header.Get(micro.ErrorCodeHeader)+":"+first.Header.Get(micro.ErrorHeader))
		return
	}
	v, err := e.merge(req.data, ok)
	var body []byte
	if err == nil {
		body, err = json.Marshal(v)
	}
	reply(ctx, req, body, err)
}

// errorMsg is a partition that did not answer, as an error reply.
func errorMsg(err error) *nats.Msg {
	desc := "partition did not answer: " + err.Error()
	if errors.Is(err, nats.ErrNoResponders) {
		desc = "partition not running"
	}
	return &nats.Msg{Header: nats.Header{micro.ErrorCodeHeader: []string{"500"}, micro.ErrorHeader: []string{desc}},
		Data: []byte(`{"error":{"code":"internal","message":"internal error"}}`)}
}
