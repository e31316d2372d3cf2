// Entry point of the dashboard bundle (dist/dashboard/dashboard.js + dashboard.css): the same bundle runs in
// a VS Code webview and in the page that `raftlab up` serves; only the host link differs.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import 'uplot/dist/uPlot.min.css';
import './dashboard.css';
import { App } from './app.ts';
import { inVsCode, vscodeLink } from './host-link.ts';
import { websocketLink } from './ws-host.ts';

const root = document.getElementById('app') ?? document.body.appendChild(document.createElement('div'));
const link = inVsCode() ? vscodeLink() : websocketLink();
if (link.kind === 'browser') document.documentElement.classList.add('browser-host');
const app = new App(link, root);
(globalThis as { raftlabDashboard?: App }).raftlabDashboard = app;
