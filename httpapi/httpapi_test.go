package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// order is a body with a string, a number and a nested object, to see
// which field an error names.
type order struct {
	Item     string `json:"item"`
	Quantity int    `json:"quantity"`
	Ship     struct {
		Days int `json:"days"`
	} `json:"ship"`
}

func TestDecode(t *testing.T) {
	e := echo.New()
	e.POST("/orders", func(c echo.Context) error {
		var o order
		if err := Decode(c, &o); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, o)
	})
	srv := httptest.NewServer(e)
	defer srv.Close()

	tests := []struct {
		name        string
		contentType string
		body        string
		wantStatus  int
		wantMessage string // the error's message; "" for success
		wantItem    string // the item decoded, echoed back on success
	}{
		{name: "a well-formed object is decoded", contentType: "application/json",
			body: `{"item":"book","quantity":2,"ship":{"days":3}}`, wantStatus: http.StatusOK, wantItem: "book"},
		{name: "a body without a content type is read as JSON",
			body: `{"item":"book"}`, wantStatus: http.StatusOK, wantItem: "book"},
		{name: "a JSON content type with a charset is accepted", contentType: "application/json; charset=utf-8",
			body: `{"item":"book"}`, wantStatus: http.StatusOK, wantItem: "book"},
		{name: "an unknown field is a 400 naming it", contentType: "application/json",
			body: `{"item":"book","colour":"red"}`, wantStatus: http.StatusBadRequest, wantMessage: "colour: unknown field"},
		{name: "a value of the wrong type is a 400 naming the field and both types", contentType: "application/json",
			body: `{"quantity":"two"}`, wantStatus: http.StatusBadRequest, wantMessage: "quantity: must be a int, got string"},
		{name: "a nested field of the wrong type is named by its path", contentType: "application/json",
			body: `{"ship":{"days":1.5}}`, wantStatus: http.StatusBadRequest, wantMessage: "ship.days: must be a int, got number 1.5"},
		{name: "an empty body is a 400 asking for an object", contentType: "application/json",
			body: ``, wantStatus: http.StatusBadRequest, wantMessage: "body: empty; expected a JSON object"},
		{name: "data after the object is a 400", contentType: "application/json",
			body: `{"item":"book"} {}`, wantStatus: http.StatusBadRequest, wantMessage: "body: trailing data after the JSON object"},
		{name: "malformed JSON is a 400 saying why", contentType: "application/json",
			body: `{"item":`, wantStatus: http.StatusBadRequest, wantMessage: "body: invalid JSON: unexpected EOF"},
		{name: "another content type is a 415 naming it", contentType: "text/plain",
			body: `{"item":"book"}`, wantStatus: http.StatusUnsupportedMediaType, wantMessage: "body must be application/json, got text/plain"},
		{name: "a body larger than MaxBody is cut short and refused", contentType: "application/json",
			body: `{"item":"` + strings.Repeat("a", MaxBody) + `"}`, wantStatus: http.StatusBadRequest, wantMessage: "body: invalid JSON: unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/orders", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got struct {
				Message string `json:"message"`
				Item    string `json:"item"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatalf("decode answer: %v", err)
			}
			if resp.StatusCode != tt.wantStatus || got.Message != tt.wantMessage || got.Item != tt.wantItem {
				t.Errorf("got %d message %q item %q, want %d message %q item %q",
					resp.StatusCode, got.Message, got.Item, tt.wantStatus, tt.wantMessage, tt.wantItem)
			}
		})
	}
}

func TestBadRequest(t *testing.T) {
	err := BadRequest("limit", "must be at most %d, got %q", 500, "9000")
	he, ok := err.(*echo.HTTPError)
	if !ok {
		t.Fatalf("got %T, want *echo.HTTPError", err)
	}
	if want := `limit: must be at most 500, got "9000"`; he.Code != http.StatusBadRequest || he.Message != want {
		t.Errorf("got %d %v, want 400 %q", he.Code, he.Message, want)
	}
}
