package postgres

import (
	"context"

	"github.com/lockstorm/lockstorm/targets"
)

// ServerVersion implements targets.Versioner: SHOW server_version on a
// connection of its own, which touches no lock.
func (s *pgServer) ServerVersion(ctx context.Context) (string, error) {
	conn, err := s.connect(ctx, pgDatabase, "lockstorm-version")
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var v string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&v); err != nil {
		return "", err
	}
	return pgVersion(v)
}

// pgVersion is the Versioner's answer for server_version ("15.10 (Debian
// 15.10-0+deb12u1)" gives "postgresql 15.10").
func pgVersion(serverVersion string) (string, error) {
	return targets.ServerVersionOf("postgresql", serverVersion)
}

var (
	_ targets.Versioner = (*Advisory)(nil)
	_ targets.Versioner = (*Row)(nil)
)
