package stack

import (
	"testing"
	"time"

	"github.com/authdev/authdev/config"
)

func TestProxyRequestTimeoutComesFromTheConfig(t *testing.T) {
	cfg, err := config.Parse([]byte("personas:\n  alice: {email: alice@example.com}\nenvironments:\n  dev: {}\nproxy:\n  request_timeout: 7s\n"), "authdev.yaml", t.TempDir(),
		config.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	if got := ConfigOptions(cfg, func(string) string { return "" }, "").RequestTimeout; got != 7*time.Second {
		t.Fatalf("RequestTimeout = %s, want 7s from proxy.request_timeout", got)
	}
}
