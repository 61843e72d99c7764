package eventschema_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventschema"
)

const fix = "go test ./depot/depotevents -run Schemas -update"

// bumpDir holds ParcelSent's committed v1 and v2 schemas: the version bump
// as a service commits it.
const bumpDir = "testdata/bump"

// packageDir returns a temporary events package directory holding the given
// committed files of bumpDir.
func packageDir(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, eventschema.Dir), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		copyFile(t, filepath.Join(bumpDir, eventschema.Dir, f), filepath.Join(dir, eventschema.Dir, f))
	}
	return dir
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func check(t *testing.T, r *envelope.Registry, dir string, update bool, examples ...envelope.Event) ([]string, error) {
	t.Helper()
	return eventschema.Check(eventschema.Config{Service: depot, Registry: r, PackageDir: dir,
		Examples: examples, Update: update, Fix: fix})
}

// wantProblem fails unless err matches sentinel and says every part.
func wantProblem(t *testing.T, err, sentinel error, parts ...string) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("err = %v, want %v", err, sentinel)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("message does not say %q:\n%v", p, err)
		}
	}
}

// The committed fixtures are what the generator writes for each version's
// Go type, so the bump below is the real thing.
func TestBumpFixturesAreGenerated(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		version int
		example any
	}{{1, exampleV1}, {2, exampleV2}} {
		s, err := eventschema.ForEvent(depot, "ParcelSent", c.version, reflect.TypeOf(c.example), c.example)
		if err != nil {
			t.Fatal(err)
		}
		data, err := eventschema.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(bumpDir, eventschema.Dir, eventschema.FileName("ParcelSent", c.version))
		if got := readFile(t, path); got != string(data) {
			t.Errorf("%s is not what v%d's Go type generates:\n%s", path, c.version, data)
		}
	}
}

// A version bump: ParcelSent v2 renamed a field and added a required one,
// with an upcaster from v1; v1's file stays, v2's is beside it, and a v1
// event still loads.
func TestCheckPassesAfterAVersionBump(t *testing.T) {
	t.Parallel()
	r := registryV2()
	written, err := check(t, r, bumpDir, false, exampleV2)
	if err != nil || len(written) > 0 {
		t.Fatalf("check: wrote %v, %v", written, err)
	}

	files, err := eventschema.Load(os.DirFS(bumpDir))
	if err != nil {
		t.Fatal(err)
	}
	v1 := files[0]
	if v1.Version != 1 {
		t.Fatalf("first file is %s", v1.Path)
	}
	ev, err := r.Decode(envelope.Envelope{Type: "ParcelSent", SchemaVersion: 1, Data: v1.Schema.Examples[0]})
	if err != nil {
		t.Fatal(err)
	}
	want := exampleV2
	want.Carrier = "unknown"
	if !reflect.DeepEqual(ev, want) {
		t.Errorf("v1 example decoded as %+v, want %+v", ev, want)
	}
}

// The proof that the check works: ParcelSent's Go type changed (a field
// renamed, a required one added) while its schema version stayed 1.
func TestCheckFailsOnAnIncompatibleChangeWithoutABump(t *testing.T) {
	t.Parallel()
	dir := packageDir(t, "ParcelSent.v1.json")
	before := readFile(t, filepath.Join(dir, "schemas/ParcelSent.v1.json"))
	r := envelope.NewRegistry()
	envelope.RegisterPublic[parcelSent](r, depot) // the changed type, still v1

	for _, update := range []bool{false, true} {
		written, err := check(t, r, dir, update, exampleV2)
		wantProblem(t, err, eventschema.ErrIncompatible,
			"ParcelSent v1: incompatible schema change with schemas/ParcelSent.v1.json",
			"field weight was renamed to weight_grams",
			"field carrier was added as required",
			"raise ParcelSent's schema version: register an upcaster that turns v1 data into v2",
			"run `"+fix+"`", "ParcelSent.v2.json")
		if len(written) > 0 {
			t.Errorf("update=%v wrote %v", update, written)
		}
	}
	if after := readFile(t, filepath.Join(dir, "schemas/ParcelSent.v1.json")); after != before {
		t.Error("the committed v1 file was rewritten")
	}
	if _, err := os.Stat(filepath.Join(dir, "schemas/ParcelSent.v2.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("v2 written without a bump: %v", err)
	}
}

type parcelSentInsured struct {
	ParcelID string    `json:"parcel_id"`
	Weight   int64     `json:"weight"`
	Lines    []line    `json:"lines"`
	SentAt   time.Time `json:"sent_at"`
	Note     string    `json:"note,omitempty"`
	Insured  bool      `json:"insured,omitempty"`
}

func (parcelSentInsured) EventType() string { return "ParcelSent" }

// An optional field added keeps v1: the file is out of date, and -update
// regenerates it.
func TestCheckRegeneratesAnAddition(t *testing.T) {
	t.Parallel()
	dir := packageDir(t, "ParcelSent.v1.json")
	r := envelope.NewRegistry()
	envelope.RegisterPublic[parcelSentInsured](r, depot)
	ex := parcelSentInsured{ParcelID: "p1", Weight: 1200, SentAt: sentAt, Insured: true}

	_, err := check(t, r, dir, false, ex)
	wantProblem(t, err, eventschema.ErrOutOfDate,
		"ParcelSent v1", "schemas/ParcelSent.v1.json differs from the Go type (field insured was added (optional))",
		"run `"+fix+"` to regenerate it")
	if errors.Is(err, eventschema.ErrIncompatible) {
		t.Error("an addition is reported as incompatible")
	}

	written, err := check(t, r, dir, true, ex)
	if err != nil || len(written) != 1 || filepath.Base(written[0]) != "ParcelSent.v1.json" {
		t.Fatalf("update: wrote %v, %v", written, err)
	}
	if written, err := check(t, r, dir, false, ex); err != nil || len(written) > 0 {
		t.Fatalf("after update: wrote %v, %v", written, err)
	}
	if !strings.Contains(readFile(t, written[0]), `"insured"`) {
		t.Error("the regenerated file lacks the new field")
	}
}

// Raising the version writes the new version's file beside the old one,
// exactly the committed fixture, and leaves the old one alone.
func TestCheckWritesTheNewVersionBesideTheOld(t *testing.T) {
	t.Parallel()
	dir := packageDir(t, "ParcelSent.v1.json")
	r := registryV2()

	_, err := check(t, r, dir, false, exampleV2)
	wantProblem(t, err, eventschema.ErrOutOfDate, "ParcelSent v2", "schemas/ParcelSent.v2.json is not committed", fix)

	written, err := check(t, r, dir, true, exampleV2)
	if err != nil || len(written) != 1 {
		t.Fatalf("update: wrote %v, %v", written, err)
	}
	for _, name := range []string{"ParcelSent.v1.json", "ParcelSent.v2.json"} {
		if readFile(t, filepath.Join(dir, "schemas", name)) != readFile(t, filepath.Join(bumpDir, "schemas", name)) {
			t.Errorf("%s differs from the committed fixture", name)
		}
	}
}

// Every committed old version's example must load through the upcasters
// into data that satisfies the current version.
func TestCheckFailsWhenAnOldExampleNoLongerLoads(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		up   envelope.Upcaster
		want string
	}{
		{"upcaster fails", func(json.RawMessage) (json.RawMessage, error) { return nil, errors.New("boom") },
			"ParcelSent v1: invalid: its example does not load as v2: upcast ParcelSent v1: boom"},
		{"wrong type", func(d json.RawMessage) (json.RawMessage, error) {
			var m map[string]any
			if err := json.Unmarshal(d, &m); err != nil {
				return nil, err
			}
			m["weight_grams"] = "heavy"
			return json.Marshal(m)
		}, "ParcelSent v1: invalid: its example does not load as v2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := envelope.NewRegistry()
			envelope.RegisterPublic[parcelSent](r, depot, c.up)
			_, err := check(t, r, bumpDir, false, exampleV2)
			wantProblem(t, err, eventschema.ErrInvalid, c.want)
		})
	}
}

func TestCheckReportsMissingAndStrayFiles(t *testing.T) {
	t.Parallel()
	t.Run("old version missing", func(t *testing.T) {
		t.Parallel()
		_, err := check(t, registryV2(), packageDir(t, "ParcelSent.v2.json"), true, exampleV2)
		wantProblem(t, err, eventschema.ErrInvalid, "ParcelSent v1", "schemas/ParcelSent.v1.json is missing",
			"restore the file from version control")
	})
	t.Run("version above the registered one", func(t *testing.T) {
		t.Parallel()
		_, err := check(t, registryV1(), packageDir(t, "ParcelSent.v1.json", "ParcelSent.v2.json"), false, exampleV1)
		wantProblem(t, err, eventschema.ErrInvalid, "schemas/ParcelSent.v2.json", "ParcelSent is at schema version 1")
	})
	t.Run("type not published", func(t *testing.T) {
		t.Parallel()
		dir := packageDir(t, "ParcelSent.v1.json")
		data := strings.Replace(readFile(t, filepath.Join(dir, "schemas/ParcelSent.v1.json")), "ParcelSent v1", "Crate v1", 1)
		if err := os.WriteFile(filepath.Join(dir, "schemas/Crate.v1.json"), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := check(t, registryV1(), dir, false, exampleV1)
		wantProblem(t, err, eventschema.ErrInvalid, "schemas/Crate.v1.json", "depot publishes no event type Crate")
	})
	t.Run("no example", func(t *testing.T) {
		t.Parallel()
		_, err := check(t, registryV1(), packageDir(t, "ParcelSent.v1.json"), false)
		wantProblem(t, err, eventschema.ErrInvalid, "ParcelSent", "no example")
	})
	t.Run("bad file name", func(t *testing.T) {
		t.Parallel()
		dir := packageDir(t)
		copyFile(t, filepath.Join(bumpDir, "schemas/ParcelSent.v1.json"), filepath.Join(dir, "schemas/ParcelSent.json"))
		_, err := check(t, registryV1(), dir, true, exampleV1)
		wantProblem(t, err, eventschema.ErrInvalid, "schemas/ParcelSent.json", "<Type>.v<N>.json")
	})
	t.Run("other services' types are not covered", func(t *testing.T) {
		t.Parallel()
		r := registryV1()
		envelope.RegisterPublic[line](r, "elsewhere")
		if _, err := check(t, r, packageDir(t, "ParcelSent.v1.json"), false, exampleV1); err != nil {
			t.Fatal(err)
		}
	})
}
