package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/authdev/authdev/internal/junit/junittest"
)

// workflowStep is a step of a GitHub Actions job.
type workflowStep struct {
	Name string `yaml:"name"`
	Uses string `yaml:"uses"`
	Run  string `yaml:"run"`
	If   string `yaml:"if"`
}

// TestTheGitHubActionsExampleRuns runs the `run:` steps of the rbac job of
// examples/ci/github-actions.yml, as a runner would, in a workspace holding
// the FastAPI example and examples/ci/authdev.yaml: authdev test
// --require-coverage and authdev verify-backend must pass. What a runner
// provides is provided here instead: the authdev just built (for "Install
// authdev"), Debian's FastAPI (for "Install the backend", and `python` is
// /usr/bin/python3), and free ports for the fixed 8000 and 8443.
func TestTheGitHubActionsExampleRuns(t *testing.T) {
	t.Parallel()
	var wf struct {
		Jobs map[string]struct {
			Env   map[string]string `yaml:"env"`
			Steps []workflowStep    `yaml:"steps"`
		} `yaml:"jobs"`
	}
	raw, err := os.ReadFile("../examples/ci/github-actions.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &wf); err != nil {
		t.Fatalf("the workflow is not YAML: %v", err)
	}
	job, ok := wf.Jobs["rbac"]
	if !ok {
		t.Fatal("the workflow has no rbac job")
	}
	ws := ciWorkspace(t)
	appPort := itoa(freePort(t))
	ports := strings.NewReplacer("127.0.0.1:8000", "127.0.0.1:"+appPort, "--port 8000", "--port "+appPort,
		"127.0.0.1:8443", "127.0.0.1:"+ws.proxyPort, "${{ github.workspace }}", ws.dir)
	cfg, _ := os.ReadFile(filepath.Join(ws.dir, "authdev.yaml"))
	os.WriteFile(filepath.Join(ws.dir, "authdev.yaml"), []byte(ports.Replace(string(cfg))), 0o600)
	env := []string{"PATH=" + ws.bin + ":" + os.Getenv("PATH"), "HOME=" + filepath.Join(ws.dir, "home"), "LANG=C.UTF-8"}
	for k, v := range job.Env {
		env = append(env, k+"="+ports.Replace(v))
	}
	ran := map[string]bool{}
	for _, step := range job.Steps {
		switch {
		case step.Run == "", step.If != "":
			continue // actions and the publishing steps
		case step.Name == "Install authdev" || step.Name == "Install the backend":
			continue // provided above
		}
		ran[step.Name] = true
		out, code := ws.runStep(t, env, ports.Replace(step.Run))
		if code != 0 {
			t.Fatalf("step %q: exit %d\n%s", step.Name, code, out)
		}
	}
	for _, name := range []string{"Print authdev's CA", "Start the backend", "authdev test", "authdev verify-backend"} {
		if !ran[name] {
			t.Errorf("the workflow has no step %q", name)
		}
	}
	for _, report := range []string{"rbac.xml", "backend.xml"} {
		b, err := os.ReadFile(filepath.Join(ws.dir, report))
		if err != nil {
			t.Fatalf("the workflow wrote no %s: %v", report, err)
		}
		junittest.Validate(t, b)
	}
}

type ciWS struct {
	dir, bin, proxyPort string
	groups              []int
}

// ciWorkspace is a checkout: the FastAPI app, its requirements and the
// example's authdev.yaml; bin holds authdev and a `python`.
func ciWorkspace(t *testing.T) *ciWS {
	t.Helper()
	ws := &ciWS{dir: t.TempDir(), proxyPort: itoa(freePort(t))}
	ws.bin = filepath.Join(ws.dir, ".bin")
	os.MkdirAll(ws.bin, 0o755)
	for src, dst := range map[string]string{"../examples/fastapi/app.py": "app.py", "../examples/ci/authdev.yaml": "authdev.yaml"} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(ws.dir, dst), b, 0o600)
	}
	os.Symlink(authdevBin, filepath.Join(ws.bin, "authdev"))
	os.Symlink("/usr/bin/python3", filepath.Join(ws.bin, "python"))
	t.Cleanup(func() {
		for _, g := range ws.groups {
			syscall.Kill(-g, syscall.SIGTERM)
		}
	})
	return ws
}

// runStep runs a step's script with bash -e in its own process group, which
// is stopped when the test ends (steps may leave a server running).
func (ws *ciWS) runStep(t *testing.T, env []string, script string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-e", "-c", script)
	cmd.Dir, cmd.Env = ws.dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ws.groups = append(ws.groups, cmd.Process.Pid)
	err := cmd.Wait()
	if exit, ok := err.(*exec.ExitError); ok {
		return out.String(), exit.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), 0
}
