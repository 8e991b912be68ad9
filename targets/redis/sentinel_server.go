package redis

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/targets"
)

// Files and process of the sentinels. The configuration lives in the data
// directory because the sentinel rewrites it.
const (
	sentinelConfPath = redisDir + "/sentinel.conf"
	sentinelLogPath  = redisLogDir + "/sentinel.log"
	sentinelProcess  = "redis-sentinel"
)

// sentinelStart starts redis-sentinel on node with the clock shim, unless
// it runs already, and waits until it answers PING.
func sentinelStart(ctx context.Context, c runtime.Cluster, node string) error {
	pids, err := targets.ServerPIDs(ctx, c, node, sentinelProcess)
	if err != nil {
		return fmt.Errorf("look for %s on %s: %w", sentinelProcess, node, err)
	}
	if len(pids) == 0 {
		d := targets.Daemon{Name: sentinelProcess, Cmd: sentinelProcess + " " + sentinelConfPath, Log: sentinelLogPath, Shim: true}
		if err := targets.StartDaemon(ctx, c, node, d); err != nil {
			return err
		}
	}
	addr, err := targets.NodeAddr(c, node, redisSentinelPort)
	if err != nil {
		return err
	}
	sc := goredis.NewSentinelClient(redisClientOptions(addr))
	defer sc.Close()
	if err := wait.For(ctx, redisReadyTimeout, 100*time.Millisecond, func(ctx context.Context) error {
		return sc.Ping(ctx).Err()
	}); err != nil {
		return fmt.Errorf("sentinel on %s: %w", node, err)
	}
	return nil
}

// sentinelWaitReplicas waits until the primary on node reports want
// replicas online.
func sentinelWaitReplicas(ctx context.Context, c runtime.Cluster, node string, want int) error {
	addr, err := targets.NodeAddr(c, node, redisPort)
	if err != nil {
		return err
	}
	rdb := goredis.NewClient(redisClientOptions(addr))
	defer rdb.Close()
	err = wait.For(ctx, redisReadyTimeout, 100*time.Millisecond, func(ctx context.Context) error {
		info, err := rdb.Info(ctx, "replication").Result()
		if err != nil {
			return err
		}
		online := 0
		for _, line := range strings.Split(info, "\n") {
			if strings.HasPrefix(line, "slave") && strings.Contains(line, "state=online") {
				online++
			}
		}
		if online < want {
			return fmt.Errorf("%d of %d replicas in sync", online, want)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replication to %s: %w", node, err)
	}
	return nil
}

// sentinelWaitKnows waits until the sentinel on node names primaryIP as
// the primary, sees it up, and knows others replicas and others other
// sentinels.
func sentinelWaitKnows(ctx context.Context, c runtime.Cluster, node, primaryIP string, others int) error {
	addr, err := targets.NodeAddr(c, node, redisSentinelPort)
	if err != nil {
		return err
	}
	sc := goredis.NewSentinelClient(redisClientOptions(addr))
	defer sc.Close()
	err = wait.For(ctx, redisReadyTimeout, 200*time.Millisecond, func(ctx context.Context) error {
		m, err := sc.Master(ctx, sentinelMaster).Result()
		if err != nil {
			return err
		}
		replicas, _ := strconv.Atoi(m["num-slaves"])
		sentinels, _ := strconv.Atoi(m["num-other-sentinels"])
		switch {
		case m["ip"] != primaryIP:
			return fmt.Errorf("primary is %s, want %s", m["ip"], primaryIP)
		case m["flags"] != "master":
			return fmt.Errorf("primary flags %q", m["flags"])
		case replicas < others || sentinels < others:
			return fmt.Errorf("knows %d replicas and %d other sentinels, want %d each", replicas, sentinels, others)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sentinel on %s: %w", node, err)
	}
	return nil
}

// sentinelCurrentPrimary asks every sentinel for the primary's address and
// returns the IP named by most of those that answered (ties go to the
// lowest IP, so the answer is stable).
func sentinelCurrentPrimary(ctx context.Context, addrs []string) (string, error) {
	var mu sync.Mutex
	votes := map[string]int{}
	var errs []string
	var wg sync.WaitGroup
	for _, addr := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := goredis.NewSentinelClient(redisClientOptions(addr))
			defer sc.Close()
			res, err := sc.GetMasterAddrByName(ctx, sentinelMaster).Result()
			mu.Lock()
			defer mu.Unlock()
			if err != nil || len(res) < 1 || net.ParseIP(res[0]) == nil {
				errs = append(errs, fmt.Sprintf("%s: %v", addr, err))
				return
			}
			votes[res[0]]++
		}()
	}
	wg.Wait()
	if len(votes) == 0 {
		sort.Strings(errs)
		return "", fmt.Errorf("no sentinel named the primary: %s", strings.Join(errs, "; "))
	}
	best, n := "", 0
	for ip, v := range votes {
		if v > n || (v == n && ip < best) {
			best, n = ip, v
		}
	}
	return best, nil
}
