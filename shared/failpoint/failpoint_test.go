package failpoint

import "testing"

func TestParse(t *testing.T) {
	m := parse("payment/consumer.after-commit@3, order/outbox.after-publish@1,bad,x@0,y@z")
	if len(m) != 2 || m["payment/consumer.after-commit"].at != 3 || m["order/outbox.after-publish"].at != 1 {
		t.Fatalf("parsed %v", m)
	}
	if len(parse("")) != 0 {
		t.Fatal("empty spec armed something")
	}
}
