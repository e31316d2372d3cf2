// Colours that carry meaning: one hue per term (the log strip, the term chart) and one per message type.
import { cssVar } from './dom.ts';
import type { MessageClass } from './model.ts';

export { MESSAGE_CLASSES, messageClass, type MessageClass } from './model.ts';

/** Terms cycle through well-separated hues; neighbouring terms never look alike. */
export function termColor(term: number, dark: boolean): string {
  const hue = (term * 137.508 + 200) % 360;
  return dark ? `hsl(${hue.toFixed(0)} 55% 52%)` : `hsl(${hue.toFixed(0)} 60% 45%)`;
}

export interface Palette {
  dark: boolean;
  fg: string;
  muted: string;
  border: string;
  bg: string;
  panel: string;
  accent: string;
  /** The fill of the selected item (a list's selection). */
  selection: string;
  ok: string;
  warn: string;
  error: string;
  messages: Record<MessageClass, string>;
}

/** Reads the theme from the page's CSS variables (VS Code's, or the browser fallbacks in dashboard.css). */
export function readPalette(): Palette {
  const body = document.body;
  const dark = body.classList.contains('vscode-dark') || body.classList.contains('vscode-high-contrast')
    ? true
    : body.classList.contains('vscode-light') || body.classList.contains('vscode-high-contrast-light')
      ? false
      : window.matchMedia('(prefers-color-scheme: dark)').matches;
  const theme = {
    fg: cssVar('--vscode-foreground', dark ? '#cccccc' : '#333333'),
    muted: cssVar('--vscode-descriptionForeground', dark ? '#9d9d9d' : '#717171'),
    border: cssVar('--vscode-panel-border', dark ? '#444444' : '#d4d4d4'),
    bg: cssVar('--vscode-editor-background', dark ? '#1e1e1e' : '#ffffff'),
    panel: cssVar('--vscode-sideBar-background', dark ? '#252526' : '#f3f3f3'),
    accent: cssVar('--vscode-focusBorder', '#0078d4'),
    selection: cssVar('--vscode-list-activeSelectionBackground', dark ? '#04395e' : '#cce4fb'),
  };
  return {
    dark,
    ...(forcedColors() ? systemColors() : theme),
    ok: cssVar('--vscode-charts-green', '#388a34'),
    warn: cssVar('--vscode-charts-orange', '#d18616'),
    error: cssVar('--vscode-charts-red', '#e51400'),
    messages: {
      append: cssVar('--vscode-charts-blue', '#1a85ff'),
      heartbeat: cssVar('--vscode-charts-green', '#388a34'),
      vote: cssVar('--vscode-charts-purple', '#652d90'),
      preVote: cssVar('--vscode-charts-yellow', '#cca700'),
      snapshot: cssVar('--vscode-charts-orange', '#d18616'),
      other: cssVar('--vscode-descriptionForeground', '#888888'),
    },
  };
}

export function forcedColors(): boolean {
  return window.matchMedia('(forced-colors: active)').matches;
}

/**
 * In forced colours the page around the canvases is recoloured by the system and the canvases are not: their
 * text, outlines and backgrounds take the system colours (the hues of terms and message types still carry
 * meaning and stay). The selected node shows by its ring, so its fill stays the canvas colour.
 */
function systemColors(): Pick<Palette, 'fg' | 'muted' | 'border' | 'bg' | 'panel' | 'accent' | 'selection'> {
  const probe = document.body.appendChild(document.createElement('span'));
  const resolve = (name: string) => {
    probe.style.color = name;
    return getComputedStyle(probe).color;
  };
  const text = resolve('CanvasText');
  const canvas = resolve('Canvas');
  const highlight = resolve('Highlight');
  probe.remove();
  return { fg: text, muted: text, border: text, bg: canvas, panel: canvas, accent: highlight, selection: canvas };
}
