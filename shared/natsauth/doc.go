// Package natsauth makes Choreo's secure profile: NATS with authentication,
// TLS and least privilege.
//
// # Identities
//
// [Identities] derives one NATS user per service, and the client, observer
// and admin users, from the services' saga declarations (what each binary's
// -describe prints) and the contract's request subjects. A service may
// publish only its own event types and its own dead letters, pull and ack
// only its own durables, look up only the streams and durables it needs,
// serve only its own endpoints and read only its own inbox; it may create,
// change or delete no stream and no consumer. Creating them is the admin's
// (package provision, `choreo provision`).
//
// # Files
//
// [Generate] makes, in a directory (data/secure), what is missing: a local
// CA, a server certificate for loopback signed by it, and an nkey seed file
// per identity, all mode 0600. [ServerConfig] adds TLS and the users with
// their permissions to a nats-server configuration. [Markdown] is the
// permission table (docs/permissions.md).
//
// # Basics
//
//	ids, err := natsauth.Identities(natsauth.Platform{Services: descs, Requests: client.Requests(), Queries: client.Queries()})
//	files, keys, err := natsauth.Generate("data/secure", ids)
//	err = natsauth.WriteConfig(base, files, ids, keys)  // files.Config(): nats-server -c it
//	opts, _, err := natscreds.Options(files.Creds("client"), files.CA())
//
// # Caveats
//
// Permissions are in the server's configuration: after a change (a new
// event type) the configuration is written again and nats-server must
// reload it (restart, or `nats-server --signal reload`). The monitoring port
// that nats.conf opens stays plain HTTP on loopback, unauthenticated: it
// shows connections and stream states, not messages.
package natsauth
