// Package stack runs the repository's Procfile as real OS processes, in a
// run directory of their own, for the tests and tools that need the real
// programs: the crash suite (sagatest/chaos) and the benchmark (bench).
//
// # Basics
//
//	_ = stack.Build(ctx, repo, bin)         // or `make build` into repo/bin
//	s, err := stack.New(stack.Config{Repo: repo, Bin: bin})
//	defer s.Close()                         // kills what runs, removes the run directory
//	err = s.StartAll(ctx)                   // nats-server, then every service, each ready
//	nc, _ := nats.Connect(s.URL())
//	s.Kill("payment")                       // SIGKILL, and wait for it to end
//	s.Start(ctx, "payment")                 // a new process on the same data
//	s.Pause("order"); s.Cont("order")       // SIGSTOP, SIGCONT
//	ex, err := s.Stop("order", 30*time.Second) // SIGTERM; ex.Code is its exit code
//	exits := s.StopAll(30 * time.Second)    // services first, nats-server last
//
// The processes are the Procfile's entries: the one whose program is
// nats-server, the tools — entries whose program is choreo (the console),
// run only with Config.Tools — and every other entry, a service. Nothing
// names the services: a line added to the Procfile is started with the
// others. Each
// command line runs as written, through /bin/sh as goreman runs it, in the
// run directory, which holds:
//
//   - nats.conf, rewritten for the run: client and monitoring addresses on
//     two free loopback ports (the same across restarts, so clients
//     reconnect), and sync_interval as Config.Sync says;
//   - data/, the services' CHOREO_DATA_DIR, and JetStream's store where
//     nats.conf's relative store_dir puts it (data/nats);
//   - logs/<name>.log, each process's output, a restart appending to it;
//   - bin, a symlink to Config.Bin.
//
// Each process gets the harness's environment without any CHOREO_,
// NATS_URL, NATS_CREDS or NATS_TLS_CA setting, then NATS_URL,
// CHOREO_DATA_DIR and CHOREO_LOG_LEVEL for the run (and, in the secure
// profile, its identity), then Config.Env, then what Stack.Setenv gave its
// entry.
//
// With Config.Tools each service also serves its HTTP endpoint on a free
// loopback port (HTTPAddr), and a tool listens on a free port and is told
// the services' endpoints (CHOREO_CONSOLE_ADDR, CHOREO_CONSOLE_SERVICES).
//
// With Config.Secure the run is the secure profile, as `make run-secure`
// has it: New describes each service (its program's -describe) and makes
// data/secure (a CA, a server certificate, an nkey seed per identity) and a
// nats.conf with TLS and every identity's permissions (package natsauth);
// each service runs with NATS_CREDS (its own identity) and NATS_TLS_CA, a
// tool with the identity of its name (console);
// StartAll provisions the streams and durables as the admin between
// nats-server and the services; ConnectOptions(identity) connects a test or
// the benchmark as client, observer or admin.
//
// A process is ready by one rule, in one function (ready): nats-server when
// its client port accepts and JetStream answers; a service once this run of
// it has logged "service started", which it does only when its endpoints
// serve and its durable consumers are bound; a tool once this run has
// logged "listening" with its address (Addr) and answers /healthz there. Start, StartAll, Restart and
// EnsureRunning wait for it; Launch does not.
//
// # Caveats
//
// Services must log at info or finer (Config.LogLevel) for their readiness
// to show. Usage reads /proc, so it is Linux only. On Linux every process
// is SIGKILLed by the kernel when the harness dies (Pdeathsig), so a test
// that panics or times out leaves nothing behind; elsewhere only Close kills
// them. Another program could take a port while nats-server is down.
package stack
