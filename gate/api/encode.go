package api

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/slogate/slogate/gate"
)

// The gate answers thousands of pipelines from memory, so its JSON is
// encoded in two parts: the fields that depend on the request (change
// type, environment, the resulting decision) are appended by hand, and the
// rest, which depends only on the service's verdict, is encoded once per
// verdict and reused. Reflection over the whole answer on every request
// cost more than everything else the gate does. TestFastAnswerEncoding
// proves the output equals encoding/json's for gate.Answer.

// answerTail holds the fields of gate.Answer that come from the verdict and
// policy alone, under the same JSON names.
type answerTail struct {
	Reasons     []string          `json:"reasons"`
	Warnings    []string          `json:"warnings"`
	SLOs        []gate.SLOSummary `json:"slos"`
	Data        answerData        `json:"data"`
	EvaluatedAt time.Time         `json:"evaluated_at"`
	Policy      *gate.Policy      `json:"policy"`
	URL         string            `json:"url,omitempty"`
}

type answerData struct {
	Stale []string `json:"stale"`
}

// verdictJSON is a verdict with its pre-encoded tail: the tail's JSON
// object without its opening brace, e.g. `"reasons":[...],...}`.
type verdictJSON struct {
	v    *gate.Verdict
	url  string
	tail []byte
}

func newVerdictJSON(v *gate.Verdict, p *gate.Policy, url string) *verdictJSON {
	t := answerTail{Reasons: v.Reasons, Warnings: v.Warnings, SLOs: v.SLOs, Data: answerData{Stale: v.Stale},
		EvaluatedAt: v.EvaluatedAt, Policy: p, URL: url}
	b, err := json.Marshal(t)
	if err != nil {
		// Marshal fails only on values JSON cannot hold (NaN, say); answer
		// by the slow path then.
		return &verdictJSON{v: v, url: url}
	}
	return &verdictJSON{v: v, url: url, tail: b[1:]}
}

// sameSlice reports whether a and b are the same slice, not merely equal.
func sameSlice(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// appendAnswer appends a's JSON to buf, using vj's pre-encoded tail when the
// answer carries the verdict's own reasons (no freeze replaced them).
func appendAnswer(buf []byte, a *gate.Answer, vj *verdictJSON) []byte {
	if vj == nil || vj.tail == nil || !sameSlice(a.Reasons, vj.v.Reasons) || a.URL != vj.url {
		b, _ := json.Marshal(a)
		return append(buf, b...)
	}
	buf = append(buf, `{"service":`...)
	buf = appendString(buf, a.Service)
	buf = append(buf, `,"env":`...)
	buf = appendString(buf, a.Env)
	if a.Version != "" {
		buf = append(buf, `,"version":`...)
		buf = appendString(buf, a.Version)
	}
	if a.Commit != "" {
		buf = append(buf, `,"commit":`...)
		buf = appendString(buf, a.Commit)
	}
	buf = append(buf, `,"decision":`...)
	buf = appendString(buf, a.Decision)
	buf = appendBool(append(buf, `,"allowed":`...), a.Allowed)
	buf = appendBool(append(buf, `,"would_block":`...), a.WouldBlock)
	buf = appendBool(append(buf, `,"enforced":`...), a.Enforced)
	buf = appendBool(append(buf, `,"gated":`...), a.Gated)
	buf = append(buf, `,"change_type":`...)
	buf = appendString(buf, a.ChangeType)
	buf = appendBool(append(buf, `,"breaking":`...), a.Breaking)
	buf = appendBool(append(buf, `,"exempt":`...), a.Exempt)
	if a.Freeze != "" {
		buf = append(buf, `,"freeze":`...)
		buf = appendString(buf, a.Freeze)
	}
	buf = append(buf, `,"override":`...)
	if a.Override == nil {
		buf = append(buf, "null"...)
	} else {
		b, _ := json.Marshal(a.Override)
		buf = append(buf, b...)
	}
	buf = append(buf, ',')
	return append(buf, vj.tail...)
}

func appendBool(buf []byte, b bool) []byte {
	if b {
		return append(buf, "true"...)
	}
	return append(buf, "false"...)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string the way encoding/json writes it:
// control characters, quotes and backslashes escaped, <, > and & escaped
// for HTML safety, U+2028 and U+2029 escaped, and invalid UTF-8 replaced by
// U+FFFD.
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			case '\b':
				buf = append(buf, '\\', 'b')
			case '\f':
				buf = append(buf, '\\', 'f')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\u202`...)
			buf = strconv.AppendInt(buf, int64(r&0xf), 16)
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
