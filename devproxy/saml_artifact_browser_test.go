package devproxy_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/authdev/authdev/internal/testkit"
	"github.com/authdev/authdev/internal/testkit/chromium"
)

// Headless Chromium logs in through the HTTP-Artifact binding: the persona
// picker's choice sends it to the proxy's ACS with a SAMLart (a redirect, no
// form), the proxy resolves it over the back channel and the browser lands
// where it started with the session.
func TestChromiumLogsInThroughTheArtifactBinding(t *testing.T) {
	backend := echoBackend(t, "api")
	e := start(t, artifactSetup(t, "", backend.URL))
	ctx := chromium.Start(t)
	var mu sync.Mutex
	var visited []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if req, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			visited = append(visited, req.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	button := chromedp.CSS(`button.persona[value="bob"]`)
	if err := chromedp.Do(ctx, chromedp.Navigate(e.url+"/orders?x=1"), chromedp.WaitVisible(button), chromedp.Click(button)); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	var loc string
	if !testkit.Eventually(testkit.WaitTimeout, func() bool {
		loc, _ = chromedp.Run(ctx, chromedp.Location())
		return strings.HasPrefix(loc, e.url)
	}) {
		t.Fatalf("after the persona's click Chromium stays at %s", loc)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	if loc != e.url+"/orders?x=1" || !strings.Contains(text, `"X-Remote-User":["bob@example.com"]`) {
		t.Fatalf("after the artifact login Chromium is at %s showing:\n%s", loc, text)
	}
	mu.Lock()
	defer mu.Unlock()
	acsVisit(t, visited)
}
