// Command soak runs an application as three instances sharing one session
// store, under load, and checks that refreshes are coordinated across
// them. For each store (Redis, PostgreSQL) it starts logtotest, the store's
// server (its own redis-server; PostgreSQL from -pg-dsn), three app
// instances (this program with -instance, as child processes) behind a
// round-robin loopback proxy, and signs in -sessions users at one instant
// of Logto's clock, so that their ID tokens expire together, every -ttl.
// Every session then sends requests to a protected page for -duration,
// through the proxy. Once every session refreshed at the first expiry, and
// before the second, it kills one instance (SIGKILL; a new one takes its
// port 3 s later) and, for Redis, restarts the server (its data kept in an
// append-only file).
//
// It prints the requests served, the refresh requests per session per
// expiry (each refresh token spent once: must be 1), the sessions lost
// (signed out, or no longer served after the run: must be 0), the grants
// revoked (a session whose stored refresh token Logto no longer accepts:
// must be 0), the requests that failed while an instance or the store was
// down, and the p50/p99 latency of a protected request. It exits 1 when a
// check fails.
//
//	go run . -sessions 1000 -pg-dsn postgres://postgres@127.0.0.1:5440/postgres
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

const (
	appID     = "soak-app"
	appSecret = "soak-secret"
)

// config is the soak's command line.
type config struct {
	sessions    int
	duration    time.Duration
	ttl         time.Duration
	think       time.Duration
	reuse       time.Duration
	stores      []string
	redisServer string
	pgDSN       string
}

func main() {
	var (
		c         config
		stores    string
		inst      instanceConfig
		instance  bool
		signInPar int
	)
	flag.IntVar(&c.sessions, "sessions", 1000, "signed-in sessions")
	flag.DurationVar(&c.duration, "duration", 75*time.Second, "run time per store, counted from the sign-ins (at least 2.5 × -ttl)")
	flag.DurationVar(&c.ttl, "ttl", 30*time.Second, "lifetime of the ID and access tokens: the sessions' tokens expire together every ttl")
	flag.DurationVar(&c.think, "think", time.Second, "pause between two requests of a session (jittered ±50%)")
	flag.DurationVar(&c.reuse, "reuse", 0, "Logto's refresh token reuse interval in logtotest (Logto: 3s; 0: any second use revokes the grant)")
	flag.StringVar(&stores, "stores", "redis,pg", "stores to soak, comma-separated: redis, pg")
	flag.StringVar(&c.redisServer, "redis-server", "redis-server", "redis-server binary")
	flag.StringVar(&c.pgDSN, "pg-dsn", os.Getenv("PGSTORE_TEST_DSN"), "PostgreSQL connection string (pg store; default $PGSTORE_TEST_DSN)")
	flag.IntVar(&signInPar, "signin-parallel", 16, "concurrent sign-ins")
	flag.BoolVar(&instance, "instance", false, "run as one app instance (used by the soak itself)")
	flag.StringVar(&inst.addr, "addr", "", "instance: listen address")
	flag.StringVar(&inst.idp, "idp", "", "instance: Logto endpoint")
	flag.StringVar(&inst.base, "base", "", "instance: public base URL (the proxy)")
	flag.StringVar(&inst.store, "store", "", "instance: redis or pg")
	flag.StringVar(&inst.redisAddr, "redis-addr", "", "instance: Redis address")
	flag.StringVar(&inst.pgTable, "pg-table", "", "instance: PostgreSQL table")
	flag.StringVar(&inst.key, "key", "", "instance: hex key of the pending sign-in cookie")
	flag.Parse()

	if instance {
		inst.pgDSN = c.pgDSN
		if err := runInstance(inst); err != nil {
			fmt.Fprintln(os.Stderr, "soak instance:", err)
			os.Exit(1)
		}
		return
	}
	if c.duration < c.ttl*5/2 {
		fmt.Fprintln(os.Stderr, "soak: -duration must be at least 2.5 × -ttl (two expiries)")
		os.Exit(2)
	}
	c.stores = strings.Split(stores, ",")
	failed := false
	var reports []*report
	for _, st := range c.stores {
		if st == "pg" && c.pgDSN == "" {
			fmt.Println("soak: pg skipped: no -pg-dsn")
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.duration+3*time.Minute)
		r, err := soak(ctx, c, st, signInPar)
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "soak %s: %v\n", st, err)
			failed = true
			continue
		}
		r.print(os.Stdout)
		reports = append(reports, r)
		if err := r.check(); err != nil {
			fmt.Fprintf(os.Stderr, "soak %s: FAILED: %v\n", st, err)
			failed = true
		}
	}
	if len(reports) > 1 {
		fmt.Println()
		printTable(os.Stdout, reports)
	}
	if failed || len(reports) == 0 {
		os.Exit(1)
	}
}

// errCheck is wrapped by the errors of failed checks.
var errCheck = errors.New("check failed")
