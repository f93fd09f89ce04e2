// The one door to the service: adapts the desktop bridge (window.nmf) and the web transport (HTTP + WebSocket) to one interface.
import type {
  DesktopBridge,
  DesktopOps,
  DocumentInfo,
  ExportKind,
  ServiceEvent,
  ServiceOpName,
  ServiceOps,
} from '../../src-main/api/contract.js';
import { decodeWire, encodeWire, TOKEN_HEADER, WEB_PATHS, type WireAnswer } from '../../src-main/api/wire.js';

export type EventListener = (event: ServiceEvent) => void;

/** What the UI uses; the same in both shells. */
export interface Api {
  readonly shell: 'desktop' | 'web';
  /** The service's operations (openPath and openUpload included; prefer `open` for File objects). */
  readonly ops: ServiceOps;
  /** Native dialogs and the file manager; null in the web mode. */
  readonly desktop: DesktopOps | null;
  /**
   * Opens a File picked or dropped in the page: by path on the desktop, by a streamed upload in the web mode,
   * which reports its bytes sent to `onUpload` as it goes.
   */
  open(file: File, onUpload?: (loaded: number, total: number) => void): Promise<DocumentInfo>;
  /**
   * Opens a matrix with label files chosen or dropped with it: on the desktop the matrix by its path (its 10x
   * label files lie beside it); in the web mode all of them uploaded as one set, the matrix last, with the
   * bytes sent of all of them reported to `onUpload`.
   */
  openSet(primary: File, companions: readonly File[], onUpload?: (loaded: number, total: number) => void): Promise<DocumentInfo>;
  /** Saves a result: the native Save dialog on the desktop, a download in the web mode. The saved path or name, or null if cancelled. */
  save(documentId: string, kind: ExportKind): Promise<string | null>;
  /** The file-system path of a dropped File (desktop only; '' where unknown). */
  pathForFile(file: File): string;
  onEvent(listener: EventListener): () => void;
  /** Whether events can reach the window (the web mode's socket may drop; the desktop's IPC cannot). */
  onConnection(listener: (connected: boolean) => void): () => void;
}

/** Errors from the service arrive as one line meant for people; this strips transport wrapping around it. */
export class ServiceError extends Error {
  override readonly name = 'ServiceError';
}

// Electron wraps errors from ipcMain.handle as "Error invoking remote method 'op': Error: message".
const IPC_PREFIX = /^Error invoking remote method '[^']*': (?:[A-Za-z]*Error: )?/;

export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message.replace(IPC_PREFIX, '');
  return String(error);
}

function desktopApi(bridge: DesktopBridge): Api {
  const wrap =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn(...args);
      } catch (e) {
        throw new ServiceError(messageOf(e));
      }
    };
  const ops: ServiceOps = {
    appInfo: wrap(() => bridge.appInfo()),
    openPath: wrap((p) => bridge.openPath(p)),
    openUpload: wrap((n, b) => bridge.openUpload(n, b)),
    closeDocument: wrap((d) => bridge.closeDocument(d)),
    compressImage: wrap((d, s) => bridge.compressImage(d, s)),
    factorizeMatrix: wrap((d, s) => bridge.factorizeMatrix(d, s)),
    reconstructWith: wrap((d, e) => bridge.reconstructWith(d, e)),
    tileComponents: wrap((d, p, t) => bridge.tileComponents(d, p, t)),
    rankCurve: wrap((d, s, r) => bridge.rankCurve(d, s, r)),
    cancel: wrap((j) => bridge.cancel(j)),
    exportResult: wrap((d, k) => bridge.exportResult(d, k)),
    startBatch: wrap((r) => bridge.startBatch(r)),
  };
  const desktop: DesktopOps = {
    saveResult: wrap((d, k) => bridge.saveResult(d, k)),
    pickFiles: wrap(() => bridge.pickFiles()),
    pickFolders: wrap(() => bridge.pickFolders()),
    pickOutputFolder: wrap(() => bridge.pickOutputFolder()),
    showFolder: wrap((p) => bridge.showFolder(p)),
  };
  const pathForFile = (file: File): string => {
    try {
      return bridge.pathForFile(file);
    } catch {
      return '';
    }
  };
  return {
    shell: 'desktop',
    ops,
    desktop,
    async open(file) {
      const path = pathForFile(file);
      // A File without a path (e.g. pasted) still opens, through its bytes.
      if (path) return ops.openPath(path);
      return ops.openUpload(file.name, new Uint8Array(await file.arrayBuffer()));
    },
    openSet(primary) {
      return this.open(primary);
    },
    save: (documentId, kind) => desktop.saveResult(documentId, kind),
    pathForFile,
    onEvent: (listener) => bridge.onEvent(listener),
    onConnection: () => () => {},
  };
}

function webApi(token: string): Api {
  async function call<K extends ServiceOpName>(op: K, args: Parameters<ServiceOps[K]>): Promise<Awaited<ReturnType<ServiceOps[K]>>> {
    let response: Response;
    try {
      response = await fetch(WEB_PATHS.call + op, {
        method: 'POST',
        headers: { [TOKEN_HEADER]: token, 'content-type': 'application/octet-stream' },
        // A Blob body leaves the copying of large uploads to the network stack, off the page's thread.
        body: new Blob([encodeWire(args) as Uint8Array<ArrayBuffer>]),
      });
    } catch {
      throw new ServiceError('The NMF Studio server is not reachable; is `nmf-studio serve` still running?');
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    let answer: WireAnswer<Awaited<ReturnType<ServiceOps[K]>>>;
    try {
      answer = decodeWire(bytes);
    } catch {
      throw new ServiceError(`The server answered ${op} with HTTP ${response.status} ${response.statusText}`.trim());
    }
    if (!answer.ok) throw new ServiceError(answer.error);
    return answer.value;
  }

  // XMLHttpRequest rather than fetch: it reports upload progress. Given the File itself, the browser streams
  // it from disk on its network thread; the page never holds the file's bytes, so it stays responsive.
  function upload<T>(file: File, query: string, onProgress?: (loaded: number) => void): Promise<T> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', `${WEB_PATHS.upload}?name=${encodeURIComponent(file.name)}${query}`);
      xhr.setRequestHeader(TOKEN_HEADER, token);
      xhr.setRequestHeader('content-type', 'application/octet-stream');
      xhr.responseType = 'arraybuffer';
      if (onProgress) {
        onProgress(0);
        xhr.upload.onprogress = (event) => onProgress(event.loaded);
        xhr.upload.onload = () => onProgress(file.size);
      }
      xhr.onload = () => {
        let answer: WireAnswer<T>;
        try {
          answer = decodeWire(new Uint8Array(xhr.response as ArrayBuffer));
        } catch {
          reject(new ServiceError(`The server answered the upload of ${file.name} with HTTP ${xhr.status} ${xhr.statusText}`.trim()));
          return;
        }
        if (answer.ok) resolve(answer.value);
        else reject(new ServiceError(answer.error));
      };
      xhr.onerror = () => reject(new ServiceError(`${file.name}: the upload failed; is \`nmf-studio serve\` still running?`));
      xhr.send(file);
    });
  }

  /** The label files first, one request each, kept by the server under one set id; then the matrix, which opens. */
  async function uploadSet(primary: File, companions: readonly File[], onUpload?: (loaded: number, total: number) => void): Promise<DocumentInfo> {
    const set = crypto.randomUUID();
    const total = [primary, ...companions].reduce((sum, f) => sum + f.size, 0);
    let sent = 0;
    const progress = onUpload && ((loaded: number) => onUpload(sent + loaded, total));
    for (const file of companions) {
      await upload<null>(file, `&set=${set}&stage=1`, progress);
      sent += file.size;
    }
    return upload<DocumentInfo>(primary, `&set=${set}`, progress);
  }

  const ops: ServiceOps = {
    appInfo: () => call('appInfo', []),
    openPath: (p) => call('openPath', [p]),
    openUpload: (n, b) => call('openUpload', [n, b]),
    closeDocument: (d) => call('closeDocument', [d]),
    compressImage: (d, s) => call('compressImage', [d, s]),
    factorizeMatrix: (d, s) => call('factorizeMatrix', [d, s]),
    reconstructWith: (d, e) => call('reconstructWith', [d, e]),
    tileComponents: (d, p, t) => call('tileComponents', [d, p, t]),
    rankCurve: (d, s, r) => call('rankCurve', [d, s, r]),
    cancel: (j) => call('cancel', [j]),
    exportResult: (d, k) => call('exportResult', [d, k]),
    startBatch: (r) => call('startBatch', [r]),
  };

  const listeners = new Set<EventListener>();
  const connectionListeners = new Set<(connected: boolean) => void>();
  const setConnected = (connected: boolean): void => {
    for (const listener of connectionListeners) listener(connected);
  };
  let socket: WebSocket | null = null;
  let retryMs = 250;
  function connect(): void {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}${WEB_PATHS.events}?token=${encodeURIComponent(token)}`);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      retryMs = 250;
      setConnected(true);
    };
    ws.onmessage = (message: MessageEvent<unknown>) => {
      if (!(message.data instanceof ArrayBuffer)) return;
      let event: ServiceEvent;
      try {
        event = decodeWire<ServiceEvent>(new Uint8Array(message.data));
      } catch {
        return;
      }
      for (const listener of listeners) listener(event);
    };
    ws.onclose = () => {
      socket = null;
      setConnected(false);
      // The server may restart or the laptop sleep; come back quietly while someone listens.
      if (listeners.size > 0) setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    };
    socket = ws;
  }

  return {
    shell: 'web',
    ops,
    desktop: null,
    open: (file, onUpload) => upload<DocumentInfo>(file, '', onUpload && ((loaded) => onUpload(loaded, file.size))),
    openSet: (primary, companions, onUpload) => uploadSet(primary, companions, onUpload),
    async save(documentId, kind) {
      const { name, bytes } = await ops.exportResult(documentId, kind);
      const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
      const link = document.createElement('a');
      link.href = url;
      link.download = name;
      link.hidden = true;
      document.body.append(link);
      link.click();
      link.remove();
      // The download has taken its copy once the click has been handled.
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      return name;
    },
    pathForFile: () => '',
    onEvent(listener) {
      listeners.add(listener);
      if (!socket) connect();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && socket) {
          socket.onclose = null;
          socket.close();
          socket = null;
        }
      };
    },
    onConnection(listener) {
      connectionListeners.add(listener);
      return () => connectionListeners.delete(listener);
    },
  };
}

declare global {
  interface Window {
    nmf?: DesktopBridge;
  }
}

// Read once: the page keeps the token for its whole life, whatever happens to the address later.
const webToken = new URLSearchParams(location.search).get('token') ?? '';

export const api: Api = window.nmf ? desktopApi(window.nmf) : webApi(webToken);
