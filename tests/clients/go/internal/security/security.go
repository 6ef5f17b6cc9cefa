// Package security maps EB_CLIENT_SECURITY (see tests/clients/security.py) onto franz-go options.
package security

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

type settings struct {
	Protocol  string `json:"protocol"`
	Mechanism string `json:"mechanism"`
	Username  string `json:"username"`
	Password  string `json:"password"`
	CA        string `json:"ca"`
	Cert      string `json:"cert"`
	Key       string `json:"key"`
}

// Options returns the client options for the settings in the environment (none when unset).
func Options() ([]kgo.Opt, error) {
	raw := os.Getenv("EB_CLIENT_SECURITY")
	if raw == "" {
		return nil, nil
	}
	var s settings
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return nil, err
	}
	var opts []kgo.Opt
	if os.Getenv("EB_KGO_DEBUG") != "" {
		opts = append(opts, kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelDebug, nil)))
	}
	if s.Protocol == "SSL" || s.Protocol == "SASL_SSL" {
		cfg := &tls.Config{}
		if s.CA != "" {
			pem, err := os.ReadFile(s.CA)
			if err != nil {
				return nil, err
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("no certificate in %s", s.CA)
			}
			cfg.RootCAs = pool
		}
		if s.Cert != "" {
			pair, err := tls.LoadX509KeyPair(s.Cert, s.Key)
			if err != nil {
				return nil, err
			}
			cfg.Certificates = []tls.Certificate{pair}
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	switch s.Mechanism {
	case "":
	case "PLAIN":
		opts = append(opts, kgo.SASL(plain.Auth{User: s.Username, Pass: s.Password}.AsMechanism()))
	case "SCRAM-SHA-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: s.Username, Pass: s.Password}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: s.Username, Pass: s.Password}.AsSha512Mechanism()))
	default:
		return nil, fmt.Errorf("unknown mechanism %s", s.Mechanism)
	}
	return opts, nil
}
