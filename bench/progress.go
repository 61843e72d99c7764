package bench

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Progress draws one updating status line on a terminal (stderr), or a
// plain line every few seconds when the output is not a terminal. A nil
// *Progress draws nothing.
type Progress struct {
	W   io.Writer
	TTY bool
}

// NewProgress returns a Progress on w, redrawing in place if w is a
// terminal.
func NewProgress(w io.Writer) *Progress {
	p := &Progress{W: w}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.TTY = true
		}
	}
	return p
}

// Start shows label, a bar over total and what status says, until the
// returned stop is called (stop is idempotent). After total the bar is full
// and the line keeps updating while the phase drains.
func (p *Progress) Start(label string, total time.Duration, status func(elapsed time.Duration) string) (stop func()) {
	if p == nil || p.W == nil {
		return func() {}
	}
	start := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	line := func() string {
		el := time.Since(start)
		return fmt.Sprintf("%-14s %s %5.1fs/%.0fs  %s", label, Bar(el, total, 24), el.Seconds(), total.Seconds(), status(el))
	}
	go func() {
		defer wg.Done()
		every := 250 * time.Millisecond
		if !p.TTY {
			every = 5 * time.Second
		}
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				if p.TTY {
					fmt.Fprintf(p.W, "\r%s\x1b[K\n", line())
				} else {
					fmt.Fprintln(p.W, line())
				}
				return
			case <-t.C:
				if p.TTY {
					fmt.Fprintf(p.W, "\r%s\x1b[K", line())
				} else {
					fmt.Fprintln(p.W, line())
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
		})
	}
}

// Bar is a progress bar of width cells for elapsed out of total.
func Bar(elapsed, total time.Duration, width int) string {
	f := 1.0
	if total > 0 {
		f = min(max(elapsed.Seconds()/total.Seconds(), 0), 1)
	}
	n := int(f*float64(width) + 0.5)
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

// Logf prints a line of its own (not for the status line).
func (p *Progress) Logf(format string, args ...any) {
	if p == nil || p.W == nil {
		return
	}
	fmt.Fprintf(p.W, format+"\n", args...)
}
