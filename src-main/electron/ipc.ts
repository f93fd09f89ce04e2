// Wires the validated handlers to ipcMain and implements the desktop-only operations (dialogs, folders).

import { dialog, ipcMain, shell, type BrowserWindow } from 'electron';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { DesktopOps, ExportKind } from '../api/contract.js';
import { UserError } from '../engine/errors.js';
import { writeFileAtomic } from '../formats/atomic.js';
import type { AppService } from '../service/session.js';
import { buildHandlers } from './ipc-handlers.js';

interface IpcOptions {
  service: AppService;
  origin: string;
  window: () => BrowserWindow | null;
  onOpened: (path: string) => void;
  pickFiles: () => Promise<string[]>;
}

const FILTERS: Record<ExportKind, Electron.FileFilter> = {
  nmfz: { name: 'NMF Studio file', extensions: ['nmfz'] },
  png: { name: 'PNG image', extensions: ['png'] },
  'W.npy': { name: 'NumPy array', extensions: ['npy'] },
  'H.npy': { name: 'NumPy array', extensions: ['npy'] },
  'W.csv': { name: 'CSV', extensions: ['csv'] },
  'H.csv': { name: 'CSV', extensions: ['csv'] },
};

export function registerIpc({ service, origin, window, onOpened, pickFiles }: IpcOptions): void {
  const parent = () => window() ?? undefined;
  const desktop: DesktopOps = {
    async saveResult(documentId, kind) {
      const { name, bytes } = await service.exportResult(documentId, kind);
      const options: Electron.SaveDialogOptions = { defaultPath: name, filters: [FILTERS[kind]] };
      const w = parent();
      const result = w ? await dialog.showSaveDialog(w, options) : await dialog.showSaveDialog(options);
      if (result.canceled || !result.filePath) return null;
      // The dialog already asked about replacing an existing file.
      await writeFileAtomic(result.filePath, bytes, { overwrite: true });
      return result.filePath;
    },
    pickFiles: () => pickFiles(),
    async pickFolders() {
      const w = parent();
      const options: Electron.OpenDialogOptions = { properties: ['openDirectory', 'multiSelections'] };
      const r = w ? await dialog.showOpenDialog(w, options) : await dialog.showOpenDialog(options);
      return r.canceled ? [] : r.filePaths;
    },
    async pickOutputFolder() {
      const w = parent();
      const options: Electron.OpenDialogOptions = { properties: ['openDirectory', 'createDirectory'] };
      const r = w ? await dialog.showOpenDialog(w, options) : await dialog.showOpenDialog(options);
      return r.canceled ? null : (r.filePaths[0] ?? null);
    },
    async showFolder(folder) {
      const s = await stat(folder).catch(() => null);
      if (!s?.isDirectory()) throw new UserError(`${folder}: not a folder`);
      const error = await shell.openPath(path.resolve(folder));
      if (error) throw new UserError(`${folder}: ${error}`);
    },
  };
  const ops = {
    ...bindAll(service),
    openPath: async (p: string) => {
      const info = await service.openPath(p);
      onOpened(p);
      return info;
    },
  };
  for (const [channel, handler] of buildHandlers(ops, desktop, origin)) {
    ipcMain.handle(channel, (event, ...args: unknown[]) => handler(event.senderFrame?.url, args));
  }
}

function bindAll<T extends object>(o: T): T {
  const out = {} as Record<string, unknown>;
  for (const key of Object.getOwnPropertyNames(Object.getPrototypeOf(o)).concat(Object.keys(o))) {
    const v = (o as Record<string, unknown>)[key];
    if (typeof v === 'function' && key !== 'constructor') out[key] = (v as (...a: unknown[]) => unknown).bind(o);
  }
  return out as T;
}
