// Package tui is the terminal UI of `authdev up`: personas, environments,
// live requests and their decisions, tokens. It talks to the running stack
// only through the Stack interface.
//
// Run shows it on a terminal until the user quits; New builds the bubbletea
// model alone, for tests that drive it message by message.
package tui
