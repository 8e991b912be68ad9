package mariadb

import (
	"context"
	"database/sql"
	"errors"

	"github.com/lockstorm/lockstorm/targets"
)

// ServerVersion implements targets.Versioner: SELECT VERSION() over TCP on
// a connection of its own, which takes no named lock.
func (m *Service) ServerVersion(ctx context.Context) (string, error) {
	if m.addr == "" {
		return "", errors.New("mariadb: not set up")
	}
	db, err := sql.Open("mysql", mariaDSN(m.addr))
	if err != nil {
		return "", err
	}
	defer db.Close()
	var v string
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&v); err != nil {
		return "", err
	}
	return mariaVersion(v)
}

// mariaVersion is the Versioner's answer for VERSION()
// ("10.11.6-MariaDB-0+deb12u1" gives "mariadb 10.11.6").
func mariaVersion(version string) (string, error) {
	return targets.ServerVersionOf("mariadb", version)
}

var _ targets.Versioner = (*Service)(nil)
