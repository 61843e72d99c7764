// Package bench is Choreo's end-to-end benchmark (`make bench`, `choreo bench`,
// `choreo bench`): the whole stack as real processes, started from the
// repository's Procfile, driven through the public contract, measured from
// the outside.
//
// # Basics
//
//	err := bench.Main(ctx, []string{"-sync", "both"}, os.Stdout, os.Stderr)
//
// For each JetStream sync setting asked for, Run
//
//   - starts every Procfile entry, command line as written, through package
//     stack in a fresh run directory under bench/out/ holding a copy of
//     nats.conf (addresses moved to free ports; `sync_interval: always`
//     kept, or removed for the default-sync variant), an empty data/ and a
//     bin symlink to the binaries, and waits until each is ready by the
//     stack's rule (JetStream answers; each service has logged that it
//     started, its consumers bound), then until one saga completes;
//   - funds customers and stocks SKUs, then measures the raw ceiling on the
//     same server: asynchronous publishes and atomic batches of 100 to a
//     stream of its own (BENCH_RAW, file storage);
//   - runs the closed loop (workers that each place an order and wait for its
//     end) and then the open loop at fixed offered rates; the mix is nine
//     orders in ten completing, one compensated (alternately no funds, and an
//     unserved country that fails shipping after payment and reservation);
//   - measures the floor with the stack idle — the disk's fdatasync, a
//     synchronous JetStream publish — and, right after each open-loop rate,
//     the raw chain at the same rate: five hops, each a bbolt commit with
//     fsync and a JetStream publish the next hop pulls (floor.go);
//   - at the traced rates (-trace), has the services record when each event
//     passes each stage of the kernel (package stages) and splits each
//     completed saga's latency into those stages, hop by hop (breakdown.go);
//   - reads each process's CPU time and peak RSS from /proc, stops the stack
//     with SIGTERM (SIGKILL after a timeout) and opens each service's bbolt
//     file read-only for its number of commits.
//
// Every latency is measured from events, not by polling: a core NATS
// subscription to order.events.OrderCompleted.* and OrderCancelled.* matches
// the order id (the subject's last token) to the time order.place was sent
// — in the open loop, the time it was scheduled, so a sender that falls
// behind cannot hide latency (coordinated omission).
//
// # Caveats
//
// The load generator runs on the same machine and competes for its CPUs; its
// own CPU time is reported as "bench". Setup commands (deposits, restocks)
// and the warm-up are outside the measured phases; the final bbolt commit
// counts cover the whole run. Per-saga commit counts of the closed loop are
// read while the services run, from the files' meta pages (BoltTxID), since
// bbolt's lock keeps a second process from opening a file in use.
// CPU and RSS figures need Linux's /proc.
package bench
