// The window's state: which view is shown, messages, the service's events routed to their owners, menu commands.
import type { AppInfo, ExportKind, MenuCommand, ServiceEvent } from '../../../src-main/api/contract.js';
import { api, messageOf } from '../api.js';
import { baseName } from '../format.js';
import { uploadSet } from '../upload-set.js';
import { BatchState } from './batch.svelte.js';
import { DocumentState } from './document.svelte.js';
import { ViewState } from './view.svelte.js';

export type Tab = 'studio' | 'batch';

const NOTICE_MS = 5000;

export class AppState {
  tab = $state<Tab>('studio');
  /** The message of the last thing that went wrong, shown in the window until dismissed or superseded. */
  error = $state<string | null>(null);
  /** A passing confirmation ("Saved …"). */
  notice = $state<string | null>(null);
  info = $state.raw<AppInfo | null>(null);
  /** False while the event stream is down (the web mode's server stopped or restarted). */
  connected = $state(true);
  /** The Export menu (W, H, PNG) is open. */
  exportMenuOpen = $state(false);

  readonly view = new ViewState();
  readonly document: DocumentState;
  readonly batch: BatchState;

  /** Shows the file picker; set by the component that owns the <input type=file>. */
  showOpenDialog: () => void = () => {};

  private noticeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    const report = (message: string): void => this.showError(message);
    this.document = new DocumentState(report);
    this.batch = new BatchState(report);
  }

  /** Subscribes to the service's events and asks what it runs on; returns the unsubscribe. */
  connect(): () => void {
    const offConnection = api.onConnection((connected) => (this.connected = connected));
    const offEvents = api.onEvent((event) => this.route(event));
    const off = (): void => {
      offEvents();
      offConnection();
    };
    api.ops.appInfo().then(
      (info) => {
        this.info = info;
        // Files named on the command line (or the sample image on a first launch) open at once.
        const first = info.startupFiles[0];
        if (first && !this.document.doc && !this.document.opening) void this.openPath(first);
      },
      (error: unknown) => this.showError(messageOf(error)),
    );
    return off;
  }

  private route(event: ServiceEvent): void {
    if (event.type === 'open-request') {
      void this.openPath(event.path);
      return;
    }
    if (event.type === 'menu') {
      this.command(event.command, event.kind);
      return;
    }
    // Each owner takes the events of its own jobs (and holds others while its job id is on the way).
    this.document.offer(event);
    this.batch.offer(event);
  }

  command(command: MenuCommand, kind?: ExportKind): void {
    const view = this.view;
    switch (command) {
      case 'open':
        this.showOpenDialog();
        break;
      case 'save':
        this.saveDefault(kind ?? 'nmfz');
        break;
      case 'show-studio':
        this.tab = 'studio';
        break;
      case 'show-batch':
        this.tab = 'batch';
        break;
      case 'add-folder':
        this.tab = 'batch';
        void this.batch.pickFolders();
        break;
      case 'zoom-in':
        view.zoomIn();
        break;
      case 'zoom-out':
        view.zoomOut();
        break;
      case 'zoom-fit':
        view.fit();
        break;
      case 'mode-side-by-side':
        view.mode = 'side-by-side';
        break;
      case 'mode-split':
        view.mode = 'split';
        break;
      case 'mode-diff':
        view.mode = 'diff';
        break;
      case 'cancel':
        if (this.tab === 'batch') void this.batch.cancel();
        else void this.document.cancel();
        break;
    }
  }

  async openFile(file: File): Promise<void> {
    this.tab = 'studio';
    if (await this.document.open((onUpload) => api.open(file, onUpload))) this.error = null;
  }

  /** Several files at once: a matrix with its label files (see lib/upload-set.ts), opened together. */
  async openFiles(files: readonly File[]): Promise<void> {
    if (files.length === 1) return this.openFile(files[0]!);
    const set = uploadSet(files);
    if ('error' in set) {
      this.showError(set.error);
      return;
    }
    await this.openSet(set.primary, set.companions);
  }

  async openSet(primary: File, companions: readonly File[]): Promise<void> {
    this.tab = 'studio';
    if (await this.document.open((onUpload) => api.openSet(primary, companions, onUpload))) this.error = null;
  }

  async openPath(path: string): Promise<void> {
    this.tab = 'studio';
    if (await this.document.open(() => api.ops.openPath(path))) this.error = null;
  }

  /** Folders dropped on the window go to the Batch view. */
  addFolders(paths: string[]): void {
    this.batch.addInputs(paths);
    this.tab = 'batch';
  }

  /** Save from a shortcut or the menu: a matrix has no .nmfz, so its save shows what it does have. */
  saveDefault(kind: ExportKind): void {
    this.tab = 'studio';
    if (this.document.doc?.kind === 'matrix' && (kind === 'nmfz' || kind === 'png')) this.exportMenuOpen = true;
    else void this.save(kind);
  }

  async save(kind: ExportKind): Promise<void> {
    const d = this.document;
    if (!d.doc) {
      this.showError('Nothing to save yet: open an image or a matrix file first.');
      return;
    }
    if (!d.canSave(kind)) {
      this.showError(d.result ? `A ${d.result.kind} result has no ${kind} to save.` : 'Nothing to save yet: the factorization has not finished.');
      return;
    }
    try {
      const where = await d.save(kind);
      if (where) this.showNotice(api.shell === 'desktop' ? `Saved ${where}` : `Downloaded ${baseName(where)}`);
    } catch (error) {
      this.showError(messageOf(error));
    }
  }

  showError(message: string): void {
    this.error = message;
  }

  dismissError(): void {
    this.error = null;
  }

  showNotice(message: string): void {
    this.notice = message;
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => (this.notice = null), NOTICE_MS);
  }
}
