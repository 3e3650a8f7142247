/**
 * Runs lambdas/edge/retrieve-auth.js — the very file deployed as the CloudFront Function — in a
 * Node `vm` sandbox, for the local runtime and the unit tests. The sandbox offers only what the
 * function needs from the CloudFront Functions runtime 2.0:
 *
 * - `crypto`: `createHmac(md5|sha1|sha256, key).update(data).digest(hex|base64|base64url)`
 *   (no encoding → a Buffer, as in runtime 2.0), backed by node:crypto; nothing else.
 * - `cloudfront`: `kvs(id?)` → `{ get(key, {format}), exists(key) }` over a Map; `get` rejects for
 *   an absent key, as the real KeyValueStore does.
 * - `Buffer.from(text, encoding)`, `console.log` (silent unless a logger is given), and a `Date`
 *   whose `now()` and `new Date()` read the injected clock (the local clock offset applies).
 * - No code generation from strings (`eval`, `new Function`), as in CloudFront.
 *
 * The import transform. The runtime requires ES module syntax for its modules, and a `vm.Script`
 * cannot evaluate `import` without `--experimental-vm-modules`. So each top-of-file line of the
 * exact form
 *     import <name> from '<crypto|cloudfront>';
 * is replaced, in place (line numbers are kept), by
 *     const <name> = __edgeModules['<crypto|cloudfront>'];
 * Anything else that looks like a module statement (`import`, `export`, `require(`) is refused, so
 * the transform cannot silently hide a dependency the real runtime would not have.
 *
 * Free of project imports on purpose: local/runtime.ts wires it to the HTTP gateway.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import vm from 'node:vm';

export const EDGE_FUNCTION_PATH = join(__dirname, '..', 'lambdas', 'edge', 'retrieve-auth.js');

/** The runtime modules the function may import, and nothing else. */
export const ALLOWED_IMPORTS = ['crypto', 'cloudfront'] as const;

const IMPORT_LINE = /^import ([A-Za-z_$][\w$]*) from '([a-z]+)';$/;

export interface EdgeRequest {
  method: string;
  /** Path, optionally with `?query` (split off and merged into `querystring`). */
  uri: string;
  querystring?: Record<string, string | readonly string[]>;
  /** Node-style headers (as `IncomingMessage.headers`); names are lower-cased. */
  headers?: Record<string, string | readonly string[] | undefined>;
}

export type EdgeResult =
  | { kind: 'response'; status: number; headers: Record<string, string>; body: string }
  /** Forward to the origin: `uri` is the object path, `querystring` what CloudFront would forward ('' = none). */
  | { kind: 'rewrite'; uri: string; querystring: string };

export interface EdgeFunction {
  handle(request: EdgeRequest): Promise<EdgeResult>;
}

export interface EdgeFunctionOptions {
  /** KeyValueStore content (`hmacKey`, `regions`). */
  kvs: Record<string, string>;
  /** Epoch milliseconds; read by `Date` inside the sandbox. */
  now: () => number;
  /** Where the function's `console.log` goes; silent by default. */
  log?: (message: string) => void;
  /** Source text to run instead of the file on disk (tests of the transform only). */
  source?: string;
}

/** Thrown when the function cannot be loaded or fails while running (CloudFront would answer 503). */
export class EdgeFunctionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EdgeFunctionError';
  }
}

/** The transform described above; exported so tests can assert exactly what it does. */
export function transformImports(source: string): { code: string; imports: Record<string, string> } {
  const imports: Record<string, string> = {};
  const lines = source.split('\n').map((line, index) => {
    const match = IMPORT_LINE.exec(line);
    if (match === null) {
      if (/^\s*(import|export)\b/.test(line) || /\brequire\s*\(/.test(line) || /\bimport\s*\(/.test(line)) {
        throw new EdgeFunctionError(`line ${index + 1}: unsupported module statement: ${line.trim()}`);
      }
      return line;
    }
    const [, name, module] = match;
    if (!(ALLOWED_IMPORTS as readonly string[]).includes(module)) {
      throw new EdgeFunctionError(`line ${index + 1}: module '${module}' is not offered by the CloudFront runtime`);
    }
    if (Object.values(imports).includes(module)) {
      throw new EdgeFunctionError(`line ${index + 1}: module '${module}' imported twice`);
    }
    imports[name] = module;
    return `const ${name} = __edgeModules['${module}'];`;
  });
  return { code: lines.join('\n'), imports };
}

const HMAC_ALGORITHMS = new Set(['md5', 'sha1', 'sha256']);
const DIGEST_ENCODINGS = new Set(['hex', 'base64', 'base64url']);

function cryptoShim() {
  return Object.freeze({
    createHmac(algorithm: string, key: string | Buffer) {
      if (!HMAC_ALGORITHMS.has(algorithm)) throw new Error(`unsupported HMAC algorithm: ${algorithm}`);
      const hmac = createHmac(algorithm, key);
      const wrapper = {
        update(data: string | Buffer) {
          hmac.update(data);
          return wrapper;
        },
        digest(encoding?: string) {
          if (encoding === undefined) return hmac.digest();
          if (!DIGEST_ENCODINGS.has(encoding)) throw new Error(`unsupported digest encoding: ${encoding}`);
          return hmac.digest(encoding as 'hex' | 'base64' | 'base64url');
        },
      };
      return wrapper;
    },
  });
}

function cloudfrontShim(store: ReadonlyMap<string, string>) {
  const handle = Object.freeze({
    async get(key: string, options?: { format?: 'string' | 'json' | 'bytes' }) {
      const value = store.get(key);
      if (value === undefined) throw new Error(`KVS key not found: ${key}`);
      const format = options?.format ?? 'string';
      if (format === 'json') return JSON.parse(value) as unknown;
      if (format === 'bytes') return Buffer.from(value, 'utf8');
      return value;
    },
    async exists(key: string) {
      return store.has(key);
    },
  });
  return Object.freeze({ kvs: (_id?: string) => handle });
}

// Runs inside the sandbox before the function: a Date whose "now" is the injected clock.
const DATE_PRELUDE = `
(() => {
  const RealDate = Date;
  const now = __edgeNow;
  function EdgeDate(...args) {
    if (!new.target) return new RealDate(now()).toString();
    return args.length === 0 ? new RealDate(now()) : new RealDate(...args);
  }
  EdgeDate.prototype = RealDate.prototype;
  EdgeDate.now = () => now();
  EdgeDate.UTC = RealDate.UTC;
  EdgeDate.parse = RealDate.parse;
  globalThis.Date = EdgeDate;
})();
`;

function toCloudFrontQuerystring(query: Record<string, string | readonly string[]>) {
  const out: Record<string, { value: string; multiValue?: { value: string }[] }> = {};
  for (const [name, raw] of Object.entries(query)) {
    const values = typeof raw === 'string' ? [raw] : [...raw];
    if (values.length === 0) continue;
    out[name] = values.length === 1 ? { value: values[0] } : { value: values[0], multiValue: values.map((value) => ({ value })) };
  }
  return out;
}

function toCloudFrontHeaders(headers: EdgeRequest['headers']) {
  const out: Record<string, { value: string; multiValue?: { value: string }[] }> = {};
  for (const [rawName, raw] of Object.entries(headers ?? {})) {
    const name = rawName.toLowerCase();
    if (raw === undefined || name === 'cookie') continue; // cookies are a separate object in CloudFront
    const values = typeof raw === 'string' ? [raw] : [...raw];
    if (values.length === 0) continue;
    out[name] = values.length === 1 ? { value: values[0] } : { value: values[0], multiValue: values.map((value) => ({ value })) };
  }
  return out;
}

function splitUri(request: EdgeRequest): { path: string; query: Record<string, string | readonly string[]> } {
  const at = request.uri.indexOf('?');
  const query: Record<string, string[]> = {};
  for (const [name, raw] of Object.entries(request.querystring ?? {})) query[name] = typeof raw === 'string' ? [raw] : [...raw];
  if (at < 0) return { path: request.uri, query };
  for (const [name, value] of new URLSearchParams(request.uri.slice(at + 1))) (query[name] ??= []).push(value);
  return { path: request.uri.slice(0, at), query };
}

function serialiseQuerystring(qs: unknown): string {
  if (qs === null || typeof qs !== 'object') return '';
  const params = new URLSearchParams();
  for (const [name, field] of Object.entries(qs as Record<string, { value?: unknown; multiValue?: { value: unknown }[] }>)) {
    const values = Array.isArray(field?.multiValue) ? field.multiValue.map((v) => v.value) : [field?.value];
    for (const value of values) params.append(name, String(value ?? ''));
  }
  return params.toString();
}

interface CloudFrontResponse {
  statusCode: number;
  headers?: Record<string, { value: string }>;
  body?: string | { encoding: 'text' | 'base64'; data: string };
}

function fromCloudFrontResponse(response: CloudFrontResponse): EdgeResult {
  const headers: Record<string, string> = {};
  for (const [name, field] of Object.entries(response.headers ?? {})) headers[name] = String(field.value);
  const raw = response.body;
  let body = '';
  if (typeof raw === 'string') body = raw;
  else if (raw !== undefined) body = raw.encoding === 'base64' ? Buffer.from(raw.data, 'base64').toString('utf8') : raw.data;
  return { kind: 'response', status: response.statusCode, headers, body };
}

/** Loads the edge function once into a fresh sandbox; `handle` then runs it per request. */
export function createEdgeFunction(options: EdgeFunctionOptions): EdgeFunction {
  const source = options.source ?? readFileSync(EDGE_FUNCTION_PATH, 'utf8');
  const { code } = transformImports(source);
  const store = new Map(Object.entries(options.kvs));
  const log = options.log;
  const context = vm.createContext(
    {
      __edgeNow: () => options.now(),
      __edgeModules: Object.freeze({ crypto: cryptoShim(), cloudfront: cloudfrontShim(store) }),
      Buffer: Object.freeze({ from: (value: string, encoding?: BufferEncoding) => Buffer.from(value, encoding) }),
      console: Object.freeze({ log: (...args: unknown[]) => log?.(args.map(String).join(' ')) }),
    },
    { name: 'retrieve-auth', codeGeneration: { strings: false, wasm: false } },
  );
  try {
    vm.runInContext(DATE_PRELUDE, context);
    vm.runInContext(code, context, { filename: EDGE_FUNCTION_PATH });
  } catch (error) {
    throw new EdgeFunctionError('retrieve-auth could not be loaded', { cause: error });
  }
  const handler = (context as { handler?: unknown }).handler;
  if (typeof handler !== 'function') throw new EdgeFunctionError('retrieve-auth defines no top-level handler(event)');

  return {
    async handle(request) {
      const { path, query } = splitUri(request);
      const method = request.method.toUpperCase();
      const event = {
        version: '1.0',
        context: { eventType: 'viewer-request', distributionId: 'LOCAL', requestId: 'local' },
        viewer: { ip: '127.0.0.1' },
        request: { method, uri: path, querystring: toCloudFrontQuerystring(query), headers: toCloudFrontHeaders(request.headers), cookies: {} },
      };
      let result: unknown;
      try {
        result = await (handler as (e: unknown) => unknown)(event);
      } catch (error) {
        throw new EdgeFunctionError('retrieve-auth failed', { cause: error });
      }
      if (result === null || typeof result !== 'object') throw new EdgeFunctionError('retrieve-auth returned neither a request nor a response');
      if ('statusCode' in result) return fromCloudFrontResponse(result as CloudFrontResponse);
      const returned = result as { method?: unknown; uri?: unknown; querystring?: unknown };
      if (returned.method !== method) throw new EdgeFunctionError('retrieve-auth changed the read-only request method');
      if (typeof returned.uri !== 'string' || !returned.uri.startsWith('/')) throw new EdgeFunctionError('retrieve-auth returned an invalid uri');
      return { kind: 'rewrite', uri: returned.uri, querystring: serialiseQuerystring(returned.querystring) };
    },
  };
}
