// The cluster dashboard as a VS Code webview panel: the same bundle as the browser page (dist/dashboard/),
// loaded under a strict Content-Security-Policy with a nonce, talking the protocol in webview/protocol.ts
// through a DashboardBridge. The panel does not retain its context when hidden: when shown again the page
// reloads, says `ready` and gets a fresh snapshot; its own view state (selection, zoom) comes back through
// the webview state that VS Code keeps, also across window reloads (the serializer below).
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { DashboardBridge, type DashboardHost } from './dashboard-host.ts';

export type { DashboardHost };

export const DASHBOARD_VIEW_TYPE = 'raftlab.dashboard';

export class DashboardPanel {
  static current: DashboardPanel | undefined;

  private readonly bridge: DashboardBridge;
  private readonly disposables: vscode.Disposable[] = [];

  /** Shows the dashboard (creating it if needed) for the given cluster. */
  static createOrShow(context: vscode.ExtensionContext, host: DashboardHost | undefined): DashboardPanel {
    if (DashboardPanel.current) {
      DashboardPanel.current.setHost(host);
      DashboardPanel.current.panel.reveal();
      return DashboardPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(DASHBOARD_VIEW_TYPE, 'Raft Lab Dashboard', vscode.ViewColumn.Active, webviewOptions(context));
    return new DashboardPanel(panel, context, host);
  }

  /** Re-attaches a panel that VS Code restored after a reload. */
  static revive(panel: vscode.WebviewPanel, context: vscode.ExtensionContext, host: DashboardHost | undefined): DashboardPanel {
    DashboardPanel.current?.panel.dispose();
    return new DashboardPanel(panel, context, host);
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    context: vscode.ExtensionContext,
    host: DashboardHost | undefined,
  ) {
    DashboardPanel.current = this;
    panel.webview.options = webviewOptions(context);
    panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'dashboard.svg');
    this.bridge = new DashboardBridge(host, (message) => void panel.webview.postMessage(message));
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => this.bridge.receive(m)),
      panel.onDidChangeViewState(() => this.bridge.setVisible(panel.visible)),
      panel.onDidDispose(() => this.dispose()),
    );
    panel.webview.html = dashboardHtml(panel.webview, context.extensionUri);
  }

  /** Points the panel at another cluster (or none, when it stopped). */
  setHost(host: DashboardHost | undefined): void {
    this.bridge.setHost(host);
  }

  dispose(): void {
    if (DashboardPanel.current === this) DashboardPanel.current = undefined;
    this.bridge.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}

/**
 * Restores dashboards across window reloads. Call once in activate(); `getHost` returns the running cluster's
 * host, or undefined (the dashboard then says that no cluster is running until setHost/createOrShow).
 * package.json needs `onWebviewPanel:raftlab.dashboard` among its activation events.
 */
export function registerDashboardSerializer(context: vscode.ExtensionContext, getHost: () => DashboardHost | undefined): vscode.Disposable {
  const registration = vscode.window.registerWebviewPanelSerializer(DASHBOARD_VIEW_TYPE, {
    async deserializeWebviewPanel(panel: vscode.WebviewPanel) {
      DashboardPanel.revive(panel, context, getHost());
    },
  });
  context.subscriptions.push(registration);
  return registration;
}

function webviewOptions(context: vscode.ExtensionContext): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return {
    enableScripts: true,
    retainContextWhenHidden: false,
    localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist', 'dashboard')],
  };
}

/** The page: the bundle's script and stylesheet from dist/dashboard, nothing inline but the nonce'd script tag. */
export function dashboardHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  const nonce = randomBytes(16).toString('base64');
  const asset = (name: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'dashboard', name)).toString();
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${webview.cspSource}`,
    `img-src ${webview.cspSource} data:`,
    `font-src ${webview.cspSource}`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Raft Lab Dashboard</title>
<link rel="stylesheet" href="${asset('dashboard.css')}">
</head>
<body>
<div id="app"></div>
<script nonce="${nonce}" src="${asset('dashboard.js')}"></script>
</body>
</html>`;
}
