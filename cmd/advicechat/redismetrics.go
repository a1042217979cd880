package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// redisMetrics is a go-redis hook that times every command the service
// sends and counts the failed ones. Its only label is the command's name
// (evalsha, xrange, ...): never a key, an argument or a reply, which can
// carry conversation ids.
type redisMetrics struct {
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
}

func newRedisMetrics(reg prometheus.Registerer) *redisMetrics {
	m := &redisMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "advicechat_redis_command_duration_seconds",
			Help: "Time from sending a Redis command until its reply, by command name; a pipeline or transaction is observed once, as \"pipeline\".",
			Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
				2.5},
		}, []string{"command"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advicechat_redis_errors_total",
			Help: "Redis commands that failed (connection trouble, timeouts, error replies), by command name. Not counted: a nil reply, a script not yet cached (NOSCRIPT, sent again in full) and a command whose caller went away.",
		}, []string{"command"}),
	}
	reg.MustRegister(m.duration, m.errors)
	// The commands behind every conversation and routing step exist from
	// the start, so an error rate over them has a series before the first
	// error.
	for _, c := range []string{"evalsha", "eval", "pipeline", "ping"} {
		m.errors.WithLabelValues(c)
	}
	return m
}

func (m *redisMetrics) DialHook(next redis.DialHook) redis.DialHook { return next }

func (m *redisMetrics) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		name := commandName(cmd)
		m.duration.WithLabelValues(name).Observe(time.Since(start).Seconds())
		if failed(ctx, err) {
			m.errors.WithLabelValues(name).Inc()
		}
		return err
	}
}

func (m *redisMetrics) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		m.duration.WithLabelValues("pipeline").Observe(time.Since(start).Seconds())
		counted := false
		for _, cmd := range cmds {
			if failed(ctx, cmd.Err()) {
				m.errors.WithLabelValues(commandName(cmd)).Inc()
				counted = true
			}
		}
		if !counted && failed(ctx, err) {
			m.errors.WithLabelValues("pipeline").Inc()
		}
		return err
	}
}

// commandName is the command's name in lower case, and only that.
func commandName(cmd redis.Cmder) string {
	name := strings.ToLower(cmd.Name())
	if name == "" || len(name) > 32 || strings.ContainsFunc(name, func(r rune) bool { return (r < 'a' || r > 'z') && r != '.' && r != '_' && r != '-' }) {
		return "other"
	}
	return name
}

// failed tells an error that says something about Redis from one that
// does not.
func failed(ctx context.Context, err error) bool {
	switch {
	case err == nil, errors.Is(err, redis.Nil):
		return false
	case errors.Is(err, context.Canceled) && errors.Is(ctx.Err(), context.Canceled):
		// The caller went away (a socket closed, shutdown): not Redis.
		return false
	case strings.HasPrefix(err.Error(), "NOSCRIPT"):
		return false
	}
	return true
}

// redisLog sends go-redis's own messages (a pool that cannot dial, a
// Sentinel switching primaries) to the service's log, so they are JSON
// records in JSON mode like every other line.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(_ context.Context, format string, v ...any) {
	l.log.Warn("redis client", "detail", fmt.Sprintf(format, v...))
}
