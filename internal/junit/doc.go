// Package junit is the JUnit XML report as CI systems read it (GitHub
// Actions reporters, GitLab, Jenkins): test suites of test cases, each
// passed, failed or in error. authdev test and authdev verify-backend write
// it.
package junit
