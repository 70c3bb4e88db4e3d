// The bodies of an export's transactions, written once as UTF-8 into buffers the run lends out and takes back: a
// chunk's entries are mapped once (its size and its sending read the same bytes), and its text waits for the server
// outside V8's heap, in memory the next transaction reuses, rather than as strings that young collections would move
// to the old generation while the transaction is in flight. Node-RED-free.

/** What a buffer holds at first; one grows (doubling) to the largest body it is lent for, at most the request limit. */
const INITIAL_BYTES = 256 * 1024;

/** A chunk's text as bytes, in a buffer lent until `release` (after which the bytes may be overwritten). */
export interface LentBody {
  readonly bytes: Buffer;
  release(): void;
}

/** A chunk's text written: lent, or only counted when it is longer than the limit. */
export type WrittenBody = { fits: true; body: LentBody } | { fits: false; length: number };

/** The buffers of one run, as many as its transactions in flight at once. */
export class TransactionBodies {
  private readonly free: Buffer[] = [];

  /** `pieces` written into a free buffer, grown as they need up to `maxBytes`; past it they are only counted. */
  write(pieces: Iterable<string>, maxBytes: number): WrittenBody {
    let buffer = this.free.pop() ?? Buffer.allocUnsafe(Math.min(INITIAL_BYTES, maxBytes));
    let length = 0;
    for (const piece of pieces) {
      const needed = length + Buffer.byteLength(piece);
      if (needed > buffer.length && needed <= maxBytes) {
        const larger = Buffer.allocUnsafe(Math.min(Math.max(2 * buffer.length, needed), maxBytes));
        buffer.copy(larger, 0, 0, length);
        buffer = larger;
      }
      length = needed <= maxBytes ? length + buffer.write(piece, length) : needed;
    }
    if (length > maxBytes) {
      this.free.push(buffer);
      return { fits: false, length };
    }
    let lent = true;
    const body: LentBody = {
      bytes: buffer.subarray(0, length),
      release: () => {
        if (lent) this.free.push(buffer);
        lent = false;
      },
    };
    return { fits: true, body };
  }
}
