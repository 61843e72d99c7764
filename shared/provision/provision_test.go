package provision_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/consumer"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/provision"
	"github.com/choreo-dev/choreo/shared/saga"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go/jetstream"
)

var services = []saga.Description{
	{Service: "shop", Publishes: []saga.Event{{Type: "Sold", Role: saga.Start}},
		Reactions: []saga.ReactionInfo{{On: "Paid", From: "bank"}, {On: "Refunded", From: "bank"}}},
	{Service: "bank", Publishes: []saga.Event{{Type: "Paid", Role: saga.Effect}, {Type: "Refunded", Role: saga.Compensation}},
		Reactions: []saga.ReactionInfo{{On: "Sold", From: "shop", Emits: []string{"Paid"}}}},
}

// Apply makes the streams and the durables the services would make for
// themselves, with the runner's configuration, and a second run changes
// nothing but what differs (a durable keeps its start).
func TestApplyMakesWhatTheServicesWould(t *testing.T) {
	t.Parallel()
	js := natstest.RunJetStream(t).JetStream(t)
	ctx := context.Background()
	r, err := provision.Apply(ctx, js, services, streams.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{streams.DLQ, "SHOP_EVENTS", "BANK_EVENTS"}; !slices.Equal(r.Streams, want) {
		t.Errorf("streams %v, want %v", r.Streams, want)
	}
	want := []provision.Durable{{Stream: "BANK_EVENTS", Name: "shop", Created: true}, {Stream: "SHOP_EVENTS", Name: "bank", Created: true}}
	if !slices.Equal(r.Consumers, want) {
		t.Errorf("consumers %+v, want %+v", r.Consumers, want)
	}
	cons, err := js.Consumer(ctx, "BANK_EVENTS", "shop")
	if err != nil {
		t.Fatal(err)
	}
	got := cons.CachedInfo().Config
	runner := consumer.Config{Service: "shop", Stream: "BANK_EVENTS", Subjects: []string{"bank.events.Paid.>", "bank.events.Refunded.>"}}.ConsumerConfig()
	if got.AckWait != runner.AckWait || got.MaxAckPending != runner.MaxAckPending || got.MaxDeliver != -1 ||
		got.AckPolicy != jetstream.AckExplicitPolicy || !slices.Equal(got.FilterSubjects, runner.FilterSubjects) ||
		got.DeliverPolicy != jetstream.DeliverByStartTimePolicy || got.OptStartTime == nil ||
		time.Since(*got.OptStartTime) < consumer.DefaultHorizon-time.Minute {
		t.Errorf("provisioned durable %+v\nthe runner's %+v", got, runner)
	}
	start := *got.OptStartTime

	r, err = provision.Apply(ctx, js, services, streams.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range r.Consumers {
		if d.Created {
			t.Errorf("second run created %+v", d)
		}
	}
	cons, _ = js.Consumer(ctx, "BANK_EVENTS", "shop")
	if st := cons.CachedInfo().Config.OptStartTime; st == nil || !st.Equal(start) {
		t.Errorf("the durable's start moved from %v to %v", start, st)
	}
}
