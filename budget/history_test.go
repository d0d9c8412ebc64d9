package budget

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestBlockEncodingRoundTrip(t *testing.T) {
	traffic := func(seed uint64, f func(i int, c *Counts)) minutes {
		rng := rand.New(rand.NewPCG(seed, 1))
		var m minutes
		for i := range m {
			total := math.Round(600 + 25*rng.NormFloat64())
			m[i] = Counts{Good: total - float64(rng.IntN(4)/3), Total: total}
			if f != nil {
				f(i, &m[i])
			}
		}
		return m
	}
	tests := []struct {
		name     string
		block    minutes
		maxBytes int
	}{
		{name: "an empty block", maxBytes: 9},
		{name: "one minute", block: minutes{17: {Good: 3, Total: 4}}, maxBytes: 14},
		{name: "an hour of ordinary traffic", block: traffic(1, nil), maxBytes: 72},
		{name: "an hour of traffic without errors", block: traffic(2, func(_ int, c *Counts) { c.Good = c.Total }), maxBytes: 64},
		{name: "traffic with a gap and a catch-up minute", block: traffic(3, func(i int, c *Counts) {
			switch {
			case i >= 10 && i < 40:
				*c = Counts{}
			case i == 40:
				*c = Counts{Good: 17_990, Total: 18_000}
			}
		}), maxBytes: 80},
		{name: "the largest whole counts", block: minutes{0: {Good: 0, Total: 1<<53 - 1}, 1: {Good: 1<<53 - 1, Total: 1<<53 - 1}, 59: {Good: 1, Total: 1}}},
		{name: "only bad events", block: traffic(4, func(_ int, c *Counts) { c.Good = 0 })},
		{name: "fractional counts", block: traffic(5, func(i int, c *Counts) { c.Good += 0.1 * float64(i) })},
		{name: "negative counts", block: minutes{3: {Good: -2, Total: -2}, 4: {Good: 1, Total: 0}}},
		{name: "more good than total events", block: minutes{5: {Good: 7, Total: 5}}},
		{name: "counts past 2^53", block: minutes{6: {Good: 1 << 54, Total: 1 << 55}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := appendBlock(nil, &tt.block)
			var got minutes
			p, err := decodeBlock(enc, &got)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got != tt.block {
				t.Errorf("got %v\nwant %v", got, tt.block)
			}
			if want := tt.block.presence(); p != want {
				t.Errorf("presence: got %b, want %b", p, want)
			}
			if tt.maxBytes > 0 && len(enc) > tt.maxBytes {
				t.Errorf("got %d bytes, want at most %d", len(enc), tt.maxBytes)
			}
			if again := appendBlock(nil, &got); !bytes.Equal(again, enc) {
				t.Errorf("encoding is not stable: %x then %x", enc, again)
			}
		})
	}
}

func TestBlockEncodingRoundTripRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for i := range 3000 {
		var c minutes
		scale := math.Pow(2, float64(rng.IntN(50)))
		for j := range c {
			if rng.IntN(4) == 0 {
				continue
			}
			total := math.Floor(rng.Float64() * scale)
			c[j] = Counts{Good: math.Floor(total * rng.Float64()), Total: total}
			if i%7 == 0 && rng.IntN(10) == 0 {
				c[j].Good += 0.5
			}
		}
		enc := appendBlock(nil, &c)
		var got minutes
		if _, err := decodeBlock(enc, &got); err != nil || got != c {
			t.Fatalf("block %d: got %v, %v\nwant %v", i, got, err, c)
		}
	}
}

// TestBlocksOfTheFirstEncoderStillLoad checks that blocks saved before the
// runs mode existed, which wrote bad events minute by minute, decode to
// what was saved, and that the encoder now writes them shorter.
func TestBlocksOfTheFirstEncoderStillLoad(t *testing.T) {
	var want minutes
	for i := range want {
		if i == 7 {
			continue
		}
		total := float64(500 + (i*37)%23)
		bad := 0.0
		if i%17 == 3 {
			bad = float64(i % 5)
		}
		want[i] = Counts{Good: total - bad, Total: total}
	}
	// appendBlock(nil, &want) as of the first encoder.
	old, err := hex.DecodeString("017fffffffffffff0fff0303002bd60c2736c1042c1237225da466a8cacc8a3503b1098a0958246e44eb223543556656ac19884d504c0f2c123702")
	if err != nil {
		t.Fatal(err)
	}
	var got minutes
	if _, err := decodeBlock(old, &got); err != nil || got != want {
		t.Fatalf("got %v, %v\nwant %v", got, err, want)
	}
	h := NewHistory()
	if err := h.LoadBlock(Block{Start: 60, Data: old}); err != nil {
		t.Fatal(err)
	}
	if got := h.At(60 + 20); got != want[20] {
		t.Errorf("minute 20: got %+v, want %+v", got, want[20])
	}
	if enc := appendBlock(nil, &want); enc[0]&modeBits != modeRuns || len(enc) >= len(old) {
		t.Errorf("now encoded in %d bytes, mode %d; want fewer than %d, mode %d", len(enc), enc[0]&modeBits, len(old), modeRuns)
	}
}

func TestDecodeBlockRejectsCorruption(t *testing.T) {
	good := minutes{1: {Good: 5, Total: 9}, 2: {Good: 6, Total: 6}}
	enc := appendBlock(nil, &good)
	tests := []struct {
		name string
		data []byte
	}{
		{"no bytes", nil},
		{"an unknown mode", []byte{0}},
		{"unknown header bits", append([]byte{enc[0] | 0x80}, enc[1:]...)},
		{"a short bitmap", enc[:5]},
		{"minutes past 59", []byte{modeInt, 0, 0, 0, 0, 0, 0, 0, 0x10}},
		{"a truncated stream", enc[:len(enc)-1]},
		{"trailing bytes", append(bytes.Clone(enc), 0)},
		{"a no-bad flag in runs mode", []byte{modeRuns | flagFull | flagNoBad, 1, 0, 0, 0}},
		{"a runs block without minutes", []byte{modeRuns, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}},
		{"a float block of the wrong length", []byte{modeFloat | flagFull, 1, 2, 3}},
		{"a float minute that is not a number", append([]byte{modeFloat, 1, 0, 0, 0, 0, 0, 0, 0}, bytes.Repeat([]byte{0xff}, 16)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c minutes
			if _, err := decodeBlock(tt.data, &c); !errors.Is(err, errBlock) {
				t.Errorf("decode %x: got %v, want an invalid block error", tt.data, err)
			}
		})
	}
}

func TestHistoryMatchesAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	h := NewHistory()
	want := map[Minute]Counts{}
	base := MinuteOf(time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC))
	add := func(m Minute, c Counts) {
		h.Add(m, c)
		w := want[m]
		w.Good += c.Good
		w.Total += c.Total
		if !w.present() {
			delete(want, m)
		} else {
			want[m] = w
		}
	}
	cursor := base
	for range 20000 {
		switch rng.IntN(10) {
		case 0: // late data
			add(cursor-Minute(rng.IntN(3000)), Counts{Good: 1, Total: 2})
		case 1: // undo a minute
			m := cursor - Minute(rng.IntN(3000))
			c := want[m]
			add(m, Counts{Good: -c.Good, Total: -c.Total})
		case 2: // a minute before everything
			add(base-Minute(rng.IntN(500)), Counts{Good: 3, Total: 3})
		default:
			n := float64(rng.IntN(1000))
			add(cursor, Counts{Good: n - float64(rng.IntN(2)), Total: n})
			cursor += Minute(1 + rng.IntN(2))
		}
	}
	lo, hi := base-3600, cursor+60
	for m := lo; m < hi; m++ {
		if got := h.At(m); got != want[m] {
			t.Fatalf("minute %d: got %+v, want %+v", m, got, want[m])
		}
	}
	n := 0
	h.Each(lo, hi, func(m Minute, c Counts) {
		n++
		if c != want[m] {
			t.Fatalf("each minute %d: got %+v, want %+v", m, c, want[m])
		}
	})
	if n != len(want) {
		t.Errorf("each visited %d minutes, want %d", n, len(want))
	}
	first, last := hi, lo
	for m := range want {
		first, last = min(first, m), max(last, m)
	}
	if got, ok := h.First(); !ok || got != first {
		t.Errorf("first: got %d %v, want %d", got, ok, first)
	}
	if got, ok := h.Last(); !ok || got != last {
		t.Errorf("last: got %d %v, want %d", got, ok, last)
	}

	t.Run("trim drops whole hours before the cut only", func(t *testing.T) {
		cut := base + 1234
		h.Trim(cut)
		for m := lo; m < hi; m++ {
			w := want[m]
			if m < cut/60*60 {
				w = Counts{}
			}
			if got := h.At(m); got != w {
				t.Fatalf("minute %d after trim: got %+v, want %+v", m, got, w)
			}
		}
	})
}

func TestDirtyBlocks(t *testing.T) {
	h := NewHistory()
	h.Add(120, Counts{Good: 1, Total: 1})
	h.Add(61, Counts{Good: 1, Total: 2})
	h.Add(125, Counts{Good: 1, Total: 1})
	d := h.Dirty()
	if len(d) != 2 || d[0].Start != 60 || d[1].Start != 120 {
		t.Fatalf("got dirty %v, want the blocks at 60 and 120", d)
	}
	h.Add(130, Counts{Good: 5, Total: 5}) // after Dirty, before saving
	h.MarkClean(d)
	d = h.Dirty()
	if len(d) != 1 || d[0].Start != 120 {
		t.Fatalf("got dirty %v, want only the block changed since", d)
	}
	h.MarkClean(d)
	if d := h.Dirty(); d != nil {
		t.Fatalf("got dirty %v after marking all clean, want none", d)
	}
	t.Run("an undone add leaves a dirty empty block to save", func(t *testing.T) {
		h.Add(61, Counts{Good: -1, Total: -2})
		d := h.Dirty()
		var c minutes
		if len(d) != 1 || d[0].Start != 60 {
			t.Fatalf("got dirty %v, want the block at 60", d)
		}
		if p, err := decodeBlock(d[0].Data, &c); err != nil || p != 0 {
			t.Errorf("got presence %b, %v; want an empty block", p, err)
		}
	})
	t.Run("a loaded block is clean and replaces the hour", func(t *testing.T) {
		src := NewHistory()
		src.Add(125, Counts{Good: 7, Total: 8})
		if err := h.LoadBlock(src.Dirty()[0]); err != nil {
			t.Fatal(err)
		}
		if got := h.At(125); got != (Counts{Good: 7, Total: 8}) {
			t.Errorf("got %+v, want the loaded minute", got)
		}
		if got := h.At(130); got != (Counts{}) {
			t.Errorf("got %+v, want the old minute replaced", got)
		}
		if d := h.Dirty(); len(d) != 1 || d[0].Start != 60 {
			t.Errorf("got dirty %v, want only the block at 60", d)
		}
	})
	t.Run("a block not at the start of an hour is rejected", func(t *testing.T) {
		if err := h.LoadBlock(Block{Start: 61, Data: []byte{modeInt}}); err == nil {
			t.Error("got no error")
		}
	})
	t.Run("counts that are not finite are ignored", func(t *testing.T) {
		h.Add(200, Counts{Good: math.NaN(), Total: 1})
		h.Add(200, Counts{Good: 1, Total: math.Inf(1)})
		if got := h.At(200); got != (Counts{}) {
			t.Errorf("got %+v, want nothing", got)
		}
	})
}

func FuzzLoadBlock(f *testing.F) {
	h := NewHistory()
	g := newTraffic(1)
	g.burstChance, g.gapChance = 0.05, 0.05
	for m := range Minute(600) {
		if c, ok := g.next(); ok {
			h.Add(m, c)
		}
	}
	h.Add(601, Counts{Good: 0.5, Total: 1.5})
	for _, b := range h.Dirty() {
		f.Add(b.Data)
	}
	f.Add([]byte{modeInt | flagFull | flagNoBad, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		h := NewHistory()
		h.Add(30, Counts{Good: 1, Total: 1})
		if err := h.LoadBlock(Block{Start: 0, Data: data}); err != nil {
			if h.At(30) != (Counts{Good: 1, Total: 1}) {
				t.Fatal("a rejected block changed the history")
			}
			return
		}
		var want minutes
		if _, err := decodeBlock(data, &want); err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got := h.At(Minute(i)); got != want[i] {
				t.Fatalf("minute %d: got %+v, want %+v", i, got, want[i])
			}
		}
		h.Add(5, Counts{Good: 1, Total: 2})
		for _, b := range h.Dirty() {
			if err := NewHistory().LoadBlock(b); err != nil {
				t.Fatalf("re-encoded block rejected: %v", err)
			}
		}
	})
}

func TestHoursAddedAfterATrimStartEmpty(t *testing.T) {
	h := NewHistory()
	for hour := range Minute(30) {
		for i := range Minute(blockMinutes) {
			h.Add(hour*blockMinutes+i, Counts{Good: 9, Total: 10})
		}
		h.Trim(hour * blockMinutes)
	}
	for m := Minute(29 * blockMinutes); m < 30*blockMinutes; m++ {
		if got, want := h.At(m), (Counts{Good: 9, Total: 10}); got != want {
			t.Fatalf("minute %d: got %+v, want %+v", m, got, want)
		}
	}
}
