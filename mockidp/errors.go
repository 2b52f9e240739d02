package mockidp

import (
	"fmt"
	"net/http"
)

// ErrorCode is an error code of RFC 6749 §5.2 and the specifications that
// extend it (OIDC Core, RFC 8628, RFC 8693, RFC 6750).
type ErrorCode string

// Error codes the provider answers with.
const (
	ErrInvalidRequest          ErrorCode = "invalid_request"
	ErrInvalidClient           ErrorCode = "invalid_client"
	ErrInvalidGrant            ErrorCode = "invalid_grant"
	ErrUnauthorizedClient      ErrorCode = "unauthorized_client"
	ErrUnsupportedGrantType    ErrorCode = "unsupported_grant_type"
	ErrUnsupportedResponseType ErrorCode = "unsupported_response_type"
	ErrInvalidScope            ErrorCode = "invalid_scope"
	ErrInvalidTarget           ErrorCode = "invalid_target"
	ErrAccessDenied            ErrorCode = "access_denied"
	ErrLoginRequired           ErrorCode = "login_required"
	ErrRequestNotSupported     ErrorCode = "request_not_supported"
	ErrAuthorizationPending    ErrorCode = "authorization_pending"
	ErrSlowDown                ErrorCode = "slow_down"
	ErrExpiredToken            ErrorCode = "expired_token"
	ErrInvalidToken            ErrorCode = "invalid_token"
	ErrUnsupportedTokenType    ErrorCode = "unsupported_token_type"
	ErrServerError             ErrorCode = "server_error"
)

// Error is a protocol error: its code, a description for the developer
// reading it, and the HTTP status it is sent with.
type Error struct {
	Code        ErrorCode `json:"error"`
	Description string    `json:"error_description,omitempty"`
	Status      int       `json:"-"`
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Description }

func oauthErr(code ErrorCode, format string, args ...any) *Error {
	status := http.StatusBadRequest
	switch code {
	case ErrInvalidClient, ErrInvalidToken:
		status = http.StatusUnauthorized
	case ErrServerError:
		status = http.StatusInternalServerError
	}
	return &Error{Code: code, Description: fmt.Sprintf(format, args...), Status: status}
}

// writeError answers a token-style endpoint with RFC 6749 JSON. A client
// that tried HTTP Basic authentication is told which scheme to use (§5.2).
func writeError(w http.ResponseWriter, r *http.Request, e *Error) {
	if e.Code == ErrInvalidClient {
		if _, _, ok := r.BasicAuth(); ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="authdev"`)
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, e.Status, e)
}
