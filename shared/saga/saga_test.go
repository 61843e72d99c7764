package saga_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/saga"
)

// A two-service saga: shop sells (Sold opens the saga, Closed ends it,
// Voided cancels it); bank charges on Sold (Charged, an effect compensated
// by Returned) or declines (Declined, a failure).
type (
	sold     struct{ ID string }
	closed   struct{ ID string }
	voided   struct{ ID string }
	charged  struct{ ID string }
	declined struct{ ID string }
	returned struct{ ID string }
)

func (sold) EventType() string     { return "Sold" }
func (closed) EventType() string   { return "Closed" }
func (voided) EventType() string   { return "Voided" }
func (charged) EventType() string  { return "Charged" }
func (declined) EventType() string { return "Declined" }
func (returned) EventType() string { return "Returned" }

func registry() *envelope.Registry {
	r := envelope.NewRegistry()
	envelope.RegisterPublic[sold](r, "shop")
	envelope.RegisterPublic[closed](r, "shop")
	envelope.RegisterPublic[voided](r, "shop")
	envelope.RegisterPublic[charged](r, "bank")
	envelope.RegisterPublic[declined](r, "bank")
	envelope.RegisterPublic[returned](r, "bank")
	return r
}

func nop[T envelope.Event](context.Context, *eventstore.Tx, envelope.Envelope, T) error { return nil }

func shop() saga.Service {
	return saga.Service{
		Name: "shop",
		Publishes: []saga.Event{
			saga.Publishes[sold](saga.Start),
			saga.Publishes[closed](saga.Complete, saga.Terminal()),
			saga.Publishes[voided](saga.Cancel),
		},
		Reactions: []saga.Reaction{
			saga.On(nop[charged], closed{}),
			saga.On(nop[declined], voided{}),
			saga.On(nop[returned]),
		},
	}
}

func bank() saga.Service {
	return saga.Service{
		Name: "bank",
		Publishes: []saga.Event{
			saga.Publishes[charged](saga.Effect, saga.CompensatedBy(returned{})),
			saga.Publishes[declined](saga.Failure),
			saga.Publishes[returned](saga.Compensation),
		},
		Reactions: []saga.Reaction{
			saga.On(nop[sold], charged{}, declined{}),
			saga.On(nop[voided], returned{}),
		},
	}
}

func describe(services ...saga.Service) []saga.Description {
	reg := registry()
	out := make([]saga.Description, len(services))
	for i, s := range services {
		out[i] = s.Describe(reg)
	}
	return out
}

func TestSoundSagaPasses(t *testing.T) {
	t.Parallel()
	reg := registry()
	for _, s := range []saga.Service{shop(), bank()} {
		if err := s.Validate(reg); err != nil {
			t.Errorf("validate %s: %v", s.Name, err)
		}
	}
	if problems := saga.Check(describe(shop(), bank())...); problems != nil {
		t.Fatalf("check: %q", problems)
	}
}

// Each broken declaration is named by the check.
func TestCheckNamesEachProblem(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		break_ func(shop, bank *saga.Service)
		want   string
	}{
		{"compensation removed", func(_, b *saga.Service) { b.Reactions = b.Reactions[:1] },
			"effect Charged (bank) is never compensated: no reaction of bank to a cancellation (Voided) emits Returned"},
		{"no compensation named", func(_, b *saga.Service) { b.Publishes[0].CompensatedBy = "" },
			"effect Charged (bank) declares no compensation"},
		{"compensation of another service", func(_, b *saga.Service) { b.Publishes[0].CompensatedBy = "Voided" },
			"effect Charged (bank) is compensated by Voided, which bank does not publish"},
		{"failure that cancels nothing", func(s, _ *saga.Service) { s.Reactions[1] = saga.On(nop[declined]) },
			"failure Declined (bank) is heard by no reaction that emits a cancellation"},
		{"event nobody hears", func(s, _ *saga.Service) { s.Reactions = slices.Delete(s.Reactions, 2, 3) },
			"bank publishes Returned, which no service reacts to and which is not declared terminal"},
		{"reaction to an undeclared event", func(s, b *saga.Service) { b.Publishes = b.Publishes[1:]; b.Reactions = b.Reactions[:0] },
			"shop reacts to Charged, which no declared service publishes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, b := shop(), bank()
			tc.break_(&s, &b)
			problems := saga.Check(describe(s, b)...)
			if !slices.Contains(problems, tc.want) {
				t.Fatalf("problems %q\ndo not include %q", problems, tc.want)
			}
		})
	}
}

func TestValidateAgainstTheRegistry(t *testing.T) {
	t.Parallel()
	reg := registry()
	s := shop()
	s.Publishes = s.Publishes[:2] // Voided registered as shop's, not declared
	s.Reactions = append(s.Reactions, saga.On(nop[sold]))
	err := s.Validate(reg)
	for _, want := range []string{
		"registers Voided as its public event, but the declaration does not say it publishes it",
		"the reaction to Declined emits Voided, which shop does not declare it publishes",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("validate: %v\nwant %q", err, want)
		}
	}
	b := bank()
	b.Publishes = append(b.Publishes, saga.Publishes[sold](saga.Step))
	if err := b.Validate(reg); err == nil || !strings.Contains(err.Error(), "publishes Sold, but its registry does not register it as bank's public event") {
		t.Errorf("validate: %v", err)
	}
}

// A handler may append only what its reaction declares.
func TestHandleRefusesAnUndeclaredEvent(t *testing.T) {
	t.Parallel()
	reg := registry()
	store, err := eventstore.Open(t.TempDir()+"/bank.db", eventstore.Options{Service: "bank", Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	appendRefund := func(_ context.Context, tx *eventstore.Tx, _ envelope.Envelope, e sold) error {
		_, err := tx.Append("account", e.ID, 0, eventstore.Meta{}, returned{ID: e.ID})
		return err
	}
	r := saga.On(appendRefund, charged{}, declined{}) // does not declare Returned
	err = store.Update(context.Background(), func(tx *eventstore.Tx) error {
		return r.Handle(context.Background(), tx, envelope.Envelope{Type: "Sold"}, sold{ID: "s1"}, reg)
	})
	if !errors.Is(err, saga.ErrUndeclared) {
		t.Fatalf("Handle: %v, want ErrUndeclared", err)
	}
	ok := saga.On(appendRefund, returned{})
	if err := store.Update(context.Background(), func(tx *eventstore.Tx) error {
		return ok.Handle(context.Background(), tx, envelope.Envelope{Type: "Sold"}, sold{ID: "s1"}, reg)
	}); err != nil {
		t.Fatalf("declared emit: %v", err)
	}
}

func TestSourcesGroupReactionsByPublisher(t *testing.T) {
	t.Parallel()
	got := shop().Describe(registry()).Sources()
	if len(got) != 1 || got[0].Service != "bank" || strings.Join(got[0].Types, ",") != "Charged,Declined,Returned" {
		t.Fatalf("sources = %+v", got)
	}
}

func TestMermaid(t *testing.T) {
	t.Parallel()
	m := saga.Mermaid(describe(shop(), bank())...)
	for _, want := range []string{
		"flowchart LR",
		`ev_Charged("Charged"):::effect`,
		"ev_Sold -- bank --> ev_Charged",
		"ev_Charged -. compensated by .-> ev_Returned",
		`rec_shop[["shop records"]]`,
		"ev_Returned --> rec_shop",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("diagram lacks %q:\n%s", want, m)
		}
	}
	if m != saga.Mermaid(describe(shop(), bank())...) {
		t.Error("diagram is not deterministic")
	}
}
