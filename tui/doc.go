// Package tui is the terminal UI of `authdev up`: personas, environments,
// live requests and their decisions, tokens. It talks to the running stack
// only through the Stack interface.
//
// The Model routes: the panes of the main screen (personas, requests)
// implement pane and sit in a slice; the request detail, the token and the
// help implement screen and cover the panes while open. Run shows it on a
// terminal until the user quits; New builds the model alone, for tests that
// drive it message by message.
package tui
