// The controls: the toolbar (add peer, heal, kill the leader, fill the disk / disarm alarms, put / get a key,
// recent writes) and the
// inspector for what was clicked (a peer: kill, restart, pause, resume, isolate, make leader, remove; a link:
// cut one way or both, drop a share of messages, delay them). Everything goes through the host as an action.
import { h, setText, toggleClass } from '../dom.ts';
import { readWholeNumber } from '../fields.ts';
import { hasNetworkFaults, linkKey, type LinkRate } from '../model.ts';
import type { ClusterStatus, DashboardAction } from '../protocol.ts';
import type { Selection } from '../host-link.ts';
import type { PeerView } from '../../src/cluster/status.ts';

export type Run = (action: DashboardAction) => Promise<unknown>;

function button(label: string, action: string, onClick: () => void, secondary = true): HTMLElement {
  const b = h('vscode-button', { text: label, attrs: { 'data-action': action }, on: { click: () => !b.hasAttribute('disabled') && onClick() } });
  if (secondary) b.setAttribute('secondary', '');
  return b;
}

function setDisabled(el: Element, disabled: boolean): void {
  if (el.hasAttribute('disabled') !== disabled) el.toggleAttribute('disabled', disabled);
}

type Field = HTMLElement & { value: string };

function textfield(placeholder: string, label: string, value = '', type = 'text'): Field {
  return h('vscode-textfield', { attrs: { placeholder, 'aria-label': label, type, value } }) as Field;
}

/** Runs `fn` when Enter is pressed in a field (not while an input method is composing). */
function onEnter(field: HTMLElement, fn: () => void): void {
  field.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.isComposing) fn();
  });
}


interface Write {
  at: number;
  text: string;
  ok: boolean;
}

export class Toolbar {
  readonly el = h('section', { class: 'toolbar', attrs: { 'aria-label': 'Cluster controls' } });
  private readonly key = textfield('key', 'key', 'greeting');
  private readonly value = textfield('value', 'value', 'hello');
  private readonly writes = h('ol', { class: 'writes', attrs: { 'data-testid': 'writes' } });
  private readonly killLeader: HTMLElement;
  private readonly add: HTMLElement;
  private readonly heal: HTMLElement;
  private readonly alarm: HTMLElement;
  private alarmRaised = false;
  /** An add runs for seconds (the new peer catches up, then is promoted): one click adds one peer. */
  private adding = false;
  private addRefused = true;
  private readonly log: Write[] = [];
  private counter = 0;

  constructor(private readonly run: Run) {
    this.killLeader = button('Kill the leader', 'kill-leader', () => void this.run({ kind: 'killLeader' }).catch(() => undefined));
    this.add = button('Add peer', 'add-peer', () => void this.addPeer());
    this.heal = button('Heal network', 'heal', () => void this.run({ kind: 'heal' }).catch(() => undefined));
    // etcd's NOSPACE alarm as a fault: writes that grow the store fail with "database space exceeded" until
    // disarmed, as when a member passes its space quota.
    this.alarm = button('Fill the disk', 'alarm', () => void this.run({ kind: 'alarm', action: this.alarmRaised ? 'disarm' : 'raise' }).catch(() => undefined));

    const put = button('Put', 'put', () => void this.put(), false);
    const get = button('Get', 'get', () => void this.get());
    const test = button('Put a test key', 'put-test', () => {
      this.counter++;
      this.key.value = `test/${Date.now().toString(36)}-${this.counter}`;
      this.value.value = `value ${this.counter}`;
      void this.put();
    });
    onEnter(this.key, () => void this.put());
    onEnter(this.value, () => void this.put());
    this.el.append(
      h('div', { class: 'tool-group' }, this.add, this.heal, this.killLeader, this.alarm),
      h('div', { class: 'tool-group kv' }, this.key, this.value, put, get, test),
      h('div', { class: 'writes-box' }, h('h3', { text: 'Recent writes and reads' }), this.writes),
    );
  }

  update(status: ClusterStatus): void {
    setDisabled(this.killLeader, status.leader === 0);
    this.addRefused = status.peers.length >= 7 || status.leader === 0;
    setDisabled(this.add, this.adding || this.addRefused);
    setDisabled(this.heal, !hasNetworkFaults(status));
    this.alarmRaised = status.peers.some((p) => p.state === 'up' && (p.alarms ?? []).length > 0);
    setText(this.alarm, this.alarmRaised ? 'Disarm alarms' : 'Fill the disk');
    const title = this.alarmRaised ? 'clear every etcd alarm: writes are taken again' : "raise etcd's NOSPACE alarm: writes that grow the store are refused until it is disarmed";
    if (this.alarm.getAttribute('title') !== title) this.alarm.setAttribute('title', title);
    setDisabled(this.alarm, status.leader === 0);
  }

  private async addPeer(): Promise<void> {
    this.adding = true;
    setDisabled(this.add, true);
    try {
      await this.run({ kind: 'add' });
    } catch {
      // the outcome is shown by the run's own notice
    } finally {
      this.adding = false;
      setDisabled(this.add, this.addRefused);
    }
  }

  private async put(): Promise<void> {
    const key = this.key.value;
    const value = this.value.value;
    try {
      const r = (await this.run({ kind: 'put', key, value })) as { revision: number };
      this.record(`put ${key} = ${value} → revision ${r.revision}`, true);
    } catch (err) {
      this.record(`put ${key} failed: ${(err as Error).message}`, false);
    }
  }

  private async get(): Promise<void> {
    const key = this.key.value;
    try {
      const r = (await this.run({ kind: 'get', key })) as { value: string | null; revision: number };
      this.record(r.value === null ? `get ${key}: not found (revision ${r.revision})` : `get ${key} = ${r.value} (revision ${r.revision})`, true);
    } catch (err) {
      this.record(`get ${key} failed: ${(err as Error).message}`, false);
    }
  }

  private record(text: string, ok: boolean): void {
    this.log.unshift({ at: Date.now(), text, ok });
    this.log.length = Math.min(this.log.length, 12);
    this.writes.replaceChildren(...this.log.map((w) => h('li', { class: w.ok ? '' : 'bad', text: w.text })));
  }
}

export class Inspector {
  readonly el = h('section', { class: 'card inspector', attrs: { 'aria-label': 'Selection', 'data-testid': 'inspector' } });
  private readonly title = h('h2', { text: 'Select a peer or a link' });
  private readonly details = h('div', { class: 'inspector-details' });
  private readonly actions = h('div', { class: 'inspector-actions' });
  private shown = '';
  private peerButtons = new Map<string, HTMLElement>();
  private linkInfo = new Map<string, HTMLElement>();
  private healLink: HTMLElement | undefined;
  private readonly dropPercent = textfield('%', 'drop percent', '30', 'number');
  private readonly delayMs = textfield('ms', 'delay in milliseconds', '200', 'number');
  private readonly fieldError = h('p', { class: 'field-error', attrs: { role: 'alert', 'data-testid': 'link-error' } });

  constructor(private readonly run: Run) {
    this.el.append(this.title, this.details, this.actions);
    this.details.append(h('p', { class: 'muted', text: 'Click a peer card or a node to kill, restart, pause, isolate or promote it; click a link between two nodes to cut it, drop or delay its messages.' }));
  }

  update(status: ClusterStatus, selection: Selection | undefined, rates: Map<string, LinkRate>): void {
    const key = selection ? (selection.kind === 'peer' ? `peer:${selection.peer}` : `link:${selection.a}:${selection.b}`) : '';
    if (key !== this.shown) this.build(status, selection);
    this.shown = key;
    if (selection?.kind === 'peer') {
      const p = status.peers.find((x) => x.name === selection.peer);
      if (p) this.refreshPeer(p, status);
    } else if (selection?.kind === 'link') {
      if (this.healLink) setDisabled(this.healLink, !hasNetworkFaults(status));
      for (const [dir, el] of this.linkInfo) {
        const [from, to] = dir.split('>').map((n) => status.peers.find((p) => p.name === n));
        if (!from || !to) continue;
        const r = rates.get(linkKey(from.id, to.id));
        const l = r?.link ?? status.links.find((x) => x.from === from.id && x.to === to.id);
        const rule = l ? [l.cut ? 'cut' : 'open', l.dropPercent ? `drops ${l.dropPercent}%` : '', l.delayMs ? `delay ${l.delayMs} ms` : ''].filter(Boolean).join(', ') : 'open';
        const traffic = r ? Object.entries(r.byClass).map(([c, n]) => `${c} ${Math.round(n!)}/s`).join(', ') : '';
        setText(el, `${from.name} → ${to.name}: ${rule}${traffic ? ` · ${traffic}` : ''}${l ? ` · sent ${l.sent}, dropped ${l.dropped}` : ''}`);
        toggleClass(el, 'bad', !!l?.cut);
      }
    }
  }

  private build(status: ClusterStatus, selection: Selection | undefined): void {
    this.peerButtons.clear();
    this.linkInfo.clear();
    this.healLink = undefined;
    this.details.replaceChildren();
    this.actions.replaceChildren();
    setText(this.fieldError, '');
    if (!selection) {
      setText(this.title, 'Select a peer or a link');
      return;
    }
    const act = (a: DashboardAction) => void this.run(a).catch(() => undefined);
    if (selection.kind === 'peer') {
      const name = selection.peer;
      setText(this.title, `Peer ${name}`);
      this.el.dataset.peer = name;
      const defs: [string, string, DashboardAction][] = [
        ['Kill', 'kill', { kind: 'kill', peer: name }],
        ['Restart', 'restart', { kind: 'restart', peer: name }],
        ['Pause', 'pause', { kind: 'pause', peer: name }],
        ['Resume', 'resume', { kind: 'resume', peer: name }],
        ['Isolate', 'isolate', { kind: 'isolate', peer: name }],
        ['Make leader', 'transfer', { kind: 'transfer', peer: name }],
        ['Promote', 'promote', { kind: 'promote', peer: name }],
        ['Remove', 'remove', { kind: 'remove', peer: name }],
      ];
      for (const [label, id, action] of defs) {
        const b = button(label, id, () => act(action));
        this.peerButtons.set(id, b);
        this.actions.append(b);
      }
      this.details.append(h('p', { class: 'peer-summary' }));
      return;
    }
    delete this.el.dataset.peer;
    const { a, b } = selection;
    setText(this.title, `Link ${a} ↔ ${b}`);
    for (const dir of [`${a}>${b}`, `${b}>${a}`]) {
      const line = h('p', { class: 'link-line', attrs: { 'data-link': dir } });
      this.linkInfo.set(dir, line);
      this.details.append(line);
    }
    const direction = h('vscode-single-select', { attrs: { 'aria-label': 'direction' } }) as HTMLElement & { value: string };
    for (const [value, label] of [
      [`${a}>${b}`, `${a} → ${b}`],
      [`${b}>${a}`, `${b} → ${a}`],
      ['both', 'both ways'],
    ]) direction.append(h('vscode-option', { text: label, attrs: { value: value! } }));
    const dirs = (): [string, string][] => {
      const v = direction.value || `${a}>${b}`;
      return v === 'both' ? [[a, b], [b, a]] : [v.split('>') as [string, string]];
    };
    this.actions.append(
      h('div', { class: 'row' }, button(`Cut ${a} → ${b}`, 'cut-ab', () => act({ kind: 'cut', from: a, to: b, oneWay: true })), button(`Cut ${b} → ${a}`, 'cut-ba', () => act({ kind: 'cut', from: b, to: a, oneWay: true })), button('Cut both ways', 'cut-both', () => act({ kind: 'cut', from: a, to: b, oneWay: false }))),
      h('div', { class: 'row' }, h('span', { class: 'muted', text: 'on' }), direction),
      h(
        'div',
        { class: 'row' },
        this.dropPercent,
        button('Drop %', 'drop', () => {
          const percent = this.checked(this.dropPercent, 'drop', 0, 100);
          if (percent !== undefined) for (const [from, to] of dirs()) act({ kind: 'drop', from, to, percent });
        }),
        this.delayMs,
        button('Delay ms', 'delay', () => {
          const ms = this.checked(this.delayMs, 'delay in ms', 0, 60_000);
          if (ms !== undefined) for (const [from, to] of dirs()) act({ kind: 'delay', from, to, ms });
        }),
      ),
      this.fieldError,
      h('div', { class: 'row' }, (this.healLink = button('Heal network', 'heal-link', () => act({ kind: 'heal' })))),
    );
    void status;
  }

  /** The field's number, or undefined after saying beside the field what is wrong (nothing is sent). */
  private checked(field: Field, what: string, min: number, max: number): number | undefined {
    const n = readWholeNumber(field.value, what, min, max);
    const bad = typeof n === 'string';
    for (const f of [this.dropPercent, this.delayMs]) f.toggleAttribute('invalid', bad && f === field);
    setText(this.fieldError, bad ? n : '');
    return bad ? undefined : n;
  }

  private refreshPeer(p: PeerView, status: ClusterStatus): void {
    const isLeader = p.id === status.leader;
    const state = p.state === 'up' && p.cutOff ? 'up, cut off' : p.state;
    const summary = this.details.querySelector('.peer-summary');
    const running = p.state === 'up' || p.state === 'paused';
    const role = p.role === 'preCandidate' ? 'pre-candidate' : p.role;
    if (summary) setText(summary, `${running ? role : `was ${role}`}, ${state}, term ${p.term}${p.error ? ` — ${p.error}` : ''}`);
    const can: Record<string, boolean> = {
      kill: p.state === 'up' || p.state === 'paused',
      restart: p.state !== 'removed' && p.state !== 'starting',
      pause: p.state === 'up',
      resume: p.state === 'paused',
      isolate: p.state !== 'removed' && !p.cutOff,
      transfer: p.state === 'up' && !isLeader && !p.isLearner && status.leader !== 0,
      promote: p.isLearner && p.state === 'up' && status.leader !== 0,
      remove: p.state !== 'removed' && status.peers.length > 1,
    };
    for (const [id, b] of this.peerButtons) setDisabled(b, !can[id]);
  }
}
