// The view's side of the link to its host: postMessage in a VS Code webview, or the WebSocket adapter in a
// browser (ws-host.ts). main.ts picks one; the rest of the dashboard only sees this interface.
import type { HostMessage, ViewMessage } from './protocol.ts';

/** What the view keeps across reloads (VS Code's webview state, or sessionStorage in a browser). */
export interface ViewState {
  selection?: Selection;
  /** Log strip: pixels per entry, and whether it follows the newest entries. */
  logScale?: number;
  logFollow?: boolean;
  logStart?: number;
}

export type Selection = { kind: 'peer'; peer: string } | { kind: 'link'; a: string; b: string };

export interface HostLink {
  readonly kind: 'vscode' | 'browser';
  send(message: ViewMessage): void;
  onMessage(listener: (message: HostMessage) => void): void;
  getState(): ViewState;
  setState(state: ViewState): void;
}

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

export function inVsCode(): boolean {
  return typeof acquireVsCodeApi === 'function';
}

export function vscodeLink(): HostLink {
  const api = acquireVsCodeApi();
  return {
    kind: 'vscode',
    send: (m) => api.postMessage(m),
    onMessage: (listener) => window.addEventListener('message', (e: MessageEvent) => listener(e.data as HostMessage)),
    getState: () => (api.getState() as ViewState | undefined) ?? {},
    setState: (s) => api.setState(s),
  };
}
