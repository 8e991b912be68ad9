package redis

import (
	"context"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lockstorm/lockstorm/targets"
)

// The store of the redis target, for the contention workload: each
// item's stock in a Redis string.

// redisStore keeps each item's stock in a Redis string. The version of a
// stock is its value: the stock only ever falls, so a value that is still
// the one read proves that no deduction came in between.
type redisStore struct{ rdb *goredis.Client }

// redisSetIfScript writes ARGV[2] if the key still holds ARGV[1]: a
// compare-and-set in one step on the server.
var redisSetIfScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0`)

// redisDecrementScript takes one from the stock unless it is zero; -1 says
// that it was.
var redisDecrementScript = goredis.NewScript(`
local v = tonumber(redis.call('GET', KEYS[1]))
if v == nil then return redis.error_reply('ERR no stock for ' .. KEYS[1]) end
if v <= 0 then return -1 end
return redis.call('DECR', KEYS[1])`)

// NewStore implements targets.Stocker: a go-redis client of the one server.
func (r *SetNX) NewStore(_ context.Context, env targets.ClientEnv) (targets.Store, error) {
	addr, err := redisAddr(env.Plan)
	if err != nil {
		return nil, err
	}
	return redisStore{goredis.NewClient(redisClientOptions(addr))}, nil
}

// Decrements implements targets.Stocker: a Lua script decrements atomically.
func (*SetNX) Decrements() bool { return true }

// redisErr marks a Redis error that proves the call had no effect.
func redisErr(err error) error {
	if redisNoEffect(err) {
		return targets.NoEffect(err)
	}
	return err
}

func (s redisStore) Put(ctx context.Context, key string, n int64) error {
	return redisErr(s.rdb.Set(ctx, key, n, 0).Err())
}

func (s redisStore) Get(ctx context.Context, key string) (int64, int64, error) {
	b, err := s.rdb.Get(ctx, key).Bytes()
	if err != nil {
		return 0, 0, redisErr(err)
	}
	n, err := targets.ParseStock(key, b)
	return n, n, err
}

func (s redisStore) Set(ctx context.Context, key string, n int64) error {
	return redisErr(s.rdb.Set(ctx, key, n, 0).Err())
}

func (s redisStore) SetIf(ctx context.Context, key string, n, version int64) error {
	ok, err := redisSetIfScript.Run(ctx, s.rdb, []string{key}, version, n).Int64()
	switch {
	case err != nil:
		return redisErr(err)
	case ok == 0:
		return targets.ErrConflict
	}
	return nil
}

func (s redisStore) Decrement(ctx context.Context, key string) (int64, error) {
	n, err := redisDecrementScript.Run(ctx, s.rdb, []string{key}).Int64()
	switch {
	case err != nil:
		return 0, redisErr(err)
	case n < 0:
		return 0, targets.ErrOutOfStock
	}
	return n, nil
}

func (s redisStore) Close() error { return s.rdb.Close() }
