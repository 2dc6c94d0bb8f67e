/**
 * MLLP framing (HL7 v2 Minimal Lower Layer Protocol, release 2): <VT> message <FS><CR>.
 * The decoder reassembles frames across TCP chunks; bytes between frames are ignored, as the protocol says.
 */
export const START_BLOCK = 0x0b;
export const END_BLOCK = 0x1c;
export const CARRIAGE_RETURN = 0x0d;

/** Frames one message. */
export function frameMllp(message: string, encoding: BufferEncoding = 'utf8'): Buffer {
  const body = Buffer.from(message, encoding);
  const frame = Buffer.allocUnsafe(body.length + 3);
  frame[0] = START_BLOCK;
  body.copy(frame, 1);
  frame[body.length + 1] = END_BLOCK;
  frame[body.length + 2] = CARRIAGE_RETURN;
  return frame;
}

/** How much of an oversized frame is kept, to read its MSH for the reply. */
const HEAD_BYTES = 4096;

export class MllpFrameTooLargeError extends Error {
  override readonly name = 'MllpFrameTooLargeError';
  /** `head`: the frame's first bytes (its MSH), so a receiver can reject the message by its control id. */
  constructor(
    readonly maxBytes: number,
    readonly head: Buffer = Buffer.alloc(0),
  ) {
    super(`MLLP frame exceeds ${maxBytes} bytes`);
  }
}

/**
 * Incremental MLLP decoder. `push` returns the payloads of the frames completed by a chunk. A frame ends at
 * <FS>; the <CR> after it is consumed as inter-frame bytes, so senders that omit it still work. A <VT> inside
 * a frame means the sender abandoned the previous frame: it is discarded and a new one begins.
 */
export class MllpDecoder {
  private parts: Buffer[] = [];
  private size = 0;
  private inFrame = false;

  constructor(private readonly maxMessageBytes: number) {}

  /** Frames completed by this chunk; throws MllpFrameTooLargeError when a frame grows past the limit. */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      if (!this.inFrame) {
        const start = chunk.indexOf(START_BLOCK, offset);
        if (start < 0) break;
        this.begin();
        offset = start + 1;
        continue;
      }
      const end = chunk.indexOf(END_BLOCK, offset);
      const restart = chunk.indexOf(START_BLOCK, offset);
      if (restart >= 0 && (end < 0 || restart < end)) {
        this.begin();
        offset = restart + 1;
        continue;
      }
      const stop = end < 0 ? chunk.length : end;
      this.append(chunk.subarray(offset, stop));
      if (end < 0) break;
      frames.push(this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.size));
      this.reset();
      offset = end + 1;
    }
    return frames;
  }

  /** True while part of a frame is buffered. */
  get pending(): boolean {
    return this.inFrame;
  }

  private begin(): void {
    this.reset();
    this.inFrame = true;
  }

  private append(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.size += bytes.length;
    if (this.size > this.maxMessageBytes) {
      const head = Buffer.concat([...this.parts, bytes]).subarray(0, HEAD_BYTES);
      this.reset();
      throw new MllpFrameTooLargeError(this.maxMessageBytes, Buffer.from(head));
    }
    // Copy: the socket may reuse the chunk's memory after this call returns.
    this.parts.push(Buffer.from(bytes));
  }

  private reset(): void {
    this.parts = [];
    this.size = 0;
    this.inFrame = false;
  }
}
