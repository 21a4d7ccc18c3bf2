package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtohttp"
	"github.com/gologto/logto/stores/pgstore"
	"github.com/gologto/logto/stores/redisstore"
)

// instanceConfig is what an app instance process is started with.
type instanceConfig struct {
	addr, idp, base, store, redisAddr, pgDSN, pgTable, key string
}

// runInstance is one app instance: logtohttp with server sessions in the
// shared store, serving /sign-in, /callback and the protected /api/me. It
// prints "ready" once it listens and runs until SIGTERM or SIGKILL.
func runInstance(c instanceConfig) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	store, closeStore, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer closeStore()
	key, err := hex.DecodeString(c.key)
	if err != nil {
		return fmt.Errorf("-key: %w", err)
	}
	client, err := logto.NewLogtoClient(logto.LogtoConfig{Endpoint: c.idp, AppId: appID, AppSecret: appSecret}, nil)
	if err != nil {
		return err
	}
	sessions, err := logtohttp.NewServerSessions(store, logtohttp.CookieOptions{Keys: [][]byte{key}})
	if err != nil {
		return err
	}
	h, err := logtohttp.New(logtohttp.Config{
		Client: client, Sessions: sessions, BaseURL: c.base,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	h.Routes(mux)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "home") })
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	mux.Handle("GET /api/me", h.RequireAuth(logtohttp.AuthOptions{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := logtohttp.IdTokenClaims(r.Context())
		fmt.Fprint(w, claims.Subject)
	})))
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	fmt.Println("ready")
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// openStore connects to the configured store.
func openStore(ctx context.Context, c instanceConfig) (logtohttp.SharedSessionStore, func(), error) {
	switch c.store {
	case "redis":
		rdb := redis.NewClient(&redis.Options{
			Addr: c.redisAddr, ContextTimeoutEnabled: true, PoolSize: 64,
			DialTimeout: time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second,
		})
		s, err := redisstore.New(rdb, redisstore.Options{Prefix: "soak:"})
		if err != nil {
			return nil, nil, err
		}
		return s, func() { _ = rdb.Close() }, nil
	case "pg":
		cfg, err := pgxpool.ParseConfig(c.pgDSN)
		if err != nil {
			return nil, nil, err
		}
		cfg.MaxConns = 16
		cfg.ConnConfig.ConnectTimeout = 2 * time.Second
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, nil, err
		}
		s, err := pgstore.New(ctx, pool, pgstore.Options{Table: c.pgTable})
		if err != nil {
			pool.Close()
			return nil, nil, err
		}
		return s, pool.Close, nil
	}
	return nil, nil, fmt.Errorf("unknown store %q", c.store)
}
