// Package openapi reads the routes of a backend's OpenAPI document (3.0
// or 3.1, JSON or YAML) with pb33f/libopenapi: every method × path
// template, with an example value for each path parameter where the
// document gives one. authdev test measures which routes its checks
// cover.
package openapi
