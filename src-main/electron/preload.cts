// The only bridge between the sandboxed page and the main process: one typed function per operation,
// never ipcRenderer itself. Compiled to CommonJS because sandboxed preloads cannot be ES modules.

import electron = require('electron');
import type { DesktopBridge, ServiceEvent } from '../api/contract.js';

const { contextBridge, ipcRenderer, webUtils } = electron;

type Answer = { ok: true; value: unknown } | { ok: false; error: string };

function call(op: string) {
  return async (...args: unknown[]): Promise<unknown> => {
    const answer = (await ipcRenderer.invoke(`nmf:${op}`, ...args)) as Answer;
    if (!answer.ok) throw new Error(answer.error);
    return answer.value;
  };
}

const bridge: DesktopBridge = {
  appInfo: call('appInfo') as DesktopBridge['appInfo'],
  openPath: call('openPath') as DesktopBridge['openPath'],
  openUpload: call('openUpload') as DesktopBridge['openUpload'],
  closeDocument: call('closeDocument') as DesktopBridge['closeDocument'],
  compressImage: call('compressImage') as DesktopBridge['compressImage'],
  factorizeMatrix: call('factorizeMatrix') as DesktopBridge['factorizeMatrix'],
  reconstructWith: call('reconstructWith') as DesktopBridge['reconstructWith'],
  tileComponents: call('tileComponents') as DesktopBridge['tileComponents'],
  rankCurve: call('rankCurve') as DesktopBridge['rankCurve'],
  cancel: call('cancel') as DesktopBridge['cancel'],
  exportResult: call('exportResult') as DesktopBridge['exportResult'],
  startBatch: call('startBatch') as DesktopBridge['startBatch'],
  saveResult: call('saveResult') as DesktopBridge['saveResult'],
  pickFiles: call('pickFiles') as DesktopBridge['pickFiles'],
  pickFolders: call('pickFolders') as DesktopBridge['pickFolders'],
  pickOutputFolder: call('pickOutputFolder') as DesktopBridge['pickOutputFolder'],
  showFolder: call('showFolder') as DesktopBridge['showFolder'],
  onEvent(listener) {
    const wrapped = (_e: unknown, event: ServiceEvent) => listener(event);
    ipcRenderer.on('nmf:event', wrapped);
    return () => {
      ipcRenderer.removeListener('nmf:event', wrapped);
    };
  },
  pathForFile: (file) => webUtils.getPathForFile(file as Parameters<typeof webUtils.getPathForFile>[0]),
};

contextBridge.exposeInMainWorld('nmf', bridge);
