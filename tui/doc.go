// Package tui is the terminal UI of `authdev up`: personas, environments,
// live requests and their decisions, tokens. It talks to the running stack
// only through the Stack interface.
package tui
