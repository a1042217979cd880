package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startSentinels starts a replica of master and three sentinels watching
// them as "mymaster", and waits until the sentinels know each other and
// the replica. It returns the replica and a redis-sentinel:// URL.
func startSentinels(t *testing.T, master *redisServer) (*redisServer, []*redis.SentinelClient, string) {
	t.Helper()
	replica := startRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(master.Port))
	waitFor(t, 20*time.Second, "the replica to sync", func() bool {
		info, err := replica.Client.Info(context.Background(), "replication").Result()
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed")
	}
	var clients []*redis.SentinelClient
	var addrs []string
	for i := range 3 {
		port := freePort(t)
		dir := t.TempDir()
		conf := filepath.Join(dir, "sentinel.conf")
		text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\n"+
			"sentinel monitor mymaster 127.0.0.1 %d 2\n"+
			"sentinel down-after-milliseconds mymaster 1000\n"+
			"sentinel failover-timeout mymaster 10000\n"+
			"sentinel parallel-syncs mymaster 1\n", port, dir, master.Port)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		startProc(t, fmt.Sprintf("sentinel %d :%d", i+1, port), baseEnv(), bin, conf, "--sentinel")
		c := redis.NewSentinelClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1})
		t.Cleanup(func() { c.Close() })
		clients = append(clients, c)
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", port))
	}
	waitFor(t, 30*time.Second, "the sentinels to find each other and the replica", func() bool {
		for _, c := range clients {
			f, err := c.Master(context.Background(), "mymaster").Result()
			if err != nil || f["num-other-sentinels"] != "2" || f["num-slaves"] != "1" {
				return false
			}
		}
		return true
	})
	return replica, clients, "redis-sentinel://" + strings.Join(addrs, ",") + "/mymaster/0"
}

// masterPort asks a sentinel which port the master is on now.
func masterPort(c *redis.SentinelClient) string {
	addr, err := c.GetMasterAddrByName(context.Background(), "mymaster").Result()
	if err != nil || len(addr) != 2 {
		return ""
	}
	return addr[1]
}

// TestFaultSentinelFailover: Redis master with one replica and three
// sentinels; the master is killed (SIGKILL) under load, the sentinels
// promote the replica, and the service carries on: every acked message
// still reaches the other side exactly once, in order.
func TestFaultSentinelFailover(t *testing.T) {
	t.Parallel()
	master := startRedis(t)
	replica, sentinels, url := startSentinels(t, master)
	d := newDeployment(t, url)
	d.start(2)
	dur := soak(t, 4*time.Second)
	cfg := loadFor(t, d.targets(), d.addAdvisors("adv", 4, "-max", "20"), dur)
	cfg.Drain = 60 * time.Second
	var wg sync.WaitGroup
	wg.Go(func() {
		time.Sleep(dur / 3)
		t.Logf("SIGKILL the master (port %d)", master.Port)
		master.kill(t)
	})
	rep := runLoad(t, cfg)
	wg.Wait()
	checkGuarantee(t, rep)
	if got := masterPort(sentinels[0]); got != strconv.Itoa(replica.Port) {
		t.Errorf("sentinels say the master is on port %s, want the replica's %d: no failover", got, replica.Port)
	}
}
