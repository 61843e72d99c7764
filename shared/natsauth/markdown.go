package natsauth

import (
	"fmt"
	"strings"
)

// Markdown is the permission table of ids: who may publish and subscribe to
// what, and why. docs/permissions.md is this, checked to be up to date.
func Markdown(ids []Identity) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("| identity | kind | inbox prefix | publishes | subscribes | answers requests |\n| --- | --- | --- | --: | --: | --- |\n")
	for _, id := range ids {
		w("| [%s](#%s) | %s | `%s` | %d | %d | %s |\n", id.Name, id.Name, id.Kind, id.InboxPrefix(), len(id.Publish), len(id.Subscribe), yes(id.AllowResponses))
	}
	for _, id := range ids {
		w("\n### %s\n\n", id.Name)
		w("| may | subject | why |\n| --- | --- | --- |\n")
		for _, g := range id.Publish {
			w("| publish | `%s` | %s |\n", g.Subject, g.Why)
		}
		for _, g := range id.Subscribe {
			w("| subscribe | `%s` | %s |\n", g.Subject, g.Why)
		}
		if id.AllowResponses {
			w("| reply | the reply subject of a request it received, once | answer its requests without a grant on anyone's inbox (`allow_responses`) |\n")
		}
	}
	return b.String()
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
