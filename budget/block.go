package budget

import (
	"bytes"
	"fmt"
	"time"
)

// Block is one UTC hour of a History in its compact encoding, the unit in
// which histories are saved and restored. Start is the hour's first minute;
// Data is the same encoding the History holds in memory, so saving and
// restoring copy bytes without converting them.
type Block struct {
	// Start is the first minute of the hour, a multiple of 60.
	Start Minute
	// Data is the hour's compact encoding, specified in encoding.go.
	Data []byte
}

// Dirty returns copies of the blocks that changed since they were last
// marked clean (or loaded), oldest first.
func (h *History) Dirty() []Block {
	if h.dirty == 0 {
		return nil
	}
	out := make([]Block, 0, h.dirty)
	for i, r := range h.refs {
		if r.flags&refDirty == 0 {
			continue
		}
		out = append(out, Block{
			Start: Minute((h.base + int64(i)) * blockMinutes),
			Data:  h.encoding(i, nil),
		})
	}
	return out
}

// encoding appends the encoding of the block at position i to dst.
func (h *History) encoding(i int, dst []byte) []byte {
	r := h.refs[i]
	switch {
	case r.flags&refOpen != 0:
		return appendBlock(dst, h.raw)
	case r.size == 0:
		return appendBlock(dst, &minutes{})
	}
	return append(dst, h.arena[r.off:r.off+uint32(r.size)]...)
}

// MarkClean marks blocks, typically from Dirty, as saved. A block whose
// content changed since blocks were taken stays dirty.
func (h *History) MarkClean(blocks []Block) {
	var buf [1 + 8 + 16*blockMinutes]byte
	for _, blk := range blocks {
		b, off := blockOf(blk.Start)
		i := h.index(b)
		if off != 0 || i < 0 || h.refs[i].flags&refDirty == 0 {
			continue
		}
		if bytes.Equal(h.encoding(i, buf[:0]), blk.Data) {
			h.refs[i].flags &^= refDirty
			h.dirty--
		}
	}
}

// LoadBlock restores a saved block, replacing what h holds for its hour.
// It validates the encoding and leaves h unchanged when it is invalid. The
// block is clean afterwards: it is what was saved.
func (h *History) LoadBlock(blk Block) error {
	b, off := blockOf(blk.Start)
	if off != 0 {
		return fmt.Errorf("load block at minute %d: not the start of an hour", blk.Start)
	}
	var scratch minutes
	present, err := decodeBlock(blk.Data, &scratch)
	if err != nil {
		return fmt.Errorf("load block %s: %w", blk.Start.Time().Format(time.RFC3339), err)
	}
	i := h.ensure(b)
	if b == h.open {
		h.open = noBlock
		h.refs[i].flags &^= refOpen
		h.lateGen = h.gen
	}
	h.storeEncoded(i, blk.Data, present)
	h.touch(i)
	h.refs[i].flags &^= refDirty
	h.dirty--
	return nil
}
