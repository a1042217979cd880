package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/chat/redisstore"
	"github.com/advicechat/advicechat/cmd/advicechat/config"
	"github.com/advicechat/advicechat/routing"
	"github.com/advicechat/advicechat/web"
	"github.com/advicechat/advicechat/web/accounts"
)

// serve runs the service until ctx is done, then shuts down gracefully.
func serve(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	var handler slog.Handler = slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel})
	if cfg.LogFormat == "json" {
		handler = slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel})
	}
	log := slog.New(handler)
	redis.SetLogger(redisLog{log})

	redisURL, embedded := cfg.RedisURL, cfg.RedisURL == ""
	if embedded {
		emb, err := redisstore.StartEmbedded()
		if err != nil {
			return err
		}
		defer emb.Close()
		redisURL = emb.URL()
	}
	rdb, err := redisstore.Connect(redisURL)
	if err != nil {
		return fmt.Errorf("ADVICECHAT_REDIS_URL: %w", err)
	}
	defer rdb.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	build := currentBuild()
	build.register(reg)
	rdb.AddHook(newRedisMetrics(reg))
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = rdb.Ping(pingCtx).Err()
	cancel()
	if err != nil {
		return fmt.Errorf("ADVICECHAT_REDIS_URL: redis does not answer: %w", err)
	}

	accts := accounts.NewStore(cfg.AccountsFile)
	if err := accts.Err(); err != nil {
		return fmt.Errorf("ADVICECHAT_ACCOUNTS: %w", err)
	}
	var demoPassword string
	if embedded && accts.Count() == 0 {
		// Zero set-up: one advisor that lives only in this process.
		var demo accounts.Account
		demo, demoPassword = accounts.Demo()
		accts = accounts.NewStore(cfg.AccountsFile, demo)
	}
	accts.SetLogger(log)
	if accts.Count() == 0 {
		log.Warn("no advisor accounts; add one with: advicechat advisor add NAME", "file", cfg.AccountsFile)
	}

	store := redisstore.New(rdb, cfg.Store)
	cfg.Routing.Log = log
	queue, err := routing.New(rdb, cfg.Routing)
	if err != nil {
		return err
	}
	routingMetrics := routing.NewMetrics(reg)
	reg.MustRegister(routing.NewCollector(queue))

	feed := redisstore.NewFeed(ctx, rdb)
	hub := chat.NewHub(feed)

	webCfg := cfg.Web
	webCfg.Version = strconv.FormatInt(time.Now().Unix(), 36)
	webCfg.MetricsElsewhere = cfg.MetricsAddr != ""
	srv, err := web.New(web.Deps{
		Config:   webCfg,
		Store:    store,
		Hub:      hub,
		Queue:    queue,
		Hours:    cfg.Hours,
		Accounts: accts,
		Redis:    rdb,
		Log:      log,
		Registry: reg,
		Routing:  routingMetrics,
	})
	if err != nil {
		return err
	}
	worker := routing.NewWorker(queue, srv.Hooks(), log, routingMetrics, min(time.Second, cfg.Web.Heartbeat))

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("ADVICECHAT_ADDR: %w", err)
	}
	httpSrv := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          web.ServerErrorLog(log),
	}

	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { hub.Run(bg) })
	wg.Go(func() { worker.Run(bg) })
	wg.Go(func() { srv.Run(bg) })
	if err := hub.Watch(bg, queue.ChangedChannel(), worker); err != nil {
		log.Warn("watch routing changes", "err", err)
	}
	serveErr := make(chan error, 2)
	go func() { serveErr <- httpSrv.Serve(ln) }()
	var metricsSrv *http.Server
	var metricsLn net.Listener
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			_ = httpSrv.Close()
			stopBG()
			wg.Wait()
			_ = feed.Close()
			return fmt.Errorf("ADVICECHAT_METRICS_ADDR: %w", err)
		}
		metricsLn = mln
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: web.ServerErrorLog(log)}
		go func() { serveErr <- metricsSrv.Serve(mln) }()
	}

	url := "http://" + ln.Addr().String() + "/"
	mode := "redis " + redactURL(cfg.RedisURL)
	if embedded {
		mode = "embedded redis (in memory; nothing is kept after exit)"
	}
	if cfg.LogFormat == "json" {
		// A log shipper parses every line: the banner is log records too.
		attrs := []any{"url", url, "visitors", url, "advisors", url + "advisor", "redis", mode,
			"version", build.Version, "revision", build.Revision, "goversion", build.GoVersion}
		if metricsSrv != nil {
			attrs = append(attrs, "metrics", "http://"+metricsLn.Addr().String()+"/metrics")
		}
		log.Info("advicechat listening", attrs...)
		if demoPassword != "" {
			log.Warn("DEMO advisor (embedded mode only, in memory)", "username", "demo", "password", demoPassword)
		}
	} else {
		if metricsSrv != nil {
			fmt.Fprintf(stdout, "advicechat metrics on http://%s/metrics\n", metricsLn.Addr())
		}
		fmt.Fprintf(stdout, "advicechat listening on %s\n  visitors: %s\n  advisors: %sadvisor\n  using %s\n  %s\n", url, url, url, mode, build)
		if demoPassword != "" {
			fmt.Fprintf(stdout, "  DEMO advisor (embedded mode only, in memory): username demo, password %s\n", demoPassword)
		}
	}

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		_ = httpSrv.Close()
		if metricsSrv != nil {
			_ = metricsSrv.Close()
		}
		stopBG()
		wg.Wait()
		_ = feed.Close()
		return fmt.Errorf("serve: %w", err)
	}

	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if metricsSrv != nil {
		_ = metricsSrv.Shutdown(shutCtx)
		if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics listener", "err", err)
		}
	}
	if err := httpSrv.Shutdown(shutCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	if err := srv.Shutdown(shutCtx); err != nil {
		log.Warn("socket shutdown", "err", err)
	}
	stopBG()
	wg.Wait()
	_ = feed.Close()
	log.Info("stopped")
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// redactURL names the servers of a Redis URL for printing, without any
// password.
func redactURL(raw string) string {
	opts, err := redisstore.ParseURL(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	s := strings.Join(opts.Addrs, ",")
	if opts.MasterName != "" {
		s += " master " + opts.MasterName
	}
	return s
}
