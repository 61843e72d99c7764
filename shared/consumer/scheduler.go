package consumer

import (
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// scheduler hands messages to workers so that one key's messages (one
// order's) run one at a time, in arrival order, while different keys run in
// parallel — and so that a key with a backlog never holds up the others.
//
// Each key has its own queue. A worker takes the key at the front of the
// ready line, handles one message of it, and puts the key back at the end of
// the line if more are waiting: a hot key gets one worker at a time and its
// turn like every other key. The fetch loop never waits on a worker: it only
// appends to a queue. A key's queue is bounded (perKey); a message that finds
// it full is set aside in the store (overflow) or, failing that, handed back
// to JetStream for later, so one hot key holds at most perKey messages in
// memory.
type scheduler struct {
	perKey int

	mu     sync.Mutex
	wake   *sync.Cond
	queues map[string]*keyQueue
	ready  []string // keys with messages waiting and no worker on them
	closed bool
}

type keyQueue struct {
	items  []queued
	active bool // a worker is handling one of its messages
}

// queued is a message waiting for its worker, and since when.
type queued struct {
	msg jetstream.Msg
	at  time.Time
}

func newScheduler(perKey int) *scheduler {
	s := &scheduler{perKey: perKey, queues: map[string]*keyQueue{}}
	s.wake = sync.NewCond(&s.mu)
	return s
}

// push queues a message for key; it returns false, queueing nothing, when the
// key's queue is full.
func (s *scheduler) push(key string, q queued) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	kq := s.queues[key]
	if kq == nil {
		kq = &keyQueue{}
		s.queues[key] = kq
	}
	if len(kq.items) >= s.perKey {
		return false
	}
	kq.items = append(kq.items, q)
	if len(kq.items) == 1 && !kq.active {
		s.ready = append(s.ready, key)
		s.wake.Signal()
	}
	return true
}

// next blocks until a message is ready and returns it with its key; the key
// is then the caller's until it calls done. ok is false once closed and
// drained of ready keys.
func (s *scheduler) next() (key string, q queued, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.ready) == 0 {
		if s.closed {
			return "", queued{}, false
		}
		s.wake.Wait()
	}
	key = s.ready[0]
	s.ready = s.ready[1:]
	kq := s.queues[key]
	q = kq.items[0]
	kq.items[0] = queued{}
	kq.items = kq.items[1:]
	kq.active = true
	return key, q, true
}

// done gives key back: it goes to the end of the ready line if more of its
// messages wait, and is forgotten otherwise.
func (s *scheduler) done(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kq := s.queues[key]
	kq.active = false
	if len(kq.items) > 0 {
		s.ready = append(s.ready, key)
		s.wake.Signal()
		return
	}
	delete(s.queues, key)
}

// idle reports whether key has no message queued or being handled.
func (s *scheduler) idle(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queues[key] == nil
}

// close wakes every worker; they finish what is queued, then next returns
// false.
func (s *scheduler) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.wake.Broadcast()
}

// backlog is how many messages wait, over all keys.
func (s *scheduler) backlog() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, kq := range s.queues {
		n += len(kq.items)
	}
	return n
}
