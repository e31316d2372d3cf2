// etcd's gRPC gateway: the v3 API as JSON over HTTP POST (`/v3/kv/range`, `/v3/watch`, …), which etcd serves on
// its client port for curl and for clients without gRPC. A call runs the same service handler gRPC does: the JSON
// is read with the proto's field names (or their lowerCamel forms), encoded and decoded as the gRPC request would
// be, and the answer is written as etcd's gateway writes it — proto field names, int64 as strings, bytes as base64,
// defaults left out; a stream as one `{"result": …}` object per line. Errors carry etcd's message and gRPC code.
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Metadata, status as Status, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { toServiceError } from './errors.ts';
import { send } from './http-endpoints.ts';
import { etcdProtoNamesRoot } from './proto.ts';

/** The gateway's paths, as etcd's rpc.proto annotates them: [service, method]. */
const ROUTES: Record<string, [string, string]> = {
  '/v3/kv/range': ['KV', 'Range'],
  '/v3/kv/put': ['KV', 'Put'],
  '/v3/kv/deleterange': ['KV', 'DeleteRange'],
  '/v3/kv/txn': ['KV', 'Txn'],
  '/v3/kv/compaction': ['KV', 'Compact'],
  '/v3/watch': ['Watch', 'Watch'],
  '/v3/lease/grant': ['Lease', 'LeaseGrant'],
  '/v3/lease/revoke': ['Lease', 'LeaseRevoke'],
  '/v3/kv/lease/revoke': ['Lease', 'LeaseRevoke'],
  '/v3/lease/keepalive': ['Lease', 'LeaseKeepAlive'],
  '/v3/lease/timetolive': ['Lease', 'LeaseTimeToLive'],
  '/v3/kv/lease/timetolive': ['Lease', 'LeaseTimeToLive'],
  '/v3/lease/leases': ['Lease', 'LeaseLeases'],
  '/v3/kv/lease/leases': ['Lease', 'LeaseLeases'],
  '/v3/cluster/member/add': ['Cluster', 'MemberAdd'],
  '/v3/cluster/member/remove': ['Cluster', 'MemberRemove'],
  '/v3/cluster/member/update': ['Cluster', 'MemberUpdate'],
  '/v3/cluster/member/list': ['Cluster', 'MemberList'],
  '/v3/cluster/member/promote': ['Cluster', 'MemberPromote'],
  '/v3/maintenance/alarm': ['Maintenance', 'Alarm'],
  '/v3/maintenance/status': ['Maintenance', 'Status'],
  '/v3/maintenance/defragment': ['Maintenance', 'Defragment'],
  '/v3/maintenance/hash': ['Maintenance', 'Hash'],
  '/v3/maintenance/hashkv': ['Maintenance', 'HashKV'],
  '/v3/maintenance/snapshot': ['Maintenance', 'Snapshot'],
  '/v3/maintenance/transfer-leadership': ['Maintenance', 'MoveLeader'],
  '/v3/auth/enable': ['Auth', 'AuthEnable'],
  '/v3/auth/disable': ['Auth', 'AuthDisable'],
  '/v3/auth/status': ['Auth', 'AuthStatus'],
  '/v3/auth/authenticate': ['Auth', 'Authenticate'],
  '/v3/auth/user/add': ['Auth', 'UserAdd'],
  '/v3/auth/user/get': ['Auth', 'UserGet'],
  '/v3/auth/user/list': ['Auth', 'UserList'],
  '/v3/auth/user/delete': ['Auth', 'UserDelete'],
  '/v3/auth/user/changepw': ['Auth', 'UserChangePassword'],
  '/v3/auth/user/grant': ['Auth', 'UserGrantRole'],
  '/v3/auth/user/revoke': ['Auth', 'UserRevokeRole'],
  '/v3/auth/role/add': ['Auth', 'RoleAdd'],
  '/v3/auth/role/get': ['Auth', 'RoleGet'],
  '/v3/auth/role/list': ['Auth', 'RoleList'],
  '/v3/auth/role/delete': ['Auth', 'RoleDelete'],
  '/v3/auth/role/grant': ['Auth', 'RoleGrantPermission'],
  '/v3/auth/role/revoke': ['Auth', 'RoleRevokePermission'],
  // v3lock.proto and v3election.proto
  '/v3/lock/lock': ['Lock', 'Lock'],
  '/v3/lock/unlock': ['Lock', 'Unlock'],
  '/v3/election/campaign': ['Election', 'Campaign'],
  '/v3/election/proclaim': ['Election', 'Proclaim'],
  '/v3/election/leader': ['Election', 'Leader'],
  '/v3/election/observe': ['Election', 'Observe'],
  '/v3/election/resign': ['Election', 'Resign'],
};

/** The HTTP status etcd's gateway (grpc-gateway v1) gives each gRPC code. */
const HTTP_STATUS: Record<number, number> = {
  [Status.CANCELLED]: 408,
  [Status.UNKNOWN]: 500,
  [Status.INVALID_ARGUMENT]: 400,
  [Status.DEADLINE_EXCEEDED]: 504,
  [Status.NOT_FOUND]: 404,
  [Status.ALREADY_EXISTS]: 409,
  [Status.PERMISSION_DENIED]: 403,
  [Status.UNAUTHENTICATED]: 401,
  [Status.RESOURCE_EXHAUSTED]: 429,
  [Status.FAILED_PRECONDITION]: 412,
  [Status.ABORTED]: 409,
  [Status.OUT_OF_RANGE]: 400,
  [Status.UNIMPLEMENTED]: 501,
  [Status.INTERNAL]: 500,
  [Status.UNAVAILABLE]: 503,
  [Status.DATA_LOSS]: 500,
};

const TO_JSON: protobuf.IConversionOptions = { longs: String, enums: String, bytes: String, defaults: false };

interface GatewayError {
  code: number;
  message: string;
}

export class Gateway {
  private readonly root = etcdProtoNamesRoot();

  constructor(
    private readonly definitions: Record<string, ServiceDefinition>,
    private readonly implementations: Record<string, UntypedServiceImplementation>,
    /** Bodies above this many bytes are refused, as the gRPC server refuses larger messages. */
    private readonly maxBodyBytes: number,
  ) {}

  /** True when the path is one of the gateway's (the caller answers everything else). */
  handles(path: string): boolean {
    return path.startsWith('/v3/');
  }

  handle(req: IncomingMessage, res: ServerResponse, path: string): void {
    const route = ROUTES[path];
    const method = route && this.definitions[route[0]]?.[route[1]];
    const impl = route && (this.implementations[route[0]]?.[route[1]] as ((...args: unknown[]) => void) | undefined);
    if (!route || !method || !impl) return plain(res, 404, 'Not Found\n');
    if (req.method !== 'POST') return plain(res, 405, 'Method Not Allowed\n');
    readBody(req, this.maxBodyBytes).then(
      (body) => {
        let requests: unknown[];
        try {
          // A client stream (Watch, LeaseKeepAlive) takes every JSON object of the body in turn, as etcd's does.
          const texts = method.requestStream ? jsonTexts(body) : [body];
          requests = (texts.length > 0 ? texts : ['']).map((text) => this.toRequest(route, text));
        } catch (err) {
          return this.fail(res, { code: Status.INVALID_ARGUMENT, message: (err as Error).message });
        }
        try {
          const metadata = metadataOf(req);
          if (method.responseStream) this.stream(res, route, method.requestStream, impl, requests, metadata);
          else this.unary(res, route, impl, requests[0], metadata);
        } catch (err) {
          // A handler that throws instead of answering must not become an unhandled rejection in the peer.
          this.fail(res, toGatewayError(err));
        }
      },
      (err: GatewayError) => this.fail(res, err),
    );
  }

  /** JSON text -> the gRPC handler's request object, through the same bytes gRPC would carry. */
  private toRequest([service, name]: [string, string], body: string): unknown {
    const json: unknown = body.trim() === '' ? {} : JSON.parse(body);
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error('the request body must be a JSON object');
    const type = this.type(service, name, 'request');
    const message = type.fromObject(withProtoNames(type, json as Record<string, unknown>));
    return this.definitions[service]![name]!.requestDeserialize(Buffer.from(type.encode(message).finish()));
  }

  /** The handler's response object -> etcd's JSON, through the bytes gRPC would send. */
  private toJson([service, name]: [string, string], response: unknown): unknown {
    const type = this.type(service, name, 'response');
    const bytes = this.definitions[service]![name]!.responseSerialize(response);
    return type.toObject(withoutDefaults(type, type.decode(bytes)), TO_JSON);
  }

  private type(service: string, name: string, which: 'request' | 'response'): protobuf.Type {
    // The definition's path is `/<package>.<Service>/<Method>` (etcdserverpb, v3lockpb, v3electionpb).
    const path = this.definitions[service]![name]!.path;
    const method = (this.root.lookup(path.slice(1, path.lastIndexOf('/'))) as protobuf.Service).methods[name]!;
    return which === 'request' ? method.resolvedRequestType! : method.resolvedResponseType!;
  }

  private unary(res: ServerResponse, route: [string, string], impl: (...args: unknown[]) => void, request: unknown, metadata: Metadata): void {
    const call = gatewayCall(request, metadata);
    let answered = false;
    // A client that hangs up cancels its call, as on gRPC: a Lock or Campaign still waiting then gives up its place.
    res.on('close', () => {
      if (answered) return;
      call.cancelled = true;
      call.emit('cancelled');
    });
    impl(call, (err: Partial<GatewayError> | null, response: unknown) => {
      answered = true;
      if (err) return this.fail(res, { code: err.code ?? Status.UNKNOWN, message: err.message ?? 'unknown error' });
      try {
        json(res, 200, this.toJson(route, response));
      } catch (e) {
        this.fail(res, toGatewayError(e));
      }
    });
  }

  /**
   * A streaming method (Watch, LeaseKeepAlive, Snapshot): the body is its one request; what the handler writes
   * goes out as it comes, one JSON object per line, until the handler ends the stream or the client goes away.
   */
  private stream(res: ServerResponse, route: [string, string], clientStream: boolean, impl: (...args: unknown[]) => void, requests: unknown[], metadata: Metadata): void {
    let open = true;
    const call = Object.assign(gatewayCall(requests[0], metadata), {
      write: (response: unknown) => {
        if (!open) return false;
        let line: string;
        try {
          line = `${JSON.stringify({ result: this.toJson(route, response) })}\n`;
        } catch (err) {
          // Called from the peer's apply path (a watch event): a failure ends this stream, nothing else.
          call.emit('error', err);
          return false;
        }
        if (!res.headersSent) res.writeHead(200, { 'content-type': 'application/json' });
        res.write(line);
        return true;
      },
      end: () => {
        if (!open) return;
        open = false;
        if (!res.headersSent) res.writeHead(200, { 'content-type': 'application/json' });
        res.end();
      },
    });
    // A handler reports a failure by emitting 'error' on its call: as etcd's gateway, an error object ends it.
    call.on('error', (err: unknown) => {
      if (!open) return;
      const e = toGatewayError(err);
      if (!res.headersSent) return (open = false), this.fail(res, e);
      res.end(`${JSON.stringify({ error: { grpc_code: e.code, http_code: httpStatus(e.code), message: e.message } })}\n`);
      open = false;
    });
    res.on('close', () => {
      if (!open) return;
      open = false;
      call.cancelled = true;
      call.emit('cancelled');
    });
    impl(call);
    // A client stream gets the body's messages, then the end of its input, as etcd's gateway sends them: a
    // keep-alive answers and ends; a watch goes on until the client leaves.
    if (clientStream) {
      setImmediate(() => {
        for (const request of requests) if (open) call.emit('data', request);
        if (open) call.emit('end');
      });
    }
  }

  private fail(res: ServerResponse, err: GatewayError): void {
    if (res.headersSent) return void res.end();
    json(res, httpStatus(err.code), { error: err.message, message: err.message, code: err.code });
  }
}

/** What a grpc-js handler reads from its call: the request, metadata, events. */
function gatewayCall(request: unknown, metadata: Metadata) {
  return Object.assign(new EventEmitter(), { request, metadata, cancelled: false, getPeer: () => 'gateway' });
}

/**
 * The call's metadata from HTTP headers as etcd's gateway (grpc-gateway) passes them on: `Grpc-Metadata-<key>`
 * becomes `<key>` (e.g. `Grpc-Metadata-Hasleader: true`, which leader-guard.ts reads).
 */
function metadataOf(req: IncomingMessage): Metadata {
  const metadata = new Metadata();
  for (const [name, value] of Object.entries(req.headers)) {
    if (!name.startsWith('grpc-metadata-') || value === undefined || name.endsWith('-bin')) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      try {
        metadata.add(name.slice('grpc-metadata-'.length), v);
      } catch {
        // a name or value gRPC metadata cannot carry is left out, as nothing here reads it
      }
    }
  }
  return metadata;
}

function httpStatus(code: number): number {
  return HTTP_STATUS[code] ?? 500;
}

function toGatewayError(err: unknown): GatewayError {
  const e = toServiceError(err);
  return { code: e.code ?? Status.UNKNOWN, message: e.details ?? e.message ?? String(err) };
}

/**
 * Drops scalar fields that hold their proto3 default (0, "", false, empty bytes, an enum's first value), as Go's
 * encoder never sends them and etcd's JSON never shows them; protobufjs encodes whatever is set.
 */
function withoutDefaults(type: protobuf.Type, message: protobuf.Message): protobuf.Message {
  const fields = message as unknown as Record<string, unknown>;
  for (const field of type.fieldsArray) {
    const value = fields[field.name];
    if (value === undefined || value === null) continue;
    const nested = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    if (nested) {
      if (Array.isArray(value)) for (const item of value) withoutDefaults(nested, item as protobuf.Message);
      else withoutDefaults(nested, value as protobuf.Message);
    } else if (!field.repeated && !field.map && isDefault(value)) {
      delete fields[field.name];
    }
  }
  return message;
}

function isDefault(value: unknown): boolean {
  if (value === 0 || value === '' || value === false) return true;
  if (value instanceof Uint8Array) return value.length === 0;
  const long = value as { low?: unknown; high?: unknown };
  return typeof value === 'object' && long.low === 0 && long.high === 0;
}

/**
 * Keys as the proto spells them (lowerCamel forms such as `createRevision` are accepted too, as etcd's gateway
 * does), with every value checked against its field's type: protobufjs would quietly turn a wrong one into 0.
 */
function withProtoNames(type: protobuf.Type, object: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    const field = type.fields[key] ?? type.fields[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
    if (!field || value === null) continue; // unknown fields are ignored, as protobuf's JSON reader does
    if (field.repeated && !Array.isArray(value)) throw new Error(`${type.name}.${field.name}: expected a list`);
    const one = (v: unknown): unknown => {
      const nested = field.resolvedType;
      if (nested instanceof protobuf.Type) {
        if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${type.name}.${field.name}: expected an object`);
        return withProtoNames(nested, v as Record<string, unknown>);
      }
      if (!scalarFits(field.type, nested instanceof protobuf.Enum ? nested : undefined, v)) throw new Error(`${type.name}.${field.name}: ${JSON.stringify(v)} is not a valid ${nested ? 'enum value' : field.type}`);
      return v;
    };
    out[field.name] = Array.isArray(value) ? value.map(one) : one(value);
  }
  return out;
}

/** Whether a JSON value can stand for a proto scalar in protobuf's JSON form (64-bit integers may be strings). */
function scalarFits(protoType: string, enumType: protobuf.Enum | undefined, value: unknown): boolean {
  // An enum by one of its names (etcd's gateway answers 400 `unknown value "X" for enum …` to any other), or by number.
  if (enumType) return typeof value === 'string' ? Object.hasOwn(enumType.values, value) : Number.isInteger(value);
  switch (protoType) {
    case 'bool':
      return typeof value === 'boolean';
    case 'string':
    case 'bytes':
      return typeof value === 'string';
    case 'double':
    case 'float':
      return typeof value === 'number' || (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value)));
    default: {
      // The integer types, in their range (protobuf's JSON reader would wrap a 64-bit value that is not).
      const range = INTEGER_RANGES[protoType];
      if (!(Number.isInteger(value) || (typeof value === 'string' && /^-?\d+$/.test(value)))) return false;
      if (!range) return true;
      const n = BigInt(value as number | string);
      return n >= range[0] && n <= range[1];
    }
  }
}

const INTEGER_RANGES: Record<string, readonly [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};

/**
 * The texts of the JSON values one after another in a body (`{…}\n{…}`), as Go's json.Decoder reads them. A
 * value is cut where its outermost bracket closes (outside strings), a string where it closes, any other scalar
 * at whitespace; JSON.parse then judges each text.
 */
export function jsonTexts(body: string): string[] {
  const texts: string[] = [];
  let at = 0;
  while (at < body.length) {
    while (at < body.length && /\s/.test(body[at]!)) at++;
    if (at >= body.length) break;
    const start = at;
    let depth = 0;
    let inString = false;
    for (; at < body.length; at++) {
      const c = body[at]!;
      if (inString) {
        if (c === '\\') at++;
        else if (c === '"') inString = false;
        if (depth === 0 && !inString) {
          at++;
          break;
        }
        continue;
      }
      if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth <= 0) {
          at++;
          break;
        }
      } else if (depth === 0 && /\s/.test(c)) break;
    }
    texts.push(body.slice(start, at));
  }
  return texts;
}

function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
      else chunks.length = 0; // the rest is read and dropped; the answer goes out once the body has been read
    });
    req.on('end', () => {
      if (size > maxBytes) reject({ code: Status.RESOURCE_EXHAUSTED, message: `grpc: received message larger than max (${size} vs. ${maxBytes})` });
      else resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', (err) => reject({ code: Status.CANCELLED, message: err.message }));
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json', JSON.stringify(body));
}

function plain(res: ServerResponse, status: number, text: string): void {
  send(res, status, 'text/plain; charset=utf-8', text);
}
