package email

import (
	"context"
	"encoding/base64"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slogate/slogate/alerting/notify"
	"github.com/slogate/slogate/alerting/notify/notifytest"
)

const password = "pa55-w0rd-9917"

// smtpServer is a tiny SMTP server on 127.0.0.1 that records the
// envelope and data of each mail and answers RCPT with rcptReply.
type smtpServer struct {
	ln        net.Listener
	rcptReply string
	authReply string

	mu   sync.Mutex
	auth string
	from string
	to   []string
	data string
}

func newSMTPServer(t *testing.T, rcptReply, authReply string) *smtpServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln, rcptReply: rcptReply, authReply: authReply}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(conn)
		}
	}()
	return s
}

func (s *smtpServer) serve(conn net.Conn) {
	defer conn.Close()
	c := textproto.NewConn(conn)
	c.PrintfLine("220 test ESMTP")
	for {
		line, err := c.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			c.PrintfLine("250-test\r\n250 AUTH PLAIN")
		case "AUTH":
			_, cred, _ := strings.Cut(arg, " ")
			dec, _ := base64.StdEncoding.DecodeString(cred)
			s.mu.Lock()
			s.auth = string(dec)
			s.mu.Unlock()
			// A careless server quotes the credentials back.
			c.PrintfLine("%s", strings.ReplaceAll(s.authReply, "{{auth}}", strings.ReplaceAll(string(dec), "\x00", " ")))
		case "MAIL":
			s.mu.Lock()
			s.from = arg
			s.mu.Unlock()
			c.PrintfLine("250 ok")
		case "RCPT":
			s.mu.Lock()
			s.to = append(s.to, arg)
			s.mu.Unlock()
			c.PrintfLine("%s", s.rcptReply)
		case "DATA":
			c.PrintfLine("354 go on")
			data, err := c.ReadDotBytes()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.data = string(data)
			s.mu.Unlock()
			c.PrintfLine("250 queued")
		case "QUIT":
			c.PrintfLine("221 bye")
			return
		default:
			c.PrintfLine("502 unknown")
		}
	}
}

func TestNotifySendsMail(t *testing.T) {
	s := newSMTPServer(t, "250 ok", "235 ok")
	n, err := New(Config{Addr: s.ln.Addr().String(), From: "slogate <slogate@example.com>",
		To: []string{"oncall@example.com", "Team <team@example.com>"}, Username: "slogate", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	n.now = func() time.Time { return notifytest.Start }
	if retry, err := n.Notify(context.Background(), notifytest.Message()); err != nil || retry {
		t.Fatalf("got retry %v, error %v; want neither", retry, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.auth != "\x00slogate\x00"+password {
		t.Errorf("got AUTH PLAIN %q, want the username and password", s.auth)
	}
	if s.from != "FROM:<slogate@example.com>" || strings.Join(s.to, ",") != "TO:<oncall@example.com>,TO:<team@example.com>" {
		t.Errorf("got envelope %s %v, want slogate@example.com to both recipients", s.from, s.to)
	}
	msg, err := mail.ReadMessage(strings.NewReader(s.data))
	if err != nil {
		t.Fatalf("read mail %q: %v", s.data, err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if want := "[PAGE] checkout availability: error budget burning 14.4x too fast"; subject != want {
		t.Errorf("got subject %q, want %q", subject, want)
	}
	if got := msg.Header.Get("Content-Type"); got != "text/plain; charset=utf-8" {
		t.Errorf("got content type %q, want plain text", got)
	}
	body, _ := io.ReadAll(msg.Body)
	text := decodeQP(t, string(body))
	for _, want := range []string{"Runbook:          https://runbooks.example.com/checkout", "On call:          bob",
		"Budget remaining: 42.0%", "Deploy:           v1.42.0, commit abc1234, by carol"} {
		if !strings.Contains(text, want) {
			t.Errorf("got body\n%s\nwant it to contain %q", text, want)
		}
	}
}

func decodeQP(t *testing.T, s string) string {
	t.Helper()
	out, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(s)))
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(out), "\r\n", "\n")
}

func TestNotifyRetriesByReplyClass(t *testing.T) {
	tests := []struct {
		name      string
		rcpt      string
		auth      string
		down      bool
		wantRetry bool
		wantErr   bool
	}{
		{name: "a transient rejection is retried", rcpt: "451 try later", auth: "235 ok", wantRetry: true, wantErr: true},
		{name: "a permanent rejection is not retried", rcpt: "550 no such user", auth: "235 ok", wantErr: true},
		{name: "a failed login quoting the password back leaks no secret", rcpt: "250 ok", auth: "535 bad credentials {{auth}}", wantErr: true},
		{name: "a relay that is down is retried", down: true, wantRetry: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSMTPServer(t, tt.rcpt, tt.auth)
			if tt.down {
				s.ln.Close()
			}
			n, err := New(Config{Addr: s.ln.Addr().String(), From: "slogate@example.com", To: []string{"a@example.com"},
				Username: "slogate", Password: password, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			retry, err := n.Notify(context.Background(), notifytest.Message())
			if retry != tt.wantRetry || (err != nil) != tt.wantErr {
				t.Fatalf("got retry %v, error %v; want retry %v, error %v", retry, err, tt.wantRetry, tt.wantErr)
			}
			notifytest.CheckNoSecrets(t, err, password)
		})
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{Addr: "smtp.example.com:587", From: "slogate@example.com", To: []string{"a@example.com"}}
	tests := []struct {
		name    string
		edit    func(c *Config)
		wantErr bool
	}{
		{name: "an address, sender and recipient are enough", edit: func(*Config) {}},
		{name: "an address without port is an error", edit: func(c *Config) { c.Addr = "smtp.example.com" }, wantErr: true},
		{name: "no recipients is an error", edit: func(c *Config) { c.To = nil }, wantErr: true},
		{name: "a malformed recipient is an error", edit: func(c *Config) { c.To = []string{"not an address"} }, wantErr: true},
		{name: "a password without username is an error", edit: func(c *Config) { c.Password = password }, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			err := c.Validate()
			if (err != nil) != tt.wantErr {
				t.Errorf("got %v, want error %v", err, tt.wantErr)
			}
			notifytest.CheckNoSecrets(t, err, notify.Secret(password))
		})
	}
}
