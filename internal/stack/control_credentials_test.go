package stack

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authdev/authdev/internal/pki"
	"github.com/authdev/authdev/internal/state"
)

func TestControlCredentialsReadTheStoreAndCreateNothing(t *testing.T) {
	t.Parallel()
	store := state.NewMemory()
	if _, _, err := ControlCredentials(store); err == nil || !strings.Contains(err.Error(), "is `authdev up` running") {
		t.Fatalf("without a running stack: err = %v", err)
	}
	store.Set(ControlTokenKey, []byte("tok"))
	token, roots, err := ControlCredentials(store)
	if err != nil || token != "tok" || roots != nil {
		t.Fatalf("plain-HTTP stack: token %q roots %v err %v", token, roots, err)
	}
	if _, err := store.Get(pki.StoreKey); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("a client made a CA: %v", err)
	}
	if _, err := pki.LoadOrCreate(store, time.Now, rand.Reader); err != nil {
		t.Fatal(err)
	}
	if _, roots, err = ControlCredentials(store); err != nil || roots == nil {
		t.Fatalf("TLS stack: roots %v err %v", roots, err)
	}
}
