// The web mode's wire format: JSON for structure plus raw bytes for typed arrays, so that rasters and
// matrices cross HTTP and WebSocket without base64. Used by the server and the renderer alike.
//
// Layout: [u32 little-endian: byte length of the JSON text][JSON text, UTF-8][blob 0][blob 1]…
// In the JSON, a typed array is replaced by {"$bin": i, "type": "Float32Array", "length": n}; blob i
// holds its bytes (little-endian, as every machine the app runs on is). Blobs are 8-byte aligned so
// they can be viewed in place.

type Typed = Uint8Array | Uint16Array | Float32Array | Float64Array | Int32Array | Uint32Array;
const CONSTRUCTORS = { Uint8Array, Uint16Array, Float32Array, Float64Array, Int32Array, Uint32Array } as const;
type TypeName = keyof typeof CONSTRUCTORS;

function typeName(value: unknown): TypeName | null {
  for (const name of Object.keys(CONSTRUCTORS) as TypeName[]) {
    if (value instanceof CONSTRUCTORS[name]) return name;
  }
  return null;
}

const align8 = (n: number): number => (n + 7) & ~7;

export function encodeWire(value: unknown): Uint8Array {
  const blobs: Typed[] = [];
  const json = JSON.stringify(value, function (this: unknown, _key, v: unknown) {
    const name = typeName(v);
    if (name) {
      blobs.push(v as Typed);
      return { $bin: blobs.length - 1, type: name, length: (v as Typed).length };
    }
    return v;
  });
  const text = new TextEncoder().encode(json ?? 'null');
  let size = align8(4 + text.length);
  for (const b of blobs) size = align8(size + b.byteLength);
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, text.length, true);
  out.set(text, 4);
  let at = align8(4 + text.length);
  for (const b of blobs) {
    out.set(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), at);
    at = align8(at + b.byteLength);
  }
  return out;
}

export function decodeWire<T = unknown>(bytes: Uint8Array): T {
  if (bytes.length < 4) throw new Error('wire: message too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const textLength = view.getUint32(0, true);
  if (4 + textLength > bytes.length) throw new Error('wire: truncated message');
  const text = new TextDecoder().decode(bytes.subarray(4, 4 + textLength));
  // First pass: find blob offsets in order of their index.
  const specs: { type: TypeName; length: number }[] = [];
  const parsed = JSON.parse(text, (_key, v: unknown) => {
    if (v && typeof v === 'object' && '$bin' in v) {
      const spec = v as { $bin: number; type: TypeName; length: number };
      if (!(spec.type in CONSTRUCTORS)) throw new Error(`wire: unknown array type ${String(spec.type)}`);
      specs[spec.$bin] = { type: spec.type, length: spec.length };
      return { $pending: spec.$bin };
    }
    return v;
  }) as unknown;
  const arrays: Typed[] = [];
  let at = align8(4 + textLength);
  for (const spec of specs) {
    const C = CONSTRUCTORS[spec.type];
    const byteLength = spec.length * C.BYTES_PER_ELEMENT;
    if (at + byteLength > bytes.length) throw new Error('wire: truncated blob');
    // Copy out so the result does not pin (or alias) the whole message buffer.
    const copy = new Uint8Array(byteLength);
    copy.set(bytes.subarray(at, at + byteLength));
    arrays.push(new C(copy.buffer));
    at = align8(at + byteLength);
  }
  const resolve = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(resolve);
    if (v && typeof v === 'object') {
      if ('$pending' in v) return arrays[(v as { $pending: number }).$pending];
      const o = v as Record<string, unknown>;
      for (const k of Object.keys(o)) o[k] = resolve(o[k]);
    }
    return v;
  };
  return resolve(parsed) as T;
}

/** HTTP paths of the web mode (all under the page's origin; every request carries the token). */
export const WEB_PATHS = {
  /** POST /api/call/<op>: body = wire-encoded array of arguments; answer = wire-encoded {ok, value} | {ok: false, error}. */
  call: '/api/call/',
  /**
   * POST /api/upload?name=<file name>: body = the file's bytes, streamed; answer = wire-encoded {ok, value:
   * DocumentInfo} | {ok: false, error}. The web mode's way to open a file picked or dropped in the page.
   */
  upload: '/api/upload',
  /** WebSocket: wire-encoded ServiceEvent messages, binary frames. */
  events: '/api/events',
} as const;

/** Header that carries the token on fetch requests (the WebSocket and the first page load use ?token=). */
export const TOKEN_HEADER = 'x-nmf-token';

export type WireAnswer<T> = { ok: true; value: T } | { ok: false; error: string };
