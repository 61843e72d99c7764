package natstest

import "testing"

func TestWithSyncAlwaysReachesServer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts []Option
		want bool
	}{
		{"default", nil, false},
		{"sync always", []Option{WithSyncAlways()}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := RunJetStream(t, tc.opts...)
			s.mu.Lock()
			got := s.srv.JetStreamConfig().SyncAlways
			s.mu.Unlock()
			if got != tc.want {
				t.Fatalf("SyncAlways = %v, want %v", got, tc.want)
			}
		})
	}
}
