package natsauth_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/natsauth"
	"github.com/choreo-dev/choreo/shared/natscreds"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/provision"
	"github.com/choreo-dev/choreo/shared/saga"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// platform is two services that hear each other: shop sells, bank takes the
// payment and shop hears it.
func platform() natsauth.Platform {
	return natsauth.Platform{
		Services: []saga.Description{
			{Service: "shop", Publishes: []saga.Event{{Type: "Sold", Role: saga.Start}},
				Reactions: []saga.ReactionInfo{{On: "Paid", From: "bank"}}},
			{Service: "bank", Publishes: []saga.Event{{Type: "Paid", Role: saga.Effect}, {Type: "Deposited", Role: saga.Outside}},
				Reactions: []saga.ReactionInfo{{On: "Sold", From: "shop", Emits: []string{"Paid"}}}},
		},
		Requests: []string{"shop.sell", "bank.deposit", "shop.get"},
		Queries:  []string{"shop.get"},
	}
}

func identities(t *testing.T) []natsauth.Identity {
	t.Helper()
	ids, err := natsauth.Identities(platform())
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func grants(gs []natsauth.Grant) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.Subject
	}
	return out
}

// A service's grants come from its declaration: its event types, its
// durables on the streams it hears, the streams it needs; nothing creates,
// changes or deletes a stream or a consumer.
func TestServiceGrantsAreDerived(t *testing.T) {
	t.Parallel()
	ids := identities(t)
	var names []string
	for _, id := range ids {
		names = append(names, id.Name)
	}
	if want := []string{"shop", "bank", "client", "observer", "console", "admin"}; !slices.Equal(names, want) {
		t.Fatalf("identities %v, want %v", names, want)
	}
	bank := ids[1]
	pub := grants(bank.Publish)
	for _, want := range []string{
		"bank.events.Paid.>", "bank.events.Deposited.>", "dlq.bank.>",
		"$JS.API.CONSUMER.MSG.NEXT.SHOP_EVENTS.bank", "$JS.ACK.SHOP_EVENTS.bank.>", "$JS.API.CONSUMER.INFO.SHOP_EVENTS.bank",
		"$JS.API.STREAM.INFO.BANK_EVENTS", "$JS.API.STREAM.INFO.SHOP_EVENTS", "$JS.API.STREAM.INFO.DLQ",
	} {
		if !slices.Contains(pub, want) {
			t.Errorf("bank may not publish %s: %v", want, pub)
		}
	}
	if want := []string{"bank.*", "$SRV.*", "$SRV.*.bank", "$SRV.*.bank.>", "_INBOX_bank.>"}; !slices.Equal(grants(bank.Subscribe), want) {
		t.Errorf("bank subscribes %v, want %v", grants(bank.Subscribe), want)
	}
	if !bank.AllowResponses {
		t.Error("bank cannot answer requests")
	}
	for _, id := range ids {
		for _, g := range id.Publish {
			if g.Why == "" {
				t.Errorf("%s: %s has no reason", id.Name, g.Subject)
			}
			forbidden := []string{"DELETE", "PURGE", "CREATE", "UPDATE"}
			switch id.Kind {
			case natsauth.KindAdmin:
				forbidden = []string{"STREAM.DELETE", "CONSUMER.DELETE", "DURABLE.CREATE", "STREAM.PURGE.SHOP", "STREAM.PURGE.BANK"}
			case natsauth.KindConsole:
				forbidden = []string{"STREAM.DELETE", "CONSUMER.DELETE", "PURGE", "CREATE", "UPDATE", "MSG.DELETE.SHOP", "MSG.DELETE.BANK"}
			}
			for _, f := range forbidden {
				if strings.HasPrefix(g.Subject, "$JS.API.") && strings.Contains(g.Subject, f) {
					t.Errorf("%s may publish %s", id.Name, g.Subject)
				}
			}
			if g.Subject == ">" || strings.HasPrefix(g.Subject, "$JS.API.>") {
				t.Errorf("%s has a blanket grant %s", id.Name, g.Subject)
			}
		}
		for _, g := range id.Subscribe {
			if strings.HasPrefix(g.Subject, "_INBOX") && g.Subject != id.InboxPrefix()+".>" {
				t.Errorf("%s may read another inbox: %s", id.Name, g.Subject)
			}
		}
	}
	if want := []string{"shop.sell", "bank.deposit", "shop.get", "shop.schemas", "bank.schemas"}; !slices.Equal(grants(ids[2].Publish), want) {
		t.Errorf("client publishes %v, want %v", grants(ids[2].Publish), want)
	}
}

// The console reads the queries, the streams' and durables' state and the
// events, and acts on dead letters only: no command, no stream or consumer
// created, changed or deleted.
func TestConsoleGrants(t *testing.T) {
	t.Parallel()
	ids := identities(t)
	console := ids[len(ids)-2]
	if console.Name != natsauth.Console || console.Kind != natsauth.KindConsole || console.AllowResponses {
		t.Fatalf("console identity = %+v", console)
	}
	want := []string{"shop.get", "$JS.API.STREAM.LIST", "$JS.API.STREAM.INFO.SHOP_EVENTS", "$JS.API.CONSUMER.LIST.SHOP_EVENTS",
		"$JS.API.STREAM.INFO.BANK_EVENTS", "$JS.API.CONSUMER.LIST.BANK_EVENTS",
		"$JS.API.STREAM.INFO.DLQ", "$JS.API.STREAM.MSG.GET.DLQ", "$JS.API.STREAM.MSG.DELETE.DLQ",
		"shop.events.>", "bank.events.>"}
	if got := grants(console.Publish); !slices.Equal(got, want) {
		t.Errorf("console publishes %v, want %v", got, want)
	}
	if got, want := grants(console.Subscribe), []string{"shop.events.>", "bank.events.>", "_INBOX_console.>"}; !slices.Equal(got, want) {
		t.Errorf("console subscribes %v, want %v", got, want)
	}
}

func TestPlatformValidate(t *testing.T) {
	t.Parallel()
	p := platform()
	p.Services = append(p.Services, saga.Description{Service: "admin"}, saga.Description{Service: "shop.x"}, p.Services[0])
	p.Requests = append(p.Requests, "shop.>")
	p.Queries = append(p.Queries, "shop.burn")
	_, err := natsauth.Identities(p)
	for _, want := range []string{`Services[2]: a service may not be called "admin"`, `Services[3]: service name "shop.x"`,
		"Services[4]: shop twice", `Requests[3]: "shop.>" is not a literal subject`, "Services[2]: admin publishes nothing",
		`Queries[1]: "shop.burn" is not one of Requests`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}

// Generate makes every file 0600 in a 0700 directory, and keeps what is
// valid: a second run changes no key; a server certificate that is gone is
// made again under the same CA; a broken seed is replaced.
func TestGenerateKeepsWhatIsValid(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "secure")
	ids := identities(t)
	f, keys, err := natsauth.Generate(dir, ids)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v (%v), want 0700", st.Mode().Perm(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4+len(ids) {
		t.Errorf("%d files, want %d", len(entries), 4+len(ids))
	}
	for _, e := range entries {
		info, _ := e.Info()
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", e.Name(), info.Mode().Perm())
		}
	}
	seed, _ := os.ReadFile(f.Creds("shop"))
	if natscreds.Identity(seed) != "shop" {
		t.Errorf("shop's seed file does not name it:\n%s", seed)
	}
	ca, _ := os.ReadFile(f.CA())
	_, keys2, err := natsauth.Generate(dir, ids)
	if err != nil {
		t.Fatal(err)
	}
	for name, k := range keys {
		if keys2[name] != k {
			t.Errorf("%s's key changed on a second run", name)
		}
	}
	if err := os.Remove(f.ServerCert()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.Creds("bank"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, keys3, err := natsauth.Generate(dir, ids)
	if err != nil {
		t.Fatal(err)
	}
	if ca2, _ := os.ReadFile(f.CA()); string(ca2) != string(ca) {
		t.Error("the CA changed")
	}
	if _, err := os.Stat(f.ServerCert()); err != nil {
		t.Errorf("server certificate not made again: %v", err)
	}
	if keys3["bank"] == keys["bank"] || keys3["shop"] != keys["shop"] {
		t.Errorf("bank's broken seed kept (%v) or shop's good one replaced (%v)", keys3["bank"] == keys["bank"], keys3["shop"] != keys["shop"])
	}
}

// runServer starts nats-server on the generated configuration: loopback,
// a random port, JetStream in a temp dir.
func runServer(t *testing.T) (url string, f natsauth.Files) {
	t.Helper()
	ids := identities(t)
	f, keys, err := natsauth.Generate(filepath.Join(t.TempDir(), "secure"), ids)
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("host: 127.0.0.1\nport: -1\njetstream {\n  store_dir: %q\n}\n", t.TempDir())
	if err := natsauth.WriteConfig(base, f, ids, keys); err != nil {
		t.Fatal(err)
	}
	return natstest.RunConfigFile(t, f.Config()), f
}

// connect connects as identity, collecting the server's asynchronous
// errors (permission violations) on the returned channel.
func connect(t *testing.T, url string, f natsauth.Files, identity string) (*nats.Conn, chan error) {
	t.Helper()
	opts, id, err := natscreds.Options(f.Creds(identity), f.CA())
	if err != nil || id != identity {
		t.Fatalf("options for %s: %v (identity %q)", identity, err, id)
	}
	errs := make(chan error, 64)
	opts = append(opts, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err }))
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatalf("connect as %s: %v", identity, err)
	}
	t.Cleanup(nc.Close)
	return nc, errs
}

// denied waits for the server to refuse what the connection did on subject.
func denied(t *testing.T, errs chan error, what, subject string) {
	t.Helper()
	want := fmt.Sprintf("permissions violation for %s to %q", what, subject)
	timeout := time.After(5 * time.Second)
	for {
		select {
		case err := <-errs:
			if strings.Contains(strings.ToLower(err.Error()), strings.ToLower(want)) {
				return
			}
		case <-timeout:
			t.Fatalf("no %q", want)
		}
	}
}

// The generated configuration runs as written: TLS and a key are required,
// the admin provisions, a service publishes its own events and pulls its
// own durable, and is refused another's events, another's durable and the
// stream API.
func TestServerEnforcesTheConfig(t *testing.T) {
	t.Parallel()
	url, f := runServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if nc, err := nats.Connect(url, nats.Secure(), nats.RootCAs(f.CA())); err == nil {
		nc.Close()
		t.Error("connected with TLS but without credentials")
	}
	seed, _, _ := natscreds.Options(f.Creds("shop"), "")
	if nc, err := nats.Connect(url, seed...); err == nil {
		nc.Close()
		t.Error("connected with credentials but without TLS")
	}

	admin, _ := connect(t, url, f, "admin")
	ajs, _ := jetstream.New(admin)
	if _, err := provision.Apply(ctx, ajs, platform().Services, streams.Options{}); err != nil {
		t.Fatalf("provision as admin: %v", err)
	}

	shop, shopErrs := connect(t, url, f, "shop")
	sjs, _ := jetstream.New(shop)
	if _, err := sjs.Publish(ctx, "shop.events.Sold.o-1", []byte("{}")); err != nil {
		t.Fatalf("shop publishes its own event: %v", err)
	}
	rctx, rcancel := context.WithTimeout(ctx, time.Second)
	_, err := sjs.Publish(rctx, "bank.events.Paid.o-1", []byte("{}"))
	rcancel()
	if err == nil {
		t.Error("shop published bank's event")
	}
	denied(t, shopErrs, "publish", "bank.events.Paid.o-1")
	rctx, rcancel = context.WithTimeout(ctx, time.Second)
	_, err = sjs.CreateStream(rctx, jetstream.StreamConfig{Name: "EVIL", Subjects: []string{"evil.>"}})
	rcancel()
	if err == nil {
		t.Error("shop created a stream")
	}
	denied(t, shopErrs, "publish", "$JS.API.STREAM.CREATE.EVIL")

	bank, bankErrs := connect(t, url, f, "bank")
	bjs, _ := jetstream.New(bank)
	cons, err := bjs.Consumer(ctx, "SHOP_EVENTS", "bank")
	if err != nil {
		t.Fatalf("bank looks up its durable: %v", err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for m := range batch.Messages() {
		n++
		if err := m.Ack(); err != nil {
			t.Errorf("bank acks: %v", err)
		}
	}
	if n != 1 {
		t.Errorf("bank pulled %d messages (%v), want 1", n, batch.Error())
	}
	if err := bank.Publish("$JS.API.CONSUMER.MSG.NEXT.BANK_EVENTS.shop", []byte(`{"batch":1}`)); err != nil {
		t.Fatal(err)
	}
	denied(t, bankErrs, "publish", "$JS.API.CONSUMER.MSG.NEXT.BANK_EVENTS.shop")
	if _, err := bank.Subscribe("_INBOX_shop.>", func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	denied(t, bankErrs, "subscription", "_INBOX_shop.>")
	rctx, rcancel = context.WithTimeout(ctx, time.Second)
	err = bjs.DeleteConsumer(rctx, "SHOP_EVENTS", "bank")
	rcancel()
	if err == nil {
		t.Error("bank deleted its durable")
	}
	denied(t, bankErrs, "publish", "$JS.API.CONSUMER.DELETE.SHOP_EVENTS.bank")
	if _, err := ajs.Consumer(ctx, "SHOP_EVENTS", "bank"); err != nil {
		t.Errorf("bank's durable after the refused delete: %v", err)
	}
}
