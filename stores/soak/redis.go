package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is a redis-server child process on a private port and
// directory, persisting to an append-only file so that a restart keeps
// the sessions.
type redisServer struct {
	bin, dir, addr string
	cmd            *exec.Cmd
	done           chan struct{}
}

func startRedis(ctx context.Context, bin string) (*redisServer, error) {
	dir, err := os.MkdirTemp("", "soak-redis-")
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s := &redisServer{bin: bin, dir: dir, addr: addr}
	if err := s.start(ctx); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

func (s *redisServer) start(ctx context.Context) error {
	port := s.addr[strings.LastIndexByte(s.addr, ':')+1:]
	s.cmd = exec.Command(s.bin, "--port", port, "--bind", "127.0.0.1", "--dir", s.dir,
		"--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--daemonize", "no", "--logfile", "redis.log")
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(s.cmd, s.done)
	rdb := redis.NewClient(&redis.Options{Addr: s.addr, MaxRetries: -1})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		err := rdb.Ping(pctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			s.shutdown()
			return fmt.Errorf("redis-server on %s did not start: %w", s.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// shutdown stops the server with SIGTERM (it writes its append-only file
// and exits).
func (s *redisServer) shutdown() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// restart stops and starts the server, and returns how long it was down.
func (s *redisServer) restart(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	s.shutdown()
	err := s.start(ctx)
	return time.Since(start), err
}

func (s *redisServer) stop() {
	s.shutdown()
	_ = os.RemoveAll(s.dir)
}
