package serverbin

import (
	"debug/elf"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
	"strings"

	"github.com/lockstorm/lockstorm/targets"
)

// machines maps Go's architectures to their ELF machine.
var machines = map[string]elf.Machine{
	"amd64":   elf.EM_X86_64,
	"386":     elf.EM_386,
	"arm64":   elf.EM_AARCH64,
	"arm":     elf.EM_ARM,
	"ppc64le": elf.EM_PPC64,
	"s390x":   elf.EM_S390,
	"riscv64": elf.EM_RISCV,
}

// CheckExecutable reports why the file at path cannot run on the nodes, which
// are Linux machines of this machine's architecture: it is not a regular
// file, has no execute permission, is not an ELF executable (a script, say:
// give the server's binary itself) or is built for another architecture.
// Every error wraps targets.ErrCannotRun. Missing libraries show only on a
// node: Install runs the file there.
func CheckExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return cannotRun("%w", err)
	}
	if !fi.Mode().IsRegular() {
		return cannotRun("%s is not a regular file", path)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return cannotRun("%s is not executable (mode %s)", path, fi.Mode().Perm())
	}
	f, err := elf.Open(path)
	if err != nil {
		return cannotRun("%s is not an ELF executable%s; give the server's binary itself", path, startsWith(path))
	}
	defer f.Close()
	want, known := machines[hostArch()]
	switch {
	case f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN:
		return cannotRun("%s is an ELF file of type %s, not an executable", path, f.Type)
	case f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX:
		return cannotRun("%s is built for %s, the nodes run Linux", path, f.OSABI)
	case known && f.Machine != want:
		return cannotRun("%s is built for %s, the nodes run %s (%s)", path, machineName(f.Machine), machineName(want), hostArch())
	}
	return nil
}

// machineName is an ELF machine without its EM_ prefix: "X86_64".
func machineName(m elf.Machine) string { return strings.TrimPrefix(m.String(), "EM_") }

// startsWith says what a file that is not ELF starts with, if it is a
// script: " (it starts with #!/bin/sh: a script)".
func startsWith(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	buf := make([]byte, 64)
	n, _ := io.ReadFull(f, buf)
	line, _, _ := strings.Cut(string(buf[:n]), "\n")
	if strings.HasPrefix(line, "#!") {
		return fmt.Sprintf(" (it starts with %s: a script)", strings.TrimSpace(line))
	}
	return ""
}

// cannotRunError is a targets.ErrCannotRun that does not say so in its
// text, which names the file and what is wrong with it.
type cannotRunError struct{ error }

func (e cannotRunError) Unwrap() error      { return e.error }
func (cannotRunError) Is(target error) bool { return target == targets.ErrCannotRun }

func cannotRun(format string, args ...any) error {
	return cannotRunError{fmt.Errorf(format, args...)}
}

// hostArch is the architecture of this machine and of the nodes.
func hostArch() string { return goruntime.GOARCH }
