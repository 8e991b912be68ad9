package ssh

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/lockstorm/lockstorm/runtime"
)

// RunRoot is the directory on every host under which each run has a
// directory of its own, RunRoot/<run id>.
const RunRoot = "/var/lib/lockstorm"

// RunEnv is the environment variable that every process a run starts on
// a host carries, set to the run id: Pause, Kill and Teardown find the
// run's processes by it (in /proc/<pid>/environ), also those that
// daemonized.
const RunEnv = "LOCKSTORM_RUN"

// NodePATH is the PATH of commands run on a host: the node image's
// (runtime/docker/image/files/Dockerfile), so that the targets find
// PostgreSQL's and ZooKeeper's programs where Debian puts them.
const NodePATH = "/usr/lib/postgresql/15/bin:/usr/share/zookeeper/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// TargetPaths are the files and directories that the targets write on a
// node outside the run directory (their data, logs, configuration and the
// clock offset file). The teardown of the last run on a host removes them.
var TargetPaths = []string{"/var/lib/lockstorm-*", "/var/log/lockstorm-*", "/etc/lockstorm-*", "/run/lockstorm"}

// RunDir returns the run directory of runID on a host.
func RunDir(runID string) string { return RunRoot + "/" + runID }

var plainWord = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// Quote quotes s for a POSIX shell: a plain word stays as it is, anything
// else goes in single quotes.
func Quote(s string) string {
	if plainWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// QuoteArgs quotes every word of argv and joins them with spaces.
func QuoteArgs(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = Quote(a)
	}
	return strings.Join(q, " ")
}

// sudoArgs returns the sudo prefix of a command on a host: sudo -n when
// the host asks for sudo, and sudo -n -u <user> [-g <group>] for a
// command that runs as another user.
func sudoArgs(hostSudo bool, user string) []string {
	if user == "" || user == "root" || user == "0" || user == "0:0" {
		if hostSudo {
			return []string{"sudo", "-n"}
		}
		return nil
	}
	u, g, _ := strings.Cut(user, ":")
	out := []string{"sudo", "-n", "-u", sudoID(u)}
	if g != "" {
		out = append(out, "-g", sudoID(g))
	}
	return out
}

// sudoID writes a numeric id the way sudo takes it (#1000).
func sudoID(s string) string {
	if s != "" && strings.Trim(s, "0123456789") == "" {
		return "#" + s
	}
	return s
}

// envArgs is the env command that sets the run's marker, the node PATH
// and the given variables before argv.
func envArgs(runID string, env []string, argv []string) []string {
	out := []string{"env", RunEnv + "=" + runID, "PATH=" + NodePATH}
	out = append(out, env...)
	return append(out, argv...)
}

// commandLine is the shell command that runs argv on a host: from /, with
// the run's marker and env, through sudo as the host and user ask.
func commandLine(runID string, hostSudo bool, user string, env, argv []string) string {
	full := append(sudoArgs(hostSudo, user), envArgs(runID, env, argv)...)
	return "cd / && exec " + QuoteArgs(full)
}

// detachScript starts "$@" in a session of its own, with its output
// appended to the run directory's detached.log, and records its PID and
// start time (field 22 of /proc/PID/stat) in the run directory's pids.
const detachScript = `d=$1; shift
cd / || exit 1
setsid "$@" </dev/null >>"$d/detached.log" 2>&1 &
p=$!
echo "$p $(sed 's/.*) //' /proc/$p/stat 2>/dev/null | cut -d' ' -f20)" >>"$d/pids"`

// detachLine is the shell command that starts argv detached on a host,
// as commandLine would run it, recording it in the run directory dir.
func detachLine(runID, dir string, hostSudo bool, user string, env, argv []string) string {
	inner := append(sudoArgs(false, user), envArgs(runID, env, argv)...)
	outer := append(sudoArgs(hostSudo, ""), "sh", "-c", detachScript, "sh", dir)
	return "exec " + QuoteArgs(append(outer, inner...))
}

// runPIDs is a shell function, pids RUN DIR, that prints the PIDs of the
// run's processes on this host: those recorded in DIR/pids whose start
// time still matches (zombies left out), every process in the session of
// one of those (a server started through sudo -u runs as a child of sudo,
// in sudo's session, and its environment may be unreadable to a root
// without CAP_SYS_PTRACE), and every process whose environment holds
// RunEnv=RUN (those that outlived the process recorded). The shell that
// runs it is left out. It reads /proc with shell built-ins where it can,
// so that it costs few processes on a busy host.
const runPIDs = `pids() {
  run=$1; leaders=" "
  if [ -f "$2/pids" ]; then
    while read -r p s; do
      [ -n "$p" ] || continue
      l=""; read -r l 2>/dev/null </proc/$p/stat || continue
      set -- ${l##*) }
      [ "$1" != Z ] && [ "${20}" = "$s" ] && leaders="$leaders$p "
    done <"$2/pids"
  fi
  for st in /proc/[0-9]*/stat; do
    p=${st#/proc/}; p=${p%/stat}
    [ "$p" = "$$" ] && continue
    l=""; read -r l 2>/dev/null <"$st" || continue
    set -- ${l##*) }
    [ "$1" = Z ] && continue
    case "$leaders" in *" $p "*|*" $4 "*) echo "$p"; continue;; esac
    if tr '\0' '\n' 2>/dev/null <"/proc/$p/environ" | grep -qx "` + RunEnv + `=$run"; then echo "$p"; fi
  done
}
`

// SignalScript sends a signal to every process of a run on a host:
// sh -c SignalScript sh RUN DIR SIGNAL. With KILL it waits (up to 10 s)
// until none is left, and fails if some are.
const SignalScript = runPIDs + `ps=$(pids "$1" "$2" | sort -u)
[ -z "$ps" ] && exit 0
kill -s "$3" $ps 2>/dev/null
[ "$3" = KILL ] || exit 0
i=0
while [ $i -lt 100 ]; do
  left=""
  for p in $ps; do [ -d /proc/$p ] && [ "$(sed 's/.*) //' /proc/$p/stat 2>/dev/null | cut -d' ' -f1)" != Z ] && left="$left $p"; done
  [ -z "$left" ] && exit 0
  sleep 0.1; i=$((i+1))
done
echo "processes of run $1 still there after SIGKILL:$left" >&2
exit 1`

// ChainScript removes every chain of runtime.Chains: the jumps to it
// first, then its rules, then the chain. Other rules are not touched. It
// fails if a chain is still there.
func ChainScript() string {
	var b strings.Builder
	b.WriteString("command -v iptables >/dev/null 2>&1 || exit 0\nrc=0\n")
	for _, c := range runtime.Chains {
		for _, hook := range c.Hooks {
			fmt.Fprintf(&b, "while iptables -w -t %s -D %s -j %s 2>/dev/null; do :; done\n", c.Table, hook, c.Name)
		}
		fmt.Fprintf(&b, "iptables -w -t %s -F %s 2>/dev/null\n", c.Table, c.Name)
		fmt.Fprintf(&b, "iptables -w -t %s -X %s 2>/dev/null\n", c.Table, c.Name)
		fmt.Fprintf(&b, "if iptables -w -t %s -S %s >/dev/null 2>&1; then echo \"chain %s (table %s) is still there\" >&2; rc=1; fi\n", c.Table, c.Name, c.Name, c.Table)
	}
	b.WriteString("exit $rc")
	return b.String()
}

// CleanupScript stops every process of a run on a host (SIGCONT, then
// SIGKILL) and removes its run directory; when no other run is left on
// the host, it also removes lockstorm's chains and the targets' files
// (TargetPaths): sh -c CleanupScript sh RUN.
func CleanupScript() string {
	globs := strings.Join(TargetPaths, " ")
	return runPIDs + `run=$1; d=` + RunRoot + `/$1
ps=$(pids "$run" "$d" | sort -u)
if [ -n "$ps" ]; then
  kill -s CONT $ps 2>/dev/null
  kill -s KILL $ps 2>/dev/null
  i=0
  while [ $i -lt 100 ] && [ -n "$(pids "$run" "$d")" ]; do sleep 0.1; i=$((i+1)); done
fi
left=$(pids "$run" "$d" | sort -u | tr '\n' ' ')
rm -rf "$d"
rc=0
[ -n "$left" ] && { echo "processes of run $run still there: $left" >&2; rc=1; }
others=$(ls -A ` + RunRoot + ` 2>/dev/null)
if [ -z "$others" ]; then
  (
` + indent(ChainScript(), "    ") + `
  ) || rc=1
  rm -rf ` + globs + `
  rmdir ` + RunRoot + ` 2>/dev/null
fi
exit $rc`
}

func indent(s, pre string) string {
	return pre + strings.ReplaceAll(s, "\n", "\n"+pre)
}

// SetupScript makes the run directory and writes its owner and labels
// files (labels on standard input, KEY=value lines):
// sh -c SetupScript sh RUN NODE.
const SetupScript = `d=` + RunRoot + `/$1
mkdir -p "$d" && chmod 755 ` + RunRoot + ` "$d" && cat >"$d/labels" && echo "$2" >"$d/node" && : >"$d/pids" && chmod 666 "$d/pids"`

// ListScript prints, for every run directory on the host, a line "run
// <id>" and then the lines of its labels file.
const ListScript = `for d in ` + RunRoot + `/*/; do
  [ -d "$d" ] || continue
  r=${d%/}; r=${r##*/}
  echo "run $r"
  cat "$d/labels" 2>/dev/null
  echo
done
exit 0`
