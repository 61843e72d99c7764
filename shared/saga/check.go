package saga

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// ErrUndeclared is returned when a handler emits an event its reaction does
// not declare.
var ErrUndeclared = errors.New("undeclared event")

// Check checks the services' declarations together, as one saga, and
// returns every problem it finds (nil if none):
//
//   - every published event that is not Terminal is heard by some reaction;
//   - every reaction hears an event that some declared service publishes;
//   - every Failure is heard by a reaction that may emit a Cancel;
//   - every Effect names a Compensation its own service publishes, and that
//     service has a reaction to a Cancel that may emit it — so whatever a
//     service took, a cancellation gives back.
func Check(services ...Description) []string {
	var p problems
	publisher := map[string]string{} // event type -> service
	declared := map[string]Event{}
	for _, s := range services {
		for _, e := range s.Publishes {
			if other, dup := publisher[e.Type]; dup {
				p.add("%s is published by both %s and %s", e.Type, other, s.Service)
			}
			publisher[e.Type], declared[e.Type] = s.Service, e
		}
	}
	heardBy := map[string][]string{} // event type -> services reacting
	for _, s := range services {
		for _, r := range s.Reactions {
			heardBy[r.On] = append(heardBy[r.On], s.Service)
			if _, ok := publisher[r.On]; !ok {
				p.add("%s reacts to %s, which no declared service publishes", s.Service, r.On)
			}
		}
	}
	for _, s := range services {
		for _, e := range s.Publishes {
			if !e.Terminal && len(heardBy[e.Type]) == 0 {
				p.add("%s publishes %s, which no service reacts to and which is not declared terminal", s.Service, e.Type)
			}
			switch e.Role {
			case Failure:
				if !leadsTo(services, e.Type, Cancel, declared) {
					p.add("failure %s (%s) is heard by no reaction that emits a cancellation", e.Type, s.Service)
				}
			case Effect:
				checkCompensation(&p, services, s, e, declared)
			}
		}
	}
	return p.list
}

// leadsTo reports whether some reaction to eventType may emit an event of role.
func leadsTo(services []Description, eventType string, role Role, declared map[string]Event) bool {
	for _, s := range services {
		for _, r := range s.Reactions {
			if r.On != eventType {
				continue
			}
			for _, typ := range r.Emits {
				if declared[typ].Role == role {
					return true
				}
			}
		}
	}
	return false
}

func checkCompensation(p *problems, services []Description, s Description, e Event, declared map[string]Event) {
	if e.CompensatedBy == "" {
		p.add("effect %s (%s) declares no compensation", e.Type, s.Service)
		return
	}
	comp, ok := declared[e.CompensatedBy]
	if !ok || !slices.ContainsFunc(s.Publishes, func(x Event) bool { return x.Type == e.CompensatedBy }) {
		p.add("effect %s (%s) is compensated by %s, which %s does not publish", e.Type, s.Service, e.CompensatedBy, s.Service)
		return
	}
	if comp.Role != Compensation {
		p.add("effect %s (%s) is compensated by %s, whose role is %s, not compensation", e.Type, s.Service, e.CompensatedBy, comp.Role)
	}
	for _, r := range s.Reactions {
		if declared[r.On].Role == Cancel && slices.Contains(r.Emits, e.CompensatedBy) {
			return
		}
	}
	var cancels []string
	for typ, d := range declared {
		if d.Role == Cancel {
			cancels = append(cancels, typ)
		}
	}
	sort.Strings(cancels)
	p.add("effect %s (%s) is never compensated: no reaction of %s to a cancellation (%s) emits %s",
		e.Type, s.Service, s.Service, strings.Join(cancels, ", "), e.CompensatedBy)
}

// problems collects messages.
type problems struct{ list []string }

func (p *problems) add(format string, args ...any) {
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return errors.New(strings.Join(p.list, "; "))
}
