package eventschema_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/nats-io/nats.go/micro"

	"github.com/choreo-dev/choreo/shared/endpoint"
	"github.com/choreo-dev/choreo/shared/eventschema"
	"github.com/choreo-dev/choreo/shared/natstest"
)

func TestEndpointServesTheCommittedSchemas(t *testing.T) {
	t.Parallel()
	ns := natstest.RunJetStream(t)
	nc := ns.Connect(t)
	srv, err := endpoint.Start(nc, endpoint.Config{Name: depot}, eventschema.Endpoint(depot, os.DirFS(bumpDir)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	v1 := readFile(t, bumpDir+"/schemas/ParcelSent.v1.json")
	v2 := readFile(t, bumpDir+"/schemas/ParcelSent.v2.json")

	call := func(body string) (*eventschema.Reply, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		msg, err := nc.RequestWithContext(ctx, "depot.schemas", []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if err := endpoint.ParseReply(msg); err != nil {
			return nil, err
		}
		var r eventschema.Reply
		dec := json.NewDecoder(strings.NewReader(string(msg.Data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("reply %s: %v", msg.Data, err)
		}
		return &r, nil
	}
	for _, c := range []struct {
		body string
		want []string // the served files
	}{
		{``, []string{v1, v2}},
		{`{}`, []string{v1, v2}},
		{`{"type":"ParcelSent"}`, []string{v1, v2}},
		{`{"type":"ParcelSent","version":2}`, []string{v2}},
		{`{"version":1}`, []string{v1}},
	} {
		r, err := call(c.body)
		if err != nil {
			t.Fatalf("%s: %v", c.body, err)
		}
		if len(r.Schemas) != len(c.want) {
			t.Fatalf("%s: %d schemas, want %d", c.body, len(r.Schemas), len(c.want))
		}
		for i, e := range r.Schemas {
			if e.Type != "ParcelSent" || !jsonEqual(t, e.Schema, []byte(c.want[i])) {
				t.Errorf("%s: schema %d is %s v%d: %s", c.body, i, e.Type, e.Version, e.Schema)
			}
			if !strings.Contains(c.want[i], `"title": "ParcelSent v`+strconv.Itoa(e.Version)+`"`) {
				t.Errorf("%s: schema %d says version %d", c.body, i, e.Version)
			}
		}
	}

	for _, c := range []struct {
		body   string
		status int
		field  string
	}{
		{`{"type":"Crate"}`, 404, "type Crate: event type not found"},
		{`{"type":"ParcelSent","version":3}`, 404, "version 3: ParcelSent has no schema of that version"},
		{`{"version":9}`, 404, "version 9"},
		{`{"version":0}`, 400, "version"},
		{`{"version":"1"}`, 400, "version"},
		{`{"version":1.5}`, 400, "version"},
		{`{"type":7}`, 400, "type"},
		{`{"type":"a.b"}`, 400, "type"},
		{`{"type":"ParcelSent","format":"yaml"}`, 400, "format"},
		{`[]`, 400, ""},
		{`{"type":`, 400, ""},
	} {
		_, err := call(c.body)
		var e *endpoint.Error
		if !errors.As(err, &e) || e.Status != c.status || !strings.Contains(e.Message, c.field) {
			t.Errorf("%s: %v, want %d naming %q", c.body, err, c.status, c.field)
		}
	}

	// It shows in `nats micro info` like every endpoint.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msg, err := nc.RequestWithContext(ctx, "$SRV.INFO."+depot, nil)
	if err != nil {
		t.Fatal(err)
	}
	var info micro.Info
	if err := json.Unmarshal(msg.Data, &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Endpoints) != 1 || info.Endpoints[0].Subject != "depot.schemas" || info.Endpoints[0].Name != "schemas" {
		t.Errorf("endpoints %+v", info.Endpoints)
	}
}

func TestEndpointPanicsOnABadFileAtStartUp(t *testing.T) {
	t.Parallel()
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "schemas/Crate.v1.json") {
			t.Errorf("recovered %v, want a panic naming the file", r)
		}
	}()
	eventschema.Endpoint(depot, fstest.MapFS{"schemas/Crate.v1.json": {Data: []byte(`{"type":`)}})
}
