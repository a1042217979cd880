package redisstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/advicechat/advicechat/chat/redisstore"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in         string
		addrs      []string
		db         int
		user, pass string
		tls        bool
		master     string
		cluster    bool
	}{
		{in: "redis://h:1", addrs: []string{"h:1"}},
		{in: "redis://127.0.0.1:6379/0", addrs: []string{"127.0.0.1:6379"}},
		{in: "redis://[::1]:6379/", addrs: []string{"[::1]:6379"}},
		{in: "redis://:pw@h:1/2", addrs: []string{"h:1"}, db: 2, pass: "pw"},
		{in: "redis://user:p%40ss@h:1/15", addrs: []string{"h:1"}, db: 15, user: "user", pass: "p@ss"},
		{in: "rediss://h:1", addrs: []string{"h:1"}, tls: true},
		{in: "rediss://:pw@redis.example:6380/3", addrs: []string{"redis.example:6380"}, db: 3, pass: "pw", tls: true},
		{in: "redis-sentinel://h:1,h:2/mymaster/1", addrs: []string{"h:1", "h:2"}, db: 1, master: "mymaster"},
		{in: "redis-sentinel://:pw@s1:26379/mymaster", addrs: []string{"s1:26379"}, pass: "pw", master: "mymaster"},
		{in: "redis-cluster://a:1,b:2", addrs: []string{"a:1", "b:2"}, cluster: true},
		{in: "redis-cluster://a:1", addrs: []string{"a:1"}, cluster: true},
	}
	for _, tt := range tests {
		o, err := redisstore.ParseURL(tt.in)
		if err != nil {
			t.Errorf("ParseURL(%q) = %v, want no error", tt.in, err)
			continue
		}
		if !slices.Equal(o.Addrs, tt.addrs) {
			t.Errorf("ParseURL(%q).Addrs = %q, want %q", tt.in, o.Addrs, tt.addrs)
		}
		if o.DB != tt.db {
			t.Errorf("ParseURL(%q).DB = %d, want %d", tt.in, o.DB, tt.db)
		}
		if o.Username != tt.user || o.Password != tt.pass {
			t.Errorf("ParseURL(%q) user, password = %q, %q, want %q, %q", tt.in, o.Username, o.Password, tt.user, tt.pass)
		}
		if got := o.TLSConfig != nil; got != tt.tls {
			t.Errorf("ParseURL(%q) TLS = %v, want %v", tt.in, got, tt.tls)
		}
		if tt.tls && o.TLSConfig.ServerName == "" {
			t.Errorf("ParseURL(%q).TLSConfig.ServerName is empty, want the host name", tt.in)
		}
		if o.MasterName != tt.master {
			t.Errorf("ParseURL(%q).MasterName = %q, want %q", tt.in, o.MasterName, tt.master)
		}
		if o.IsClusterMode != tt.cluster {
			t.Errorf("ParseURL(%q).IsClusterMode = %v, want %v", tt.in, o.IsClusterMode, tt.cluster)
		}
		if o.DialTimeout <= 0 || o.ReadTimeout <= 0 || o.WriteTimeout <= 0 {
			t.Errorf("ParseURL(%q) timeouts = %v, %v, %v, want all set", tt.in, o.DialTimeout, o.ReadTimeout, o.WriteTimeout)
		}
	}
}

func TestParseURLErrors(t *testing.T) {
	tests := []string{
		"",
		"h:1",
		"127.0.0.1:6379",
		"http://h:1",
		"unix:///run/redis.sock",
		"redis://h",
		"redis://",
		"redis://h:1,h:2",
		"rediss://h:1,h:2",
		"redis://h:1,",
		"redis-sentinel://h:1",
		"redis-sentinel://h:1/",
		"redis-sentinel://h:1/m/1/2",
		"redis-sentinel://h:1/m/x",
		"redis-sentinel://h/m",
		"redis://h:1/x",
		"redis://h:1/-1",
		"redis://h:1/1/2",
		"redis-cluster://h:1/0",
		"redis-cluster://h:1,h",
		"redis://h:1\x00",
	}
	for _, in := range tests {
		if o, err := redisstore.ParseURL(in); err == nil {
			t.Errorf("ParseURL(%q) = %+v, nil, want an error", in, o)
		}
		if c, err := redisstore.Connect(in); err == nil {
			_ = c.Close()
			t.Errorf("Connect(%q) = nil error, want an error", in)
		}
	}
}

func TestConnectDoesNotDial(t *testing.T) {
	t.Parallel() // waits on timers: run beside the rest
	// Nothing listens on port 1; Connect must not find out.
	c, err := redisstore.Connect("redis://127.0.0.1:1/0")
	if err != nil {
		t.Fatalf("Connect = %v", err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := redisstore.Ping(ctx, c); err == nil {
		t.Errorf("Ping(nothing listening) = nil, want an error")
	}
}

func TestStartEmbedded(t *testing.T) {
	t.Parallel() // waits on timers: run beside the rest
	ctx := context.Background()
	e, err := redisstore.StartEmbedded()
	if err != nil {
		t.Fatalf("StartEmbedded() = %v", err)
	}
	defer e.Close()
	c, err := redisstore.Connect(e.URL())
	if err != nil {
		t.Fatalf("Connect(%q) = %v", e.URL(), err)
	}
	defer c.Close()
	if err := redisstore.Ping(ctx, c); err != nil {
		t.Fatalf("Ping = %v", err)
	}
	if err := c.Set(ctx, "short", "v", time.Second).Err(); err != nil {
		t.Fatalf("SET short EX 1 = %v", err)
	}
	if err := c.Set(ctx, "long", "v", time.Hour).Err(); err != nil {
		t.Fatalf("SET long EX 3600 = %v", err)
	}
	if err := c.Set(ctx, "forever", "v", 0).Err(); err != nil {
		t.Fatalf("SET forever = %v", err)
	}
	// The embedded server's clock follows the wall clock, so the key goes
	// within about two seconds.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(5 * time.Second)
	for {
		n, err := c.Exists(ctx, "short").Result()
		if err != nil {
			t.Fatalf("EXISTS short = %v", err)
		}
		if n == 0 {
			break
		}
		select {
		case <-tick.C:
		case <-timeout:
			t.Fatalf("key with a 1 s TTL still there after 5 s")
		}
	}
	if n, err := c.Exists(ctx, "long", "forever").Result(); n != 2 || err != nil {
		t.Errorf("EXISTS long forever = %d, %v, want 2, nil", n, err)
	}
}

func TestEmbeddedCloseStopsServer(t *testing.T) {
	t.Parallel() // waits on timers: run beside the rest
	e, err := redisstore.StartEmbedded()
	if err != nil {
		t.Fatalf("StartEmbedded() = %v", err)
	}
	url := e.URL()
	e.Close()
	c, err := redisstore.Connect(url)
	if err != nil {
		t.Fatalf("Connect(%q) = %v", url, err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := redisstore.Ping(ctx, c); err == nil {
		t.Errorf("Ping after Close = nil, want an error")
	}
}
