// A small binary writer and reader for the request codec and snapshots: unsigned LEB128 varints, signed
// numbers as a sign byte plus a varint (exact for every safe integer), length-prefixed bytes, and lease ids
// as fixed 8-byte signed integers. Varints use arithmetic rather than bit operators so values up to 2^53
// survive (bit operators would cut them to 32 bits).

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

export class ByteWriter {
  private buffer: Uint8Array;
  private length = 0;

  constructor(initialCapacity = 256) {
    this.buffer = new Uint8Array(Math.max(16, initialCapacity));
  }

  /** Bytes the writer can hold before it grows. */
  get capacity(): number {
    return this.buffer.length;
  }

  /** Forgets what was written, keeping the buffer, so one writer can encode many messages in turn. */
  reset(): this {
    this.length = 0;
    return this;
  }

  uvarint(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`codec: not a non-negative safe integer: ${value}`);
    this.ensure(8);
    let rest = value;
    while (rest >= 0x80) {
      this.buffer[this.length++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.buffer[this.length++] = rest;
    return this;
  }

  int(value: number): this {
    if (!Number.isSafeInteger(value)) throw new RangeError(`codec: not a safe integer: ${value}`);
    this.byte(value < 0 ? 1 : 0);
    return this.uvarint(Math.abs(value));
  }

  bool(value: boolean): this {
    return this.byte(value ? 1 : 0);
  }

  byte(value: number): this {
    this.ensure(1);
    this.buffer[this.length++] = value & 0xff;
    return this;
  }

  bytes(value: Uint8Array): this {
    this.uvarint(value.length);
    this.ensure(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
    return this;
  }

  string(value: string): this {
    return this.bytes(textEncoder.encode(value));
  }

  int64(value: bigint): this {
    this.ensure(8);
    if (value === 0n) {
      // The common case (no lease): eight zero bytes, without a DataView.
      this.buffer.fill(0, this.length, this.length + 8);
    } else {
      if (BigInt.asIntN(64, value) !== value) throw new RangeError(`codec: not an int64: ${value}`);
      new DataView(this.buffer.buffer, this.buffer.byteOffset + this.length, 8).setBigInt64(0, value);
    }
    this.length += 8;
    return this;
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }
}

export class ByteReader {
  private offset = 0;

  /** `views`: bytes() returns views into `data` instead of copies (for data that nothing mutates). */
  constructor(
    private readonly data: Uint8Array,
    private readonly views = false,
  ) {}

  get done(): boolean {
    return this.offset >= this.data.length;
  }

  uvarint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = this.byte();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) break;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new Error('codec: varint too long');
    }
    if (!Number.isSafeInteger(value)) throw new Error('codec: varint out of range');
    return value;
  }

  int(): number {
    const negative = this.byte();
    if (negative > 1) throw new Error('codec: bad sign byte');
    const magnitude = this.uvarint();
    return negative ? -magnitude : magnitude;
  }

  bool(): boolean {
    const value = this.byte();
    if (value > 1) throw new Error('codec: bad boolean');
    return value === 1;
  }

  byte(): number {
    if (this.offset >= this.data.length) throw new Error('codec: unexpected end of data');
    return this.data[this.offset++]!;
  }

  /** A copy, or a view into the data when the reader was made for views. */
  bytes(): Uint8Array {
    const length = this.uvarint();
    if (this.offset + length > this.data.length) throw new Error('codec: unexpected end of data');
    const out = this.views ? this.data.subarray(this.offset, this.offset + length) : this.data.slice(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  string(): string {
    return textDecoder.decode(this.bytes());
  }

  int64(): bigint {
    const at = this.offset;
    const data = this.data;
    if (at + 8 > data.length) throw new Error('codec: unexpected end of data');
    this.offset += 8;
    // The common case (no lease): eight zero bytes, without a DataView.
    if ((data[at]! | data[at + 1]! | data[at + 2]! | data[at + 3]! | data[at + 4]! | data[at + 5]! | data[at + 6]! | data[at + 7]!) === 0) return 0n;
    return new DataView(data.buffer, data.byteOffset + at, 8).getBigInt64(0);
  }

  expectEnd(): void {
    if (!this.done) throw new Error('codec: trailing bytes');
  }

  /** Like expectEnd, but what is left may be zeros (padding); returns how many bytes were read. */
  expectZerosToEnd(): number {
    for (let i = this.offset; i < this.data.length; i++) if (this.data[i] !== 0) throw new Error('codec: trailing bytes');
    return this.offset;
  }
}
