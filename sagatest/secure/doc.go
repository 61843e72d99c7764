// Package secure tests the secure profile end to end: the real binaries,
// started from the Procfile by package stack with stack.Config.Secure (TLS,
// an nkey identity per service and per role, each allowed only what it
// needs, the streams and durables provisioned by the admin), run the saga's
// happy path and its compensations, and every action an identity was not
// granted is refused and changes nothing. It also keeps docs/permissions.md,
// the permission table, up to date.
package secure
