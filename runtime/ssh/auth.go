package ssh

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// ErrHostKey means that a host's key is not in known_hosts, or does not
// match the key recorded there.
var ErrHostKey = errors.New("host key not trusted")

// hostKeys checks host keys against a known_hosts file and, when asked,
// appends the key of a host that the file does not know yet.
type hostKeys struct {
	path      string
	acceptNew bool
	mu        sync.Mutex
}

func (k *hostKeys) callback(hostname string, remote net.Addr, key xssh.PublicKey) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, err := os.Stat(k.path); errors.Is(err, os.ErrNotExist) && k.acceptNew {
		if err := os.MkdirAll(filepath.Dir(k.path), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(k.path, nil, 0o600); err != nil {
			return err
		}
	}
	cb, err := knownhosts.New(k.path)
	if err != nil {
		return fmt.Errorf("%w: read %s: %v (--accept-new-host-keys creates it)", ErrHostKey, k.path, err)
	}
	err = cb(hostname, remote, key)
	var ke *knownhosts.KeyError
	if err == nil || !errors.As(err, &ke) {
		return err
	}
	if len(ke.Want) > 0 {
		return fmt.Errorf("%w: the key of %s is not the one %s records (line %d): if the host was reinstalled, remove that line", ErrHostKey, hostname, k.path, ke.Want[0].Line)
	}
	if !k.acceptNew {
		return fmt.Errorf("%w: %s has no key in %s; connect once with ssh, or run with --accept-new-host-keys to add it (%s %s)", ErrHostKey, hostname, k.path, key.Type(), xssh.FingerprintSHA256(key))
	}
	line := knownhosts.Line([]string{knownhosts.Normalize(hostname)}, key)
	f, err := os.OpenFile(k.path, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = fmt.Fprintln(f, line)
	return err
}

// authFor returns the authentication methods of h: its key file, or the
// agent at SSH_AUTH_SOCK.
func authFor(h Host) ([]xssh.AuthMethod, error) {
	if h.Agent {
		sock := os.Getenv("SSH_AUTH_SOCK")
		if sock == "" {
			return nil, fmt.Errorf("host %s uses the SSH agent, and SSH_AUTH_SOCK is not set", h.Name)
		}
		conn, err := net.Dial("unix", sock)
		if err != nil {
			return nil, fmt.Errorf("host %s: connect to the SSH agent: %w", h.Name, err)
		}
		return []xssh.AuthMethod{xssh.PublicKeysCallback(agent.NewClient(conn).Signers)}, nil
	}
	b, err := os.ReadFile(h.Key)
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", h.Name, err)
	}
	signer, err := xssh.ParsePrivateKey(b)
	if err != nil {
		var pe *xssh.PassphraseMissingError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("host %s: key %s has a passphrase; load it into ssh-agent and use agent: true", h.Name, h.Key)
		}
		return nil, fmt.Errorf("host %s: key %s: %w", h.Name, h.Key, err)
	}
	return []xssh.AuthMethod{xssh.PublicKeys(signer)}, nil
}
