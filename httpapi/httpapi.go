// Package httpapi owns the conventions every slogate JSON endpoint shares:
// bodies decoded strictly, and 400s that name the field that is wrong.
package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// MaxBody is the largest request body Decode reads, in bytes; a larger one
// is cut short and so fails to decode.
const MaxBody = 1 << 20

// BadRequest returns a 400 whose message is the field that is wrong, a
// colon, and what is wrong with it: BadRequest("limit", "must be at most
// %d", 500) is "limit: must be at most 500". It is safe for concurrent use.
func BadRequest(field, format string, args ...any) error {
	return echo.NewHTTPError(http.StatusBadRequest, field+": "+fmt.Sprintf(format, args...))
}

// Decode reads the request body of c into v as one JSON object, strictly:
// an unknown field, a value of the wrong type, an empty body and data after
// the object are each a 400 that says what is wrong, naming the field when
// there is one, and a content type other than application/json (when one
// is given) is a 415. It is safe for concurrent use.
func Decode(c echo.Context, v any) error {
	r := c.Request()
	if ct := r.Header.Get(echo.HeaderContentType); ct != "" && !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "body must be application/json, got "+ct)
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, MaxBody+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return BadRequest(te.Field, "must be a %s, got %s", te.Type.String(), te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return BadRequest(strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), "unknown field")
		case errors.Is(err, io.EOF):
			return echo.NewHTTPError(http.StatusBadRequest, "body: empty; expected a JSON object")
		}
		return echo.NewHTTPError(http.StatusBadRequest, "body: invalid JSON: "+err.Error())
	}
	if dec.More() {
		return echo.NewHTTPError(http.StatusBadRequest, "body: trailing data after the JSON object")
	}
	return nil
}
