package bench

import (
	"compress/gzip"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// OTLPSink is an OTLP/HTTP trace receiver: it accepts what the services'
// exporters send to /v1/traces (protobuf, gzip or not), counts the spans by
// the service.name of their resource, and answers success. It stands in for
// a collector, so that the benchmark measures what exporting costs the
// services, not what a collector does with the spans.
type OTLPSink struct {
	srv  *http.Server
	addr string

	mu        sync.Mutex
	spans     map[string]int64
	requests  int64
	malformed int64
}

// StartOTLPSink listens on a free loopback port.
func StartOTLPSink() (*OTLPSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &OTLPSink{addr: ln.Addr().String(), spans: map[string]int64{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", s.receive)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Endpoint is the OTEL_EXPORTER_OTLP_ENDPOINT that sends spans here.
func (s *OTLPSink) Endpoint() string { return "http://" + s.addr }

// Close stops the receiver.
func (s *OTLPSink) Close() error { return s.srv.Close() }

// Spans returns the spans received so far, by service, and in all.
func (s *OTLPSink) Spans() (map[string]int64, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.spans))
	var total int64
	for k, v := range s.spans {
		out[k] = v
		total += v
	}
	return out, total
}

func (s *OTLPSink) receive(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	var req collectortrace.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(body, &req)
	}
	s.mu.Lock()
	s.requests++
	if err != nil {
		s.malformed++
		s.mu.Unlock()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, rs := range req.GetResourceSpans() {
		service := "unknown"
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			s.spans[service] += int64(len(ss.GetSpans()))
		}
	}
	s.mu.Unlock()
	resp, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(resp)
}

func readBody(r *http.Request) ([]byte, error) {
	var rd io.Reader = io.LimitReader(r.Body, 64<<20)
	switch r.Header.Get("Content-Encoding") {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(rd)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		rd = zr
	default:
		return nil, errors.New("unsupported Content-Encoding " + r.Header.Get("Content-Encoding"))
	}
	return io.ReadAll(rd)
}
