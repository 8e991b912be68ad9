package runtime

// Paths inside the node image that targets and nemeses use. The image
// itself is built by the runtime (runtime/docker/image); these are the
// contract between it and the code that runs commands in its nodes.
const (
	// ShimPath is the clock shim to put in LD_PRELOAD.
	ShimPath = "/usr/local/lib/lockstorm/clockshim.so"
	// ClockFile is the default offset file the shim maps (8 bytes, int64
	// little-endian nanoseconds); LOCKSTORM_CLOCK_FILE overrides it.
	ClockFile = "/run/lockstorm/clock-offset"
	// ClockTool sets, adds to, reads and resets the offset in ClockFile.
	ClockTool = "/usr/local/bin/lockstorm-clock"
	// ClockFileEnv names the environment variable that moves ClockFile.
	ClockFileEnv = "LOCKSTORM_CLOCK_FILE"
	// ClockMonotonicEnv, set to "1", makes the shim shift monotonic clocks too.
	ClockMonotonicEnv = "LOCKSTORM_CLOCK_MONOTONIC"
)
