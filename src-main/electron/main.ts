// The desktop shell: app lifecycle, the window, menus, file opening and the app:// protocol. Thin on
// purpose — every operation is the service layer's; this file only wires Electron to it.

import { app, BrowserWindow, dialog, Menu, net, protocol, screen, session, shell, type MenuItemConstructorOptions } from 'electron';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DOCUMENT_EXTENSIONS, IMAGE_EXTENSIONS, MATRIX_EXTENSIONS, type ExportKind, type MenuCommand, type ServiceEvent } from '../api/contract.js';
import { createAppService, type AppService } from '../service/session.js';
import { CONTENT_SECURITY_POLICY } from '../web/server.js';
import { registerIpc } from './ipc.js';
import { isOpenable } from './paths.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..', '..');
const rendererDir = path.join(root, 'dist', 'renderer');
const preload = path.join(here, 'preload.cjs');
const sampleImage = path.join(root, 'assets', 'sample.png');
const SCHEME = 'app';
export const APP_ORIGIN = `${SCHEME}://studio`;

let mainWindow: BrowserWindow | null = null;
let service: AppService | null = null;
/** Files asked for before the window could take them (macOS open-file at launch, second instances). */
const pendingOpens: string[] = [];

// A separate profile (tests, several users on one account): also separates the single-instance lock.
if (process.env.NMF_STUDIO_USER_DATA) app.setPath('userData', path.resolve(process.env.NMF_STUDIO_USER_DATA));

// macOS delivers double-clicked documents through open-file, possibly before 'ready': register now.
app.on('open-file', (event, filePath) => {
  event.preventDefault();
  openInWindow(filePath);
});

protocol.registerSchemesAsPrivileged([{ scheme: SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

if (!app.requestSingleInstanceLock()) {
  // Another instance owns the window; it receives our arguments through 'second-instance'.
  app.quit();
} else {
  app.on('second-instance', (_event, argv, workingDirectory) => {
    for (const file of filesFromArgv(argv.slice(1), workingDirectory)) openInWindow(file);
    if (mainWindow) {
      if (mainWindow.isMinimized()) mainWindow.restore();
      mainWindow.focus();
    }
  });
  app.whenReady().then(start, (err: unknown) => {
    console.error('NMF Studio could not start:', err);
    app.exit(1);
  });
}

/** File arguments: anything that is not a switch and names an existing file the app opens. */
function filesFromArgv(argv: string[], cwd: string): string[] {
  const files: string[] = [];
  for (const arg of argv) {
    if (arg.startsWith('-') || arg === '.' || arg.endsWith('.js')) continue;
    const p = path.resolve(cwd, arg);
    if (existsSync(p) && isOpenable(p)) files.push(p);
  }
  return files;
}

function openInWindow(filePath: string): void {
  if (!isOpenable(filePath)) return;
  app.addRecentDocument(filePath);
  rememberRecent(filePath);
  if (mainWindow && !mainWindow.webContents.isLoading()) send({ type: 'open-request', path: filePath });
  else pendingOpens.push(filePath);
}

function send(event: ServiceEvent): void {
  mainWindow?.webContents.send('nmf:event', event);
}

async function start(): Promise<void> {
  // No permission (camera, notifications, …) is ever needed.
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  protocol.handle(SCHEME, serveRenderer);

  const argvFiles = filesFromArgv(process.argv.slice(app.isPackaged ? 1 : 2), process.cwd());
  const firstLaunch = !existsSync(statePath());
  const startupFiles = [...argvFiles, ...pendingOpens.splice(0)];
  if (startupFiles.length === 0 && firstLaunch && existsSync(sampleImage)) startupFiles.push(sampleImage);

  service = createAppService({ shell: 'desktop', startupFiles });
  service.subscribe((event) => {
    send(event);
    mirrorProgress(event);
  });
  registerIpc({
    service,
    origin: APP_ORIGIN,
    window: () => mainWindow,
    pickFiles: pickFilesDialog,
    onOpened: (p) => {
      mainWindow?.setTitle(`${path.basename(p)} — NMF Studio`);
      app.addRecentDocument(p);
      rememberRecent(p);
      buildMenu();
    },
  });
  buildMenu();
  createWindow();
}

function createWindow(): void {
  const state = loadWindowState();
  mainWindow = new BrowserWindow({
    ...state.bounds,
    minWidth: 720,
    minHeight: 480,
    show: false,
    title: 'NMF Studio',
    backgroundColor: '#1e1e1e',
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      // Middle-click would open links in new windows; the app has no links to follow.
      disableBlinkFeatures: 'Auxclick',
    },
  });
  if (state.maximized) mainWindow.maximize();
  // The title names the open document (set when a file opens), not the page.
  mainWindow.on('page-title-updated', (event) => event.preventDefault());
  mainWindow.once('ready-to-show', () => mainWindow?.show());
  mainWindow.webContents.on('did-finish-load', () => {
    for (const p of pendingOpens.splice(0)) send({ type: 'open-request', path: p });
  });
  mainWindow.on('close', () => saveWindowState());
  mainWindow.on('closed', () => {
    mainWindow = null;
  });
  void mainWindow.loadURL(`${APP_ORIGIN}/index.html`);
}

// Navigation, new windows and webviews are refused everywhere: the app shows only its own pages.
app.on('web-contents-created', (_event, contents) => {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-navigate', (event, url) => {
    if (!url.startsWith(`${APP_ORIGIN}/`)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!url.startsWith(`${APP_ORIGIN}/`)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
});

app.on('window-all-closed', () => {
  void service?.close();
  app.quit();
});

/** app://studio/<file> → the built renderer, with the CSP on every response; nothing outside it. */
async function serveRenderer(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const rel = decodeURIComponent(url.pathname).replace(/^\/+/, '') || 'index.html';
  const file = path.resolve(rendererDir, rel);
  if (url.host !== 'studio' || !file.startsWith(rendererDir + path.sep) || !existsSync(file)) {
    return new Response('not found', { status: 404 });
  }
  const response = await net.fetch(pathToFileURL(file).toString());
  const headers = new Headers(response.headers);
  headers.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  headers.set('X-Content-Type-Options', 'nosniff');
  return new Response(response.body, { status: response.status, headers });
}

/** The taskbar/dock progress mirrors long jobs and batches. */
function mirrorProgress(event: ServiceEvent): void {
  if (!mainWindow) return;
  if (event.type === 'progress' && event.progress.maxIter > 0) {
    mainWindow.setProgressBar(Math.min(1, event.progress.iteration / event.progress.maxIter));
  } else if (event.type === 'batch-file' && event.total > 0) {
    mainWindow.setProgressBar(event.done / event.total);
  } else if (event.type === 'job-done' || event.type === 'job-failed' || event.type === 'batch-done') {
    mainWindow.setProgressBar(-1);
  }
}

function menuCommand(command: MenuCommand, kind?: ExportKind): () => void {
  return () => send(kind ? { type: 'menu', command, kind } : { type: 'menu', command });
}

function buildMenu(): void {
  const isMac = process.platform === 'darwin';
  const recent = loadRecent();
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: '&File',
      submenu: [
        { label: 'Open…', accelerator: 'CmdOrCtrl+O', click: () => void openWithDialog() },
        {
          label: 'Open Recent',
          ...(isMac
            ? { role: 'recentDocuments' as const, submenu: [{ role: 'clearRecentDocuments' as const }] }
            : {
                submenu: recent.length
                  ? [
                      ...recent.map((p) => ({ label: p, click: () => openInWindow(p) })),
                      { type: 'separator' as const },
                      { label: 'Clear Recent', click: () => clearRecent() },
                    ]
                  : [{ label: 'No recent files', enabled: false }],
              }),
        },
        { type: 'separator' },
        { label: 'Save .nmfz…', accelerator: 'CmdOrCtrl+S', click: menuCommand('save', 'nmfz') },
        { label: 'Export Reconstruction as PNG…', accelerator: 'CmdOrCtrl+Shift+S', click: menuCommand('save', 'png') },
        { label: 'Export W as .npy…', click: menuCommand('save', 'W.npy') },
        { label: 'Export H as .npy…', click: menuCommand('save', 'H.npy') },
        { label: 'Export W as .csv…', click: menuCommand('save', 'W.csv') },
        { label: 'Export H as .csv…', click: menuCommand('save', 'H.csv') },
        { type: 'separator' },
        { label: 'Batch Compress Folders…', accelerator: 'CmdOrCtrl+B', click: menuCommand('show-batch') },
        { type: 'separator' },
        isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: '&View',
      submenu: [
        { label: 'Side by Side', accelerator: 'CmdOrCtrl+1', click: menuCommand('mode-side-by-side') },
        { label: 'Split', accelerator: 'CmdOrCtrl+2', click: menuCommand('mode-split') },
        { label: 'Difference', accelerator: 'CmdOrCtrl+3', click: menuCommand('mode-diff') },
        { type: 'separator' },
        { label: 'Zoom Image In', accelerator: 'CmdOrCtrl+=', click: menuCommand('zoom-in') },
        { label: 'Zoom Image Out', accelerator: 'CmdOrCtrl+-', click: menuCommand('zoom-out') },
        { label: 'Fit Image', accelerator: 'CmdOrCtrl+0', click: menuCommand('zoom-fit') },
        { type: 'separator' },
        { role: 'zoomIn', accelerator: 'CmdOrCtrl+Shift+=' },
        { role: 'zoomOut', accelerator: 'CmdOrCtrl+Shift+-' },
        { role: 'resetZoom', accelerator: 'CmdOrCtrl+Shift+0' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
        ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' as const }]),
      ],
    },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [{ label: 'NMF Studio on the web', click: () => void shell.openExternal('https://github.com/') }],
    },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

async function openWithDialog(): Promise<void> {
  const files = await pickFilesDialog();
  for (const f of files) openInWindow(f);
}

async function pickFilesDialog(): Promise<string[]> {
  const options: Electron.OpenDialogOptions = {
    properties: ['openFile', 'multiSelections'],
    filters: [
      { name: 'Images and matrices', extensions: [...IMAGE_EXTENSIONS, ...MATRIX_EXTENSIONS, ...DOCUMENT_EXTENSIONS] },
      { name: 'All files', extensions: ['*'] },
    ],
  };
  const result = mainWindow ? await dialog.showOpenDialog(mainWindow, options) : await dialog.showOpenDialog(options);
  return result.canceled ? [] : result.filePaths;
}

// ---- small persistent state: window bounds and recent files (userData/*.json) ----

interface WindowState {
  bounds: { x?: number; y?: number; width: number; height: number };
  maximized: boolean;
}

function statePath(): string {
  return path.join(app.getPath('userData'), 'window-state.json');
}

function loadWindowState(): WindowState {
  const fallback: WindowState = { bounds: { width: 1280, height: 820 }, maximized: false };
  try {
    const s = JSON.parse(readFileSync(statePath(), 'utf8')) as WindowState;
    const b = s.bounds;
    // Only restore a position that is still on a connected display.
    const visible = screen.getAllDisplays().some((d) => {
      const a = d.workArea;
      return b.x !== undefined && b.y !== undefined && b.x < a.x + a.width && b.x + b.width > a.x && b.y < a.y + a.height && b.y + b.height > a.y;
    });
    return { bounds: visible ? b : { width: b.width, height: b.height }, maximized: !!s.maximized };
  } catch {
    return fallback;
  }
}

function saveWindowState(): void {
  if (!mainWindow) return;
  const state: WindowState = { bounds: mainWindow.getNormalBounds(), maximized: mainWindow.isMaximized() };
  try {
    writeFileSync(statePath(), JSON.stringify(state));
  } catch {
    // Losing the window position is not worth an error dialog.
  }
}

const recentPath = (): string => path.join(app.getPath('userData'), 'recent.json');

function loadRecent(): string[] {
  try {
    const list = JSON.parse(readFileSync(recentPath(), 'utf8')) as unknown;
    return Array.isArray(list) ? list.filter((p): p is string => typeof p === 'string' && existsSync(p)).slice(0, 10) : [];
  } catch {
    return [];
  }
}

function rememberRecent(p: string): void {
  const list = [p, ...loadRecent().filter((x) => x !== p)].slice(0, 10);
  try {
    writeFileSync(recentPath(), JSON.stringify(list));
  } catch {
    // As above: a missing recent list is harmless.
  }
}

function clearRecent(): void {
  app.clearRecentDocuments();
  try {
    writeFileSync(recentPath(), '[]');
  } catch {
    // Nothing to clear then.
  }
  buildMenu();
}
