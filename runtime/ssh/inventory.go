package ssh

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ErrBadInventory is wrapped by every error about an inventory file's
// content (exit 3). The message names the file and the line.
var ErrBadInventory = errors.New("bad inventory")

// Roles of a host in the inventory.
const (
	// RoleServer hosts run the lock servers: nodes n1..nN, in the
	// inventory's order.
	RoleServer = "server"
	// RoleClient hosts run the client processes: c1..cK, round robin.
	RoleClient = "client"
)

// maxInventory bounds the size of an inventory file.
const maxInventory = 1 << 20

// An Inventory is the list of hosts that runs may use, read from a YAML
// file (docs/ssh.md).
type Inventory struct {
	// Path is the file it was read from.
	Path string
	// KnownHosts is the known_hosts file that host keys are checked
	// against: the file's known_hosts key, else ~/.ssh/known_hosts.
	KnownHosts string
	// Hosts in the file's order.
	Hosts []Host
}

// A Host is one machine of the inventory.
type Host struct {
	// Name names the host in messages; its address when not given.
	Name string
	// Address is a host name or an IPv4 address; Port its SSH port (22).
	Address string
	Port    int
	// User is the SSH user.
	User string
	// Key is a private key file (absolute, or relative to the
	// inventory); Agent uses the agent at SSH_AUTH_SOCK instead.
	Key   string
	Agent bool
	// Sudo runs every command through sudo -n (passwordless sudo).
	Sudo bool
	// Role is RoleServer or RoleClient.
	Role string
	// Line is the line of the host's entry in the inventory.
	Line int
}

// Addr is host:port for dialling.
func (h Host) Addr() string { return netJoin(h.Address, h.Port) }

func netJoin(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

// Servers returns the server hosts in order.
func (inv *Inventory) Servers() []Host { return inv.role(RoleServer) }

// ClientHosts returns the client hosts in order.
func (inv *Inventory) ClientHosts() []Host { return inv.role(RoleClient) }

func (inv *Inventory) role(r string) []Host {
	var out []Host
	for _, h := range inv.Hosts {
		if h.Role == r {
			out = append(out, h)
		}
	}
	return out
}

// LoadInventory reads and checks the inventory file at path.
func LoadInventory(path string) (*Inventory, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadInventory, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxInventory+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadInventory, path, err)
	}
	return ParseInventory(data, path)
}

// ParseInventory reads an inventory. name is the file's path: errors
// name it with the line, and relative key and known_hosts paths are taken
// from its directory. Unknown fields are refused.
func ParseInventory(data []byte, name string) (*Inventory, error) {
	bad := func(line int, format string, args ...any) error {
		return fmt.Errorf("%w: %s:%d: %s", ErrBadInventory, name, line, fmt.Sprintf(format, args...))
	}
	if len(data) > maxInventory {
		return nil, fmt.Errorf("%w: %s: more than %d bytes", ErrBadInventory, name, maxInventory)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: %s: the file is empty", ErrBadInventory, name)
		}
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		line := 1
		if rest, ok := strings.CutPrefix(msg, "line "); ok {
			if n, after, ok := strings.Cut(rest, ": "); ok {
				if l, err := strconv.Atoi(n); err == nil {
					line, msg = l, after
				}
			}
		}
		return nil, bad(line, "%s", msg)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%w: %s: the file is empty", ErrBadInventory, name)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, bad(root.Line, "want a mapping with hosts: (see docs/ssh.md)")
	}
	dir := filepath.Dir(name)
	inv := &Inventory{Path: name}
	hostsLine := 0
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "known_hosts":
			if v.Kind != yaml.ScalarNode || v.Value == "" {
				return nil, bad(v.Line, "known_hosts: want a file path")
			}
			inv.KnownHosts = expandPath(dir, v.Value)
		case "hosts":
			hostsLine = k.Line
			if v.Kind != yaml.SequenceNode {
				return nil, bad(v.Line, "hosts: want a list of hosts")
			}
			for _, hn := range v.Content {
				h, err := parseHost(hn, dir, bad)
				if err != nil {
					return nil, err
				}
				inv.Hosts = append(inv.Hosts, h)
			}
		default:
			return nil, bad(k.Line, "unknown field %q (known: hosts, known_hosts; see docs/ssh.md)", k.Value)
		}
	}
	if hostsLine == 0 {
		return nil, bad(root.Line, "no hosts: list")
	}
	seen := map[string]int{}
	for _, h := range inv.Hosts {
		if l, ok := seen[h.Name]; ok {
			return nil, bad(h.Line, "host %q is listed twice (first at line %d)", h.Name, l)
		}
		seen[h.Name] = h.Line
		if l, ok := seen["addr "+h.Addr()]; ok {
			return nil, bad(h.Line, "address %s is listed twice (first at line %d); a machine is either a server or a client host", h.Addr(), l)
		}
		seen["addr "+h.Addr()] = h.Line
	}
	if len(inv.Servers()) == 0 {
		return nil, bad(hostsLine, "no host has role: server")
	}
	if inv.KnownHosts == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, bad(root.Line, "no known_hosts: given and no home directory: %v", err)
		}
		inv.KnownHosts = filepath.Join(home, ".ssh", "known_hosts")
	}
	return inv, nil
}

// hostFields are the keys of a host entry.
var hostFields = "name, address, port, user, key, agent, sudo, role"

func parseHost(n *yaml.Node, dir string, bad func(int, string, ...any) error) (Host, error) {
	h := Host{Port: 22, Line: n.Line}
	if n.Kind != yaml.MappingNode {
		return h, bad(n.Line, "a host: want a mapping with address, user, key or agent, role")
	}
	set := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if set[k.Value] {
			return h, bad(k.Line, "%s is set twice", k.Value)
		}
		set[k.Value] = true
		if v.Kind != yaml.ScalarNode {
			return h, bad(v.Line, "%s: want a single value", k.Value)
		}
		switch k.Value {
		case "name":
			h.Name = v.Value
		case "address":
			h.Address = v.Value
		case "port":
			p, err := strconv.Atoi(v.Value)
			if err != nil || p < 1 || p > 65535 {
				return h, bad(v.Line, "port: %q is not a port number (1..65535)", v.Value)
			}
			h.Port = p
		case "user":
			h.User = v.Value
		case "key":
			h.Key = expandPath(dir, v.Value)
		case "agent", "sudo":
			b, err := strconv.ParseBool(v.Value)
			if err != nil {
				return h, bad(v.Line, "%s: %q is not true or false", k.Value, v.Value)
			}
			if k.Value == "agent" {
				h.Agent = b
			} else {
				h.Sudo = b
			}
		case "role":
			if v.Value != RoleServer && v.Value != RoleClient {
				return h, bad(v.Line, "role: %q is not server or client", v.Value)
			}
			h.Role = v.Value
		default:
			return h, bad(k.Line, "unknown field %q in a host (known: %s)", k.Value, hostFields)
		}
	}
	switch {
	case h.Address == "":
		return h, bad(n.Line, "a host needs an address")
	case strings.ContainsAny(h.Address, " \t/@"):
		return h, bad(n.Line, "address %q is not a host name or an IP address", h.Address)
	case h.User == "":
		return h, bad(n.Line, "host %s needs a user", h.Address)
	case h.Role == "":
		return h, bad(n.Line, "host %s needs a role: server or client", h.Address)
	case h.Key == "" && !h.Agent:
		return h, bad(n.Line, "host %s needs a key file (key:) or agent: true", h.Address)
	case h.Key != "" && h.Agent:
		return h, bad(n.Line, "host %s: give key: or agent: true, not both", h.Address)
	}
	if h.Key != "" {
		if _, err := os.Stat(h.Key); err != nil {
			return h, bad(n.Line, "host %s: key file: %v", h.Address, err)
		}
	}
	if h.Name == "" {
		h.Name = h.Address
	}
	return h, nil
}

// expandPath makes p absolute: ~/ is the home directory, and a relative
// path is taken from dir.
func expandPath(dir, p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	if filepath.IsAbs(p) {
		return p
	}
	abs, err := filepath.Abs(filepath.Join(dir, p))
	if err != nil {
		return filepath.Join(dir, p)
	}
	return abs
}
