package docker

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
)

// subnetPools are the ranges from which run networks take a /24. They sit
// apart from Docker's default address pools (172.17-31/16, 192.168/16),
// although collisions with those are avoided anyway.
var subnetPools = []netip.Prefix{
	netip.MustParsePrefix("10.213.0.0/16"),
	netip.MustParsePrefix("10.214.0.0/16"),
}

// errNoSubnet means that every candidate /24 overlaps something in use.
var errNoSubnet = errors.New("no free /24 subnet")

// pickSubnet returns the first /24 of subnetPools, starting at a position
// derived from seed, that overlaps none of used.
func pickSubnet(seed string, used []netip.Prefix) (netip.Prefix, error) {
	h := fnv.New32a()
	_, _ = io.WriteString(h, seed)
	start := int(h.Sum32() % 256)
	for _, pool := range subnetPools {
		base := pool.Addr().As4()
		for k := range 256 {
			third := byte((start + k) % 256)
			cand := netip.PrefixFrom(netip.AddrFrom4([4]byte{base[0], base[1], third, 0}), 24)
			if !overlapsAny(cand, used) {
				return cand, nil
			}
		}
	}
	return netip.Prefix{}, errNoSubnet
}

func overlapsAny(p netip.Prefix, used []netip.Prefix) bool {
	for _, u := range used {
		if u.Overlaps(p) {
			return true
		}
	}
	return false
}

// nodeIP returns the address of the i-th node (from 1) in subnet: .11 for
// n1, .12 for n2 and so on. The gateway keeps .1.
func nodeIP(subnet netip.Prefix, i int) netip.Addr {
	b := subnet.Addr().As4()
	b[3] = byte(10 + i)
	return netip.AddrFrom4(b)
}

// clientIP returns the address of the i-th client container: .151 and up,
// clear of the nodes (.11 to .110).
func clientIP(subnet netip.Prefix, i int) netip.Addr {
	b := subnet.Addr().As4()
	b[3] = byte(150 + i)
	return netip.AddrFrom4(b)
}

// gatewayIP returns the .1 address of subnet.
func gatewayIP(subnet netip.Prefix) netip.Addr {
	b := subnet.Addr().As4()
	b[3] = 1
	return netip.AddrFrom4(b)
}

// hostPrefixes returns the IPv4 prefixes of the host's interfaces and of
// its routing table (except default routes), which a run subnet must avoid
// so that the host can still reach both its own networks and the nodes.
func hostPrefixes() []netip.Prefix {
	var out []netip.Prefix
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if p, ok := prefixFromIPNet(n); ok {
					out = append(out, p)
				}
			}
		}
	}
	if f, err := os.Open("/proc/net/route"); err == nil {
		defer f.Close()
		routes, _ := parseRoutes(f)
		out = append(out, routes...)
	}
	return out
}

func prefixFromIPNet(n *net.IPNet) (netip.Prefix, bool) {
	ip4 := n.IP.To4()
	if ip4 == nil {
		return netip.Prefix{}, false
	}
	ones, bits := n.Mask.Size()
	if bits != 32 {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(netip.AddrFrom4([4]byte(ip4)), ones).Masked(), true
}

// parseRoutes reads Linux's /proc/net/route format and returns every
// destination prefix except 0.0.0.0/0. Addresses there are hexadecimal in
// host byte order, which is little-endian on every platform Docker runs on.
func parseRoutes(r io.Reader) ([]netip.Prefix, error) {
	var out []netip.Prefix
	sc := bufio.NewScanner(r)
	first := true
	for sc.Scan() {
		if first { // header line
			first = false
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) < 8 {
			continue
		}
		dst, err1 := parseHexIPv4(f[1])
		mask, err2 := parseHexIPv4(f[7])
		if err1 != nil || err2 != nil {
			return out, fmt.Errorf("parse route %q: %w", sc.Text(), errors.Join(err1, err2))
		}
		ones, bits := net.IPMask(mask[:]).Size()
		if bits != 32 || ones == 0 {
			continue
		}
		out = append(out, netip.PrefixFrom(netip.AddrFrom4(dst), ones).Masked())
	}
	return out, sc.Err()
}

func parseHexIPv4(s string) ([4]byte, error) {
	var b [4]byte
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != 4 {
		return b, fmt.Errorf("bad hex address %q", s)
	}
	binary.BigEndian.PutUint32(b[:], binary.LittleEndian.Uint32(raw))
	return b, nil
}
