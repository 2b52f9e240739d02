// Package testkit is what authdev's tests share: authdev.yaml fixtures, a
// buffer a program writes while the test reads it, the expected error of a
// table case, and polling with a deadline. Headless Chromium is in the
// chromium package below. Only tests import them.
package testkit
