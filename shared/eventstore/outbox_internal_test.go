package eventstore

import (
	"encoding/binary"
	"testing"

	"github.com/choreo-dev/choreo/shared/tracing"
)

// An outbox entry written before trace contexts were kept still decodes.
func TestDecodeOutboxUntracedEntry(t *testing.T) {
	t.Parallel()
	subject, id, body := "test.events.Added.a", "0190-id", `{"id":"0190-id"}`
	v := binary.BigEndian.AppendUint16(nil, uint16(len(subject)))
	v = append(v, subject...)
	v = append(v, byte(len(id)))
	v = append(v, id...)
	v = append(v, body...)
	e, err := decodeOutbox(u64(7), v)
	if err != nil {
		t.Fatal(err)
	}
	if e.Seq != 7 || e.Subject != subject || e.MsgID != id || string(e.Body) != body || !e.Trace.IsZero() {
		t.Fatalf("decoded %+v", e)
	}
	for n := range v[:len(subject)+3] {
		if _, err := decodeOutbox(u64(1), v[:n]); err == nil {
			t.Fatalf("a %d-byte prefix decoded", n)
		}
	}
}

func TestDecodeOutboxTracedEntryIsCheckedForLength(t *testing.T) {
	t.Parallel()
	v := []byte{outboxTraced, 0, 1, 's', 1, 'i', 55}
	if _, err := decodeOutbox(u64(1), v); err == nil {
		t.Fatal("a traced entry cut short decoded")
	}
	_ = tracing.Context{}
}
