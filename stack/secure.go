package stack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/shared/natsauth"
	"github.com/choreo-dev/choreo/shared/natscreds"
	"github.com/choreo-dev/choreo/shared/provision"
	"github.com/choreo-dev/choreo/shared/saga"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// secureDir is where a secure run keeps its CA, certificates, seeds and
// configuration, under the data directory as `make run-secure` has it.
const secureDir = "secure"

// secure is a secure run's profile.
type secure struct {
	files    natsauth.Files
	ids      []natsauth.Identity
	services []saga.Description
}

// SecureProfile generates the secure profile of the Procfile's services in
// dir (natsauth.Generate: what is missing) and writes its nats-server
// configuration, base plus TLS and the identities. The services are
// described as Describe does, running their commands in runDir. It returns
// the files and identities, and the declarations they were derived from.
// `choreo secure init` and a Config.Secure stack both make theirs with it.
func SecureProfile(ctx context.Context, procfile, runDir, dir, base string) (natsauth.Files, []natsauth.Identity, []saga.Description, error) {
	descs, err := Describe(ctx, procfile, runDir)
	if err != nil {
		return natsauth.Files{}, nil, nil, err
	}
	ids, err := natsauth.Identities(natsauth.Platform{Services: descs, Requests: client.Requests(), Queries: client.Queries()})
	if err != nil {
		return natsauth.Files{}, nil, nil, err
	}
	files, keys, err := natsauth.Generate(dir, ids)
	if err != nil {
		return files, nil, nil, fmt.Errorf("generate the secure profile in %s: %w", dir, err)
	}
	if err := natsauth.WriteConfig(base, files, ids, keys); err != nil {
		return files, nil, nil, err
	}
	return files, ids, descs, nil
}

// makeSecure sets up a secure run: the profile in DataDir/secure, and the
// run's nats.conf replaced by the secure one.
func (s *Stack) makeSecure(runConf string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	files, ids, descs, err := SecureProfile(ctx, s.cfg.Procfile, s.dir, filepath.Join(s.DataDir(), secureDir), runConf)
	if err != nil {
		return err
	}
	conf, err := os.ReadFile(files.Config())
	if err != nil {
		return err
	}
	// The Procfile starts nats-server on the run's nats.conf: make it the
	// secure one.
	if err := os.WriteFile(filepath.Join(s.dir, filepath.Base(s.cfg.NATSConf)), conf, 0o600); err != nil {
		return err
	}
	for _, e := range s.entries {
		if e.Tool() && !slices.ContainsFunc(ids, func(id natsauth.Identity) bool { return id.Name == e.Name }) {
			return fmt.Errorf("Procfile entry %s: a tool runs as the identity of its name in the secure profile, and there is no %q", e.Name, e.Name)
		}
	}
	s.secure = &secure{files: files, ids: ids, services: descs}
	return nil
}

// Secure reports whether the stack runs the secure profile.
func (s *Stack) Secure() bool { return s.secure != nil }

// Identities are the secure profile's identities, nil if the stack is not
// secure.
func (s *Stack) Identities() []natsauth.Identity {
	if s.secure == nil {
		return nil
	}
	return s.secure.ids
}

// SecureFiles are the secure profile's files (CA, certificates, seeds,
// configuration); the zero Files if the stack is not secure.
func (s *Stack) SecureFiles() natsauth.Files {
	if s.secure == nil {
		return natsauth.Files{}
	}
	return s.secure.files
}

// ConnectOptions are the options to connect as identity: its credentials
// and the CA in the secure profile, none otherwise (any identity is then
// the same anonymous user).
func (s *Stack) ConnectOptions(identity string) ([]nats.Option, error) {
	if s.secure == nil {
		return nil, nil
	}
	if !slices.ContainsFunc(s.secure.ids, func(id natsauth.Identity) bool { return id.Name == identity }) {
		return nil, fmt.Errorf("stack: no identity %q in the secure profile", identity)
	}
	opts, _, err := natscreds.Options(s.secure.files.Creds(identity), s.secure.files.CA())
	return opts, err
}

// Provision creates the streams and durables of the services as the admin
// identity (package provision): StartAll does it once nats-server is ready
// and before the services start, as `make run-secure` does. It is a no-op
// outside the secure profile, where the services make their own.
func (s *Stack) Provision(ctx context.Context) error {
	if s.secure == nil {
		return nil
	}
	opts, err := s.ConnectOptions(natsauth.Admin)
	if err != nil {
		return err
	}
	nc, err := nats.Connect(s.url, append(opts, nats.Name("stack provisioning"))...)
	if err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := provision.Apply(ctx, js, s.secure.services, streams.Options{}); err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	return nil
}

// secureEnv is a service's or a tool's environment in the secure profile:
// its identity — the service's own, or for a tool the identity of its
// name (console) — and the CA.
func (s *Stack) secureEnv(e Entry) []string {
	if s.secure == nil || e.NATS() {
		return nil
	}
	return []string{"NATS_CREDS=" + s.secure.files.Creds(e.Name), "NATS_TLS_CA=" + s.secure.files.CA()}
}
