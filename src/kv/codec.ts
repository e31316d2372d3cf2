// The binary form of a KvRequest inside a Raft log entry: a format version byte, a request-type byte, then
// the request's fields. Each message starts with a bitmask of the fields present (absent optional fields stay
// absent after a round trip), followed by those fields in schema order. The schemas below are the single
// description of the wire layout: append new fields at the end of a schema to stay compatible.

import { ALARM_ACTIONS, ALARM_TYPES } from './alarms.ts';
import { ByteReader, ByteWriter } from './binary.ts';
import type { KvRequest, KvRequestType } from './types.ts';

const FORMAT_VERSION = 1;

type FieldKind =
  | 'bytes'
  | 'int'
  | 'bool'
  | 'lease'
  | 'uint64'
  | { enum: readonly string[] }
  | { message: () => Schema }
  | { list: FieldKind }
  | 'requestOp';

type Schema = ReadonlyArray<readonly [name: string, kind: FieldKind]>;

const SORT_ORDERS = ['NONE', 'ASCEND', 'DESCEND'] as const;
const SORT_TARGETS = ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'] as const;
const COMPARE_RESULTS = ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'] as const;
const COMPARE_TARGETS = ['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'] as const;

const RANGE: Schema = [
  ['key', 'bytes'],
  ['rangeEnd', 'bytes'],
  ['limit', 'int'],
  ['revision', 'int'],
  ['sortOrder', { enum: SORT_ORDERS }],
  ['sortTarget', { enum: SORT_TARGETS }],
  ['serializable', 'bool'],
  ['keysOnly', 'bool'],
  ['countOnly', 'bool'],
  ['minModRevision', 'int'],
  ['maxModRevision', 'int'],
  ['minCreateRevision', 'int'],
  ['maxCreateRevision', 'int'],
];

const PUT: Schema = [
  ['key', 'bytes'],
  ['value', 'bytes'],
  ['lease', 'lease'],
  ['prevKv', 'bool'],
  ['ignoreValue', 'bool'],
  ['ignoreLease', 'bool'],
];

const DELETE_RANGE: Schema = [
  ['key', 'bytes'],
  ['rangeEnd', 'bytes'],
  ['prevKv', 'bool'],
];

const COMPARE: Schema = [
  ['result', { enum: COMPARE_RESULTS }],
  ['target', { enum: COMPARE_TARGETS }],
  ['key', 'bytes'],
  ['rangeEnd', 'bytes'],
  ['version', 'int'],
  ['createRevision', 'int'],
  ['modRevision', 'int'],
  ['value', 'bytes'],
  ['lease', 'lease'],
];

const TXN: Schema = [
  ['compare', { list: { message: () => COMPARE } }],
  ['success', { list: 'requestOp' }],
  ['failure', { list: 'requestOp' }],
];

const COMPACTION: Schema = [
  ['revision', 'int'],
  ['physical', 'bool'],
];

const LEASE_GRANT: Schema = [
  ['TTL', 'int'],
  ['ID', 'lease'],
  ['memberTag', 'int'],
];

const LEASE_ID: Schema = [['ID', 'lease']];

const ALARM: Schema = [
  ['action', { enum: ALARM_ACTIONS }],
  ['memberID', 'uint64'],
  ['alarm', { enum: ALARM_TYPES }],
];

/** Request types by wire tag; never reorder, only append. */
const REQUEST_TYPES: ReadonlyArray<readonly [KvRequestType, Schema]> = [
  ['range', RANGE],
  ['put', PUT],
  ['deleteRange', DELETE_RANGE],
  ['txn', TXN],
  ['compaction', COMPACTION],
  ['leaseGrant', LEASE_GRANT],
  ['leaseRevoke', LEASE_ID],
  ['leaseExpire', LEASE_ID],
  ['alarm', ALARM],
];

/** RequestOp's oneof members by wire tag. */
const REQUEST_OPS: ReadonlyArray<readonly [string, Schema]> = [
  ['requestRange', RANGE],
  ['requestPut', PUT],
  ['requestDeleteRange', DELETE_RANGE],
  ['requestTxn', TXN],
];

type Fields = Record<string, unknown>;

/**
 * A writer reused by encodeRequest, so that encoding allocates only the result (a fresh writer would allocate
 * a buffer and grow it for every request). Taken while in use; not kept once it has grown past the limit.
 */
let spareWriter: ByteWriter | undefined;
const SPARE_WRITER_LIMIT = 64 * 1024;

export function encodeRequest(request: KvRequest): Uint8Array {
  const tag = REQUEST_TYPES.findIndex(([type]) => type === request.type);
  if (tag < 0) throw new Error(`codec: unknown request type ${String((request as { type: unknown }).type)}`);
  const writer = spareWriter?.reset() ?? new ByteWriter(1024);
  spareWriter = undefined;
  try {
    writer.byte(FORMAT_VERSION).byte(tag);
    writeMessage(writer, REQUEST_TYPES[tag]![1], request as unknown as Fields);
    return writer.finish();
  } finally {
    if (writer.capacity <= SPARE_WRITER_LIMIT) spareWriter = writer;
  }
}

/**
 * Decodes a request. Its byte fields are views into `data`, not copies (most are read once: a key becomes a
 * string, a compare's value is compared); whoever keeps one copies it, as the store does a put's value.
 */
export function decodeRequest(data: Uint8Array): KvRequest {
  const reader = new ByteReader(data, true);
  const version = reader.byte();
  if (version !== FORMAT_VERSION) throw new Error(`codec: unsupported format version ${version}`);
  const entry = REQUEST_TYPES[reader.byte()];
  if (entry === undefined) throw new Error('codec: unknown request type tag');
  const request: Fields = { type: entry[0] };
  readMessage(reader, entry[1], request);
  reader.expectEnd();
  return request as unknown as KvRequest;
}

// Schemas have fewer than 31 fields, so the presence bitmask fits the 32-bit bit operators.

function writeMessage(writer: ByteWriter, schema: Schema, fields: Fields): void {
  let present = 0;
  for (let bit = 0; bit < schema.length; bit++) {
    if (fields[schema[bit]![0]] !== undefined) present |= 1 << bit;
  }
  writer.uvarint(present);
  for (let bit = 0; bit < schema.length; bit++) {
    if ((present & (1 << bit)) === 0) continue;
    const [name, kind] = schema[bit]!;
    writeField(writer, kind, fields[name], name);
  }
}

/** Reads one message's fields into `into` (absent fields stay absent). */
function readMessage(reader: ByteReader, schema: Schema, into: Fields = {}): Fields {
  const present = reader.uvarint();
  if (present >= 2 ** schema.length) throw new Error('codec: unknown fields present');
  for (let bit = 0; bit < schema.length; bit++) {
    if ((present & (1 << bit)) === 0) continue;
    const field = schema[bit]!;
    into[field[0]] = readField(reader, field[1]);
  }
  return into;
}

function wrongType(name: string): never {
  throw new TypeError(`codec: field ${name} has the wrong type`);
}

function writeField(writer: ByteWriter, kind: FieldKind, value: unknown, name: string): void {
  if (kind === 'bytes') {
    if (!(value instanceof Uint8Array)) wrongType(name);
    writer.bytes(value as Uint8Array);
  } else if (kind === 'int') {
    if (typeof value !== 'number') wrongType(name);
    writer.int(value as number);
  } else if (kind === 'bool') {
    if (typeof value !== 'boolean') wrongType(name);
    writer.bool(value as boolean);
  } else if (kind === 'lease') {
    if (typeof value !== 'bigint') wrongType(name);
    writer.int64(value as bigint);
  } else if (kind === 'uint64') {
    if (typeof value !== 'bigint') wrongType(name);
    writer.int64(BigInt.asIntN(64, value as bigint));
  } else if (kind === 'requestOp') {
    const op = value as Fields;
    const tag = REQUEST_OPS.findIndex(([member]) => op[member] !== undefined);
    if (tag < 0) wrongType(name);
    writer.byte(tag);
    writeMessage(writer, REQUEST_OPS[tag]![1], op[REQUEST_OPS[tag]![0]] as Fields);
  } else if ('enum' in kind) {
    const index = kind.enum.indexOf(value as string);
    if (index < 0) wrongType(name);
    writer.byte(index);
  } else if ('message' in kind) {
    writeMessage(writer, kind.message(), value as Fields);
  } else {
    if (!Array.isArray(value)) wrongType(name);
    const items = value as unknown[];
    writer.uvarint(items.length);
    for (const item of items) writeField(writer, kind.list, item, name);
  }
}

function readField(reader: ByteReader, kind: FieldKind): unknown {
  if (kind === 'bytes') return reader.bytes();
  if (kind === 'int') return reader.int();
  if (kind === 'bool') return reader.bool();
  if (kind === 'lease') return reader.int64();
  if (kind === 'uint64') return BigInt.asUintN(64, reader.int64());
  if (kind === 'requestOp') {
    const entry = REQUEST_OPS[reader.byte()];
    if (entry === undefined) throw new Error('codec: unknown request op tag');
    return { [entry[0]]: readMessage(reader, entry[1]) };
  }
  if ('enum' in kind) {
    const value = kind.enum[reader.byte()];
    if (value === undefined) throw new Error('codec: enum value out of range');
    return value;
  }
  if ('message' in kind) return readMessage(reader, kind.message());
  const count = reader.uvarint();
  const items: unknown[] = [];
  for (let i = 0; i < count; i++) items.push(readField(reader, kind.list));
  return items;
}
