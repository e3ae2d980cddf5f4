// Package dbconn builds a SQL driver's connection string from the parts a
// deployment names (driver, host, port, schema, credentials, TLS), so that a
// BOSH job template passes its database properties as they are.
package dbconn

import (
	"fmt"
	"strings"
)

// Parts is a database given by its parts: the "database" object of the BBS
// and Locket configuration files. ConnectionString, when set, is used as it
// is and the host, port, schema and credentials are ignored.
type Parts struct {
	Driver           string `json:"driver"`
	ConnectionString string `json:"connection_string"`
	Host             string `json:"host"`
	// Port is empty for the driver's default (postgres 5432, mysql 3306).
	Port     string `json:"port"`
	Schema   string `json:"schema"`
	Username string `json:"username"`
	Password string `json:"password"`
	// RequireSSL: postgres sslmode=verify-full against CAFile, or
	// sslmode=require without it; mysql tls=true.
	RequireSSL bool   `json:"require_ssl"`
	CAFile     string `json:"ca_file"`
	// SQLiteDir holds the sqlite database, SQLITE_DIR/SCHEMA.db.
	SQLiteDir string `json:"sqlite_dir"`
}

// Apply sets driver and dsn from p; a nil p leaves them as they are (the
// configuration gave database_driver and database_connection_string).
func (p *Parts) Apply(driver, dsn *string) error {
	if p == nil {
		return nil
	}
	s, err := p.DSN()
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	*driver, *dsn = p.Driver, s
	return nil
}

// DSN is the connection string of the driver (postgres URL, mysql DSN or
// sqlite file path).
func (p Parts) DSN() (string, error) {
	if p.ConnectionString != "" {
		if p.Driver == "" {
			return "", fmt.Errorf("driver is required with connection_string: postgres, mysql or sqlite")
		}
		return p.ConnectionString, nil
	}
	host := p.Host
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]" // an IPv6 address
	}
	switch p.Driver {
	case "postgres":
		if host == "" {
			return "", fmt.Errorf("host is required for the postgres driver")
		}
		userinfo := escape(p.Username)
		if p.Password != "" {
			userinfo += ":" + escape(p.Password)
		}
		params := "sslmode=disable"
		switch {
		case p.RequireSSL && p.CAFile == "":
			params = "sslmode=require"
		case p.RequireSSL:
			params = "sslmode=verify-full&sslrootcert=" + escape(p.CAFile)
		}
		return fmt.Sprintf("postgres://%s@%s:%s/%s?%s", userinfo, host, or(p.Port, "5432"), escape(p.Schema), params), nil
	case "mysql":
		if host == "" {
			return "", fmt.Errorf("host is required for the mysql driver")
		}
		user := p.Username
		if p.Password != "" {
			user += ":" + p.Password
		}
		dsn := fmt.Sprintf("%s@tcp(%s:%s)/%s", user, host, or(p.Port, "3306"), p.Schema)
		if p.RequireSSL {
			dsn += "?tls=true"
		}
		return dsn, nil
	case "sqlite":
		return strings.TrimSuffix(p.SQLiteDir, "/") + "/" + p.Schema + ".db", nil
	default:
		return "", fmt.Errorf("driver must be postgres, mysql or sqlite, not %q", p.Driver)
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// escape percent-encodes every byte but the unreserved ones (RFC 3986:
// letters, digits, -._~), for a URL's userinfo, path and query values.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
