package webhook

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/slogate/slogate/alerting/notify"
	"github.com/slogate/slogate/alerting/notify/notifytest"
)

const key = "s3cr3t-signing-key"

func TestNotifyPostsSignedMessage(t *testing.T) {
	tests := []struct {
		name string
		msg  *notify.Message
	}{
		{name: "a trigger arrives whole and signed", msg: notifytest.Message()},
		{name: "a resolve arrives with its duration and budget spent", msg: notifytest.Resolve()},
		{name: "a change arrives with its deploy", msg: notifytest.Change()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := notifytest.NewReceiver(t)
			n, err := New(Config{URL: notify.Secret(r.URL + "/hook"), SigningKey: key})
			if err != nil {
				t.Fatal(err)
			}
			if retry, err := n.Notify(context.Background(), tt.msg); err != nil || retry {
				t.Fatalf("got retry %v, error %v; want neither", retry, err)
			}
			req := r.Last(t)
			if got := req.Header.Get("X-Slogate-Signature"); !Verify([]byte(key), req.Body, got) {
				t.Errorf("got signature %q, want %q", got, Sign([]byte(key), req.Body))
			}
			if got := req.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("got content type %q, want application/json", got)
			}
			var p Payload
			if err := json.Unmarshal(req.Body, &p); err != nil {
				t.Fatalf("decode %s: %v", req.Body, err)
			}
			if p.Version != Version || !reflect.DeepEqual(p.Message, tt.msg) {
				t.Errorf("got %+v\nwant version %d, %+v", p, Version, tt.msg)
			}
		})
	}
}

func TestVerifyRejectsTampering(t *testing.T) {
	body := []byte(`{"version":1}`)
	sig := Sign([]byte(key), body)
	tests := []struct {
		name      string
		key, body []byte
		sig       string
		want      bool
	}{
		{name: "the right key and body verify", key: []byte(key), body: body, sig: sig, want: true},
		{name: "another key does not verify", key: []byte("other"), body: body, sig: sig},
		{name: "a changed body does not verify", key: []byte(key), body: []byte(`{"version":2}`), sig: sig},
		{name: "a signature without its prefix does not verify", key: []byte(key), body: body, sig: sig[len("sha256="):]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verify(tt.key, tt.body, tt.sig); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNotifyKeepsTheContract(t *testing.T) {
	notifytest.CheckContract(t, func(t *testing.T, url string) notify.Notifier {
		n, err := New(Config{URL: notify.Secret(url), SigningKey: key})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}, key)
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{name: "a URL and key are enough", cfg: Config{URL: "https://example.com/x", SigningKey: "key-zq9"}},
		{name: "a missing URL is an error", cfg: Config{SigningKey: "key-zq9"}, wantErr: true},
		{name: "a relative URL is an error", cfg: Config{URL: "/x", SigningKey: "key-zq9"}, wantErr: true},
		{name: "a missing signing key is an error", cfg: Config{URL: "https://example.com/x"}, wantErr: true},
		{name: "a negative timeout is an error", cfg: Config{URL: "https://example.com/x", SigningKey: "key-zq9", Timeout: -1}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err != nil) != tt.wantErr {
				t.Errorf("got %v, want error %v", err, tt.wantErr)
			}
			notifytest.CheckNoSecrets(t, err, tt.cfg.URL, tt.cfg.SigningKey)
		})
	}
}
